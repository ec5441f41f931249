/**
 * What building will cost, asked before the build: a real signed `file://` binary cache (the only
 * substituter) holding some of a host's paths, a chroot store (`local?root=`) that has none of them.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evalToplevels } from "../../src/app/fleet/hosts.js";
import { estimateBuildCosts } from "../../src/app/fleet/plan-cost.js";
import { diffClosures } from "../../src/closure/diff.js";
import { assessRisks } from "../../src/closure/risk.js";
import { createNix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import {
  advanceNixpkgs,
  createWorld,
  currentSystem,
  nixOrThrow,
  updateFleetLock,
  type World,
} from "../helpers/world.js";

let w: World;
let tmp: string;
beforeAll(async () => {
  w = await createWorld({ hosts: [{ name: "web", openssh: true, packages: ["curl"] }] });
  await advanceNixpkgs(w, "24.11-b");
  await updateFleetLock(w);
  tmp = await mkdtemp(join(tmpdir(), "ternix-cost-"));
}, 120_000);
afterAll(async () => {
  await w.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

describe("estimateBuildCosts", () => {
  it("counts local builds and downloads, and names the kernel as a heavy local build", async () => {
    const key = join(tmp, "key.sec");
    const pub = join(tmp, "key.pub");
    const keygen = await run("nix-store", ["--generate-binary-cache-key", "ternix-test-1", key, pub], {
      env: w.env,
    });
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    const cache = join(tmp, "cache");
    // curl and its closure (glibc, openssl, …) go into the cache; the kernel and the system do not.
    const built = await nixOrThrow(w, [
      "build",
      "--no-link",
      "--json",
      `git+file://${w.nixpkgsRepo}#legacyPackages.${currentSystem()}.curl`,
    ]);
    const curl = (JSON.parse(built.stdout) as { outputs: { out: string } }[])[0]?.outputs.out ?? "";
    await nixOrThrow(w, ["copy", "--to", `file://${cache}?secret-key=${key}`, curl]);

    const nix = await createNix({
      run,
      env: w.env,
      global: {
        options: [
          ["store", `local?root=${join(tmp, "chroot")}`],
          ["substituters", `file://${cache}`],
          ["trusted-public-keys", (await readFile(pub, "utf8")).trim()],
        ],
      },
    });
    const evals = await evalToplevels(nix, w.fleetDir, ["web"]);
    const cost = (await estimateBuildCosts(nix, evals, 50)).get("web");
    const names = (cost?.toBuild ?? []).map((b) => b.drvPath.replace(/^.*?-/, ""));
    expect(names).toContain("linux-6.6.64.drv");
    expect(names.some((n) => n.startsWith("curl-"))).toBe(false);
    expect(cost?.fetchPaths).toBeGreaterThan(1);
    // Fixture paths are a few bytes: Nix prints "0.00 MiB download".
    expect(cost?.downloadBytes).toBe(0);

    const none = diffClosures(
      { root: "/nix/store/00000000000000000000000000000000-a", paths: [] },
      { root: "/nix/store/00000000000000000000000000000001-b", paths: [] },
    );
    const titles = assessRisks({ ...none, cost: cost ?? undefined }).risks.map((r) => r.title);
    expect(titles.join("\n"), titles.join("\n")).toContain(
      "linux-6.6.64 is not in any binary cache: it will be compiled on this machine",
    );
  }, 300_000);
});
