/**
 * End-to-end: the built `ternix diff BEFORE AFTER` on real fixture closures (the `gpu-ws` host
 * before and after a nixpkgs and home update), named every way users name them: `result` links,
 * store paths, profile generation links. Its package list is checked against
 * `nix store diff-closures` on the same pair.
 */
import { mkdtemp, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OUTPUT_SUFFIXES } from "../../src/closure/store-name.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, lines, normaliseStoreHashes, runCli, type CliResult } from "../helpers/cli.js";
import { expectGolden } from "../helpers/golden.js";
import {
  advanceHome,
  advanceNixpkgs,
  createWorld,
  nixOrThrow,
  toplevelInstallable,
  updateFleetLock,
  type World,
} from "../helpers/world.js";

const HOST = "gpu-ws";

interface ClosureDiffJson {
  schemaVersion: number;
  kind: string;
  before: { path: string; name: string; swPath: string | null };
  after: { path: string; name: string; swPath: string | null };
  packages: {
    name: string;
    kind: string;
    versionsBefore: string[];
    versionsAfter: string[];
    pathsBefore: string[];
    pathsAfter: string[];
  }[];
  rebuilt: { name: string }[];
  risks: { id: string }[];
  summary: Record<string, number | boolean>;
}

/**
 * `nix store diff-closures` output → package name → version sets, for lines whose versions changed
 * (`name: 1.0, 1.1 → 1.2[, +12.3 KiB]`; `∅` = absent, `ε` = no version). Lines with only a size
 * change (`name: +12.3 KiB`) are rebuilds and are left out.
 */
function parseDiffClosures(text: string): Map<string, { before: string[]; after: string[] }> {
  const versions = (part: string) =>
    part
      .split(", ")
      .filter((v) => v !== "∅" && !/^[+-]\d/.test(v))
      .map((v) => (v === "ε" ? "" : v));
  const out = new Map<string, { before: string[]; after: string[] }>();
  // eslint-disable-next-line no-control-regex
  for (const line of text.replace(/\u001b\[[0-9;]*m/g, "").split("\n")) {
    const match = /^(.+?): (.*) → (.*)$/.exec(line);
    if (!match) continue;
    out.set(match[1] ?? "", { before: versions(match[2] ?? ""), after: versions(match[3] ?? "") });
  }
  return out;
}

/**
 * diff-closures keeps an output or variant suffix in the version when it cannot strip it as an output
 * name (`linux-6.6.63-modules-shrunk` → `6.6.63-modules`); Ternix always splits known suffixes off.
 */
function withoutOutputSuffix(version: string): string {
  for (const suffix of OUTPUT_SUFFIXES) {
    if (version.endsWith(`-${suffix}`)) return version.slice(0, -suffix.length - 1);
  }
  return version;
}

const sortedSet = (values: readonly string[]) => [...new Set(values)].sort();

describe("ternix diff on fixture closures", () => {
  let world: World;
  let dir: string;
  let before: string;
  let after: string;
  const ternix = (args: readonly string[]) => runCli(["diff", ...args], { cwd: dir, env: world.env });
  const build = async (outLink: string) => {
    await nixOrThrow(world, ["build", "--out-link", join(dir, outLink), toplevelInstallable(world, HOST)]);
    return readlink(join(dir, outLink));
  };
  const nixEnvSet = async (profile: string, path: string) => {
    const result = await run("nix-env", ["--profile", profile, "--set", path], { env: world.env });
    expect(result.exitCode, result.stderr).toBe(0);
  };

  beforeAll(async () => {
    await ensureBuiltCli();
    world = await createWorld();
    dir = await mkdtemp(join(tmpdir(), "ternix-diff-e2e-"));
    before = await build("result-before");
    await advanceNixpkgs(world, "24.11-b");
    await advanceHome(world);
    await updateFleetLock(world);
    after = await build("result-after");
    // Two generations of a profile, as nixos-rebuild makes them: profile-1-link, profile-2-link.
    await nixEnvSet(join(dir, "profile"), before);
    await nixEnvSet(join(dir, "profile"), after);
  });

  afterAll(async () => {
    await world?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let text: CliResult;

  test("result links: nvd-style text with risk flags (golden)", async () => {
    text = await ternix(["result-before", "result-after"]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stderr).toBe("");
    expect(text.stdout).toMatch(/^Risks \(reboot needed\):\n {2}\[reboot\] +Kernel 6\.6\.63 -> 6\.6\.64\n/);
    expect(text.stdout).toContain(`<<< ${before}\n>>> ${after}\n`);
    expect(lines(text.stdout).at(-1)).toMatch(
      /^Closure size: \d+ -> \d+ \(\d+ paths added, \d+ paths removed, delta [+-]?\d+, disk usage [+-][\d,.]+[KMG]?i?B\)\.$/,
    );
    await expectGolden("diff/gpu-ws.txt", normaliseStoreHashes(text.stdout));
  });

  test("store paths and profile generation links name the same closures", async () => {
    for (const args of [
      [before, after],
      ["profile-1-link", "profile-2-link"],
      [join(dir, "profile-1-link"), join(dir, "profile")],
    ]) {
      const result = await ternix(args);
      expect(result.exitCode, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      expect(result.stdout, args.join(" ")).toBe(text.stdout);
    }
  });

  test("--format markdown (golden)", async () => {
    const result = await ternix(["result-before", "result-after", "--format", "markdown"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("**Risks — reboot needed**");
    await expectGolden("diff/gpu-ws.md", normaliseStoreHashes(result.stdout));
  });

  test("--json agrees with `nix store diff-closures` on which packages changed version", async () => {
    const result = await ternix(["result-before", "result-after", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await ternix(["result-before", "result-after", "--format", "json"])).stdout).toBe(result.stdout);
    const json = JSON.parse(result.stdout) as ClosureDiffJson;
    expect(json).toMatchObject({
      schemaVersion: 1,
      kind: "closure-diff",
      before: { path: before, name: `nixos-system-${HOST}` },
      after: { path: after, name: `nixos-system-${HOST}` },
    });
    expect(json.risks.map((r) => r.id)).toContain("kernel");
    expect(json.summary.needsReboot).toBe(true);

    const nixDiff = parseDiffClosures(
      (await nixOrThrow(world, ["store", "diff-closures", before, after])).stdout,
    );
    // Intentional differences from diff-closures:
    // - the roots (`nixos-system-gpu-ws-<version>`) change on every update and say nothing about what
    //   runs: Ternix shows them in the header, not as a package;
    // - output and variant suffixes are not versions: Ternix groups `linux-6.6.63-modules-shrunk`
    //   under `linux 6.6.63`, diff-closures shows it as version `6.6.63-modules`;
    // - rebuilt packages (same versions, new paths) are Ternix's `rebuilt` list; diff-closures shows
    //   them only as size changes, without `→`;
    // - selection-only changes (kind `unchanged`) are nvd's idea; diff-closures has none.
    nixDiff.delete(`nixos-system-${HOST}`);
    const versionChanges = json.packages.filter((p) => p.kind !== "unchanged");
    expect(versionChanges.length).toBeGreaterThan(3);
    expect(versionChanges.map((p) => p.name).sort()).toEqual([...nixDiff.keys()].sort());
    for (const p of versionChanges) {
      const theirs = nixDiff.get(p.name);
      expect(
        { before: sortedSet(p.versionsBefore), after: sortedSet(p.versionsAfter) },
        `versions of ${p.name}`,
      ).toEqual({
        before: sortedSet((theirs?.before ?? []).map(withoutOutputSuffix)),
        after: sortedSet((theirs?.after ?? []).map(withoutOutputSuffix)),
      });
    }
    for (const r of json.rebuilt) expect(nixDiff.has(r.name), `rebuilt ${r.name}`).toBe(false);
  });

  test("a store path that is not a system still diffs, and says so", async () => {
    const json = JSON.parse(
      (await ternix(["result-before", "result-after", "--json"])).stdout,
    ) as ClosureDiffJson;
    const curl = json.packages.find((p) => p.name === "curl");
    const [oldCurl, newCurl] = [curl?.pathsBefore[0] ?? "", curl?.pathsAfter[0] ?? ""];
    expect(oldCurl).not.toBe(newCurl);
    const result = await ternix([oldCurl, newCurl]);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out.slice(0, 2)).toEqual([`<<< ${oldCurl}`, `>>> ${newCurl}`]);
    expect(out[2]).toMatch(
      /^Note: Neither side is a NixOS system \(.*\): the closures are compared all the same, /,
    );
    expect(result.stdout).not.toContain("Risks");
    expect(out.at(-1)).toMatch(/^Closure size: /);
    const plain = JSON.parse((await ternix([oldCurl, newCurl, "--json"])).stdout) as ClosureDiffJson;
    expect(plain.before.swPath).toBeNull();
    // A root that is not a system is a package like any other: curl went 8.11.0 -> 8.10.1.
    expect(plain.packages.find((p) => p.name === "curl")).toMatchObject({
      kind: "downgraded",
      versionsBefore: ["8.11.0"],
      versionsAfter: ["8.10.1"],
    });
  });

  test("the same path twice: an empty diff, exit 0", async () => {
    const result = await ternix(["result-after", after]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lines(result.stdout).slice(-2)).toEqual([
      "No version or selection state changes.",
      expect.stringMatching(
        /^Closure size: (\d+) -> \1 \(0 paths added, 0 paths removed, delta 0, disk usage \+0B\)\.$/,
      ),
    ]);
    const json = JSON.parse((await ternix(["result-after", after, "--json"])).stdout) as ClosureDiffJson;
    expect([json.packages, json.rebuilt, json.risks]).toEqual([[], [], []]);
  });

  test("bad input: one `error:` line and one `hint:` line, exit 1", async () => {
    await writeFile(join(dir, "not-a-closure"), "hello\n");
    await symlink("/nix/store/00000000000000000000000000000000-gone", join(dir, "dangling"));
    const cases: [args: string[], message: RegExp][] = [
      [
        ["not-a-closure", "result-after"],
        /^error: not-a-closure is not in the Nix store \(it resolves to \S+\)\.$/,
      ],
      [
        ["/nix/store/00000000000000000000000000000000-missing", "result-after"],
        /^error: \/nix\/store\/0{32}-missing does not exist\.$/,
      ],
      [
        ["result-before", "dangling"],
        /^error: dangling is a dangling link \(to \/nix\/store\/0{32}-gone\); /,
      ],
      [["result-before", "no-such-file"], /^error: no-such-file does not exist\.$/],
    ];
    for (const [args, message] of cases) {
      const result = await ternix(args);
      expect(result.exitCode, args.join(" ")).toBe(1);
      expect(result.stdout).toBe("");
      const [error, hint, ...rest] = lines(result.stderr);
      expect(error).toMatch(message);
      expect(hint).toMatch(/^hint: \S/);
      expect(rest).toEqual([]);
    }
    const usage = await ternix(["result-before"]);
    expect(usage.exitCode).toBe(64);
    expect(lines(usage.stderr)[0]).toBe("error: missing required argument 'after'");
  });
});
