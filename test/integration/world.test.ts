/**
 * Smoke test of the real-Nix test world: the fixture builds, looks like NixOS, and an update of
 * nixpkgs changes the closures the way the revision descriptions say.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parsePathInfoJson } from "../../src/nix/schemas.js";
import { run } from "../../src/proc/run.js";
import { generateFleet, type GeneratedFleet } from "../fixtures/generate-fleet.js";
import {
  advanceHardware,
  advanceHome,
  advanceNixpkgs,
  buildHosts,
  createWorld,
  git,
  nixOrThrow,
  nixosVersionOf,
  revisionSpec,
  runNix,
  setFleetNixpkgsBranch,
  toplevelInstallable,
  updateFleetLock,
  type World,
} from "../helpers/world.js";

const HOSTS = ["web", "db", "gpu-ws", "build-minimal"] as const;
type Host = (typeof HOSTS)[number];

function log(message: string): void {
  process.stderr.write(`[world.test] ${message}\n`);
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await f();
  log(`${label}: ${((performance.now() - start) / 1000).toFixed(2)}s`);
  return value;
}

/** All four toplevels in one `nix build` call, as the brief for this test asks. */
async function buildAll(world: World): Promise<Record<Host, string>> {
  const result = await nixOrThrow(world, [
    "build",
    "--no-link",
    "--json",
    "--option",
    "substituters",
    "",
    ...HOSTS.map((h) => toplevelInstallable(world, h)),
  ]);
  // Nix reports the builds in its own order, not the installables'.
  const outs = (JSON.parse(result.stdout) as { outputs: { out: string } }[]).map((b) => b.outputs.out);
  expect(outs).toHaveLength(HOSTS.length);
  const outOf = (h: Host) => outs.find((p) => storeName(p).startsWith(`nixos-system-${h}-2`)) ?? "";
  return Object.fromEntries(HOSTS.map((h) => [h, outOf(h)])) as Record<Host, string>;
}

async function closure(world: World, path: string): Promise<string[]> {
  const result = await nixOrThrow(world, ["path-info", "--recursive", path]);
  return result.stdout.trim().split("\n");
}

async function references(world: World, path: string): Promise<string[]> {
  const result = await nixOrThrow(world, ["path-info", "--json", path]);
  const [info] = parsePathInfoJson(result.stdout);
  return (info?.references ?? []).map(storeName);
}

/** `/nix/store/<hash>-<name>` -> `<name>` */
function storeName(path: string): string {
  return path.replace(/^\/nix\/store\/[0-9a-z]{32}-/, "");
}

describe("the test world", () => {
  let world: World;
  let before: Record<Host, string>;

  beforeAll(async () => {
    // Salted: fresh store paths, so the builds below are cold and their timings mean something.
    world = await timed("createWorld", () => createWorld({ salt: randomUUID() }));
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  test("the fleet is locked and committed", async () => {
    const status = await git(world, world.fleetDir, ["status", "--porcelain"]);
    expect(status).toBe("");
    const lock = JSON.parse(await readFile(`${world.fleetDir}/flake.lock`, "utf8")) as {
      nodes: Record<
        string,
        { inputs?: Record<string, unknown>; locked?: { lastModified: number; ref?: string } }
      >;
    };
    expect(lock.nodes["home"]?.inputs).toEqual({ nixpkgs: ["nixpkgs"] });
    expect(lock.nodes["nixpkgs"]?.locked?.ref).toBe("nixos-24.11");
    expect(lock.nodes["nixpkgs"]?.locked?.lastModified).toBe(Date.UTC(2024, 11, 1, 12) / 1000);
  });

  test("four hosts build in one call and look like NixOS systems", async () => {
    before = await timed("build 4 hosts (first)", () => buildAll(world));
    const version = nixosVersionOf(revisionSpec("24.11-a"));
    expect(version).toMatch(/^24\.11\.20241201\.[0-9a-f]{7}$/);
    for (const host of HOSTS) {
      expect(storeName(before[host])).toBe(`nixos-system-${host}-${version}`);
      const size = (await closure(world, before[host])).length;
      log(`closure of ${host}: ${size} paths`);
      expect(size).toBeGreaterThanOrEqual(250);
      expect(size).toBeLessThanOrEqual(400);
    }
    const gpu = before["gpu-ws"];
    const boot = JSON.parse(await readFile(`${gpu}/boot.json`, "utf8")) as Record<
      string,
      Record<string, unknown>
    >;
    const bootspec = boot["org.nixos.bootspec.v1"];
    expect(bootspec?.["toplevel"]).toBe(gpu);
    // As NixOS's bootspec.nix: kernelParams are boot.kernelParams; init is a field of its own.
    expect(bootspec?.["init"]).toBe(`${gpu}/init`);
    expect(bootspec?.["kernelParams"]).toEqual(["loglevel=4", "nvidia-drm.modeset=1", "console=ttyS0"]);
    expect(bootspec?.["kernel"]).toMatch(/-linux-6\.6\.63\/bzImage$/);
    expect(await readFile(`${gpu}/kernel-params`, "utf8")).toContain("nvidia-drm.modeset=1");
    expect(await readFile(`${gpu}/nixos-version`, "utf8")).toBe(version);
  });

  test("sw references exactly the selected packages", async () => {
    const toplevel = await references(world, before["gpu-ws"]);
    expect(toplevel).toEqual(expect.arrayContaining(["system-path", "etc", "firmware", "kernel-modules"]));
    const swOf = async (host: Host) => {
      const result = await run("readlink", [`${before[host]}/sw`]);
      return references(world, result.stdout.trim());
    };
    const gpuSw = await swOf("gpu-ws");
    expect(gpuSw).toEqual(
      expect.arrayContaining([
        "curl-8.11.0",
        "firefox-133.0",
        "nvidia-x11-550.135-6.6.63",
        "home-manager-0-unstable-2024-11-20",
        "nix-2.24.10",
        "htop-3.3.0",
      ]),
    );
    expect(gpuSw.every((n) => !n.startsWith("zfs") && !n.startsWith("openssh"))).toBe(true);
    const webSw = await swOf("web");
    expect(webSw).toEqual(expect.arrayContaining(["openssh-9.9p1", "curl-8.11.0", "nginx-1.26.2"]));
    const dbSw = await swOf("db");
    expect(dbSw).toEqual(expect.arrayContaining(["zfs-user-2.2.7", "python3.12-requests-2.32.3"]));
    const minimal = await swOf("build-minimal");
    expect(minimal.some((n) => /^(curl|openssh|nvidia|zfs|home-manager)-/.test(n))).toBe(false);
    const dbClosure = (await closure(world, before.db)).map(storeName);
    expect(dbClosure).toContain("zfs-kernel-2.2.7-6.6.63");
    expect(dbClosure.some((n) => n.startsWith("nvidia-x11"))).toBe(false);
  });

  test("switch-to-configuration records calls and fails on request", async () => {
    const stc = `${before.web}/bin/switch-to-configuration`;
    const ok = await run(stc, ["test"], { env: world.env });
    expect(ok.exitCode).toBe(0);
    const failed = await run(stc, ["switch"], { env: { ...world.env, TERNIX_FIXTURE_SWITCH_FAIL: "1" } });
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain("switch failed");
    const onlyBoot = await run(stc, ["test"], { env: { ...world.env, TERNIX_FIXTURE_SWITCH_FAIL: "boot" } });
    expect(onlyBoot.exitCode).toBe(0);
    const lines = (await readFile(world.switchLog, "utf8")).trim().split("\n");
    expect(lines).toEqual([`test ${before.web}`, `switch ${before.web}`, `test ${before.web}`]);
  });

  test("an update to 24.11-b changes the kernel, drivers, nix and downgrades curl", async () => {
    await advanceNixpkgs(world, "24.11-b");
    await timed("nix flake update", () => updateFleetLock(world));
    const lockDiff = await git(world, world.fleetDir, ["diff", "--stat", "flake.lock"]);
    expect(lockDiff).toContain("flake.lock");
    const after = await timed("build 4 hosts (after update)", () => buildAll(world));
    const diff = await nixOrThrow(world, ["store", "diff-closures", before["gpu-ws"], after["gpu-ws"]]);
    // Plain lines like "curl: 8.11.0 → 8.10.1" (no colours: stdout is not a terminal).
    const text = diff.stdout;
    log(`diff-closures gpu-ws:\n${text.replace(/^/gm, "  ")}`);
    expect(text).toMatch(/^linux: .*6\.6\.63.*→.*6\.6\.64/m);
    expect(text).toMatch(/^nvidia-x11: 550\.135-6\.6\.63 → 550\.142-6\.6\.64/m);
    expect(text).toMatch(/^nix: 2\.24\.10 → 2\.24\.11/m);
    expect(text).toMatch(/^curl: 8\.11\.0 → 8\.10\.1/m);
    expect(text).toMatch(/^openssl: 3\.3\.2 → 3\.3\.3/m);
    // db has zfs: its kernel module follows the kernel.
    const dbDiff = await nixOrThrow(world, ["store", "diff-closures", before.db, after.db]);
    expect(dbDiff.stdout).toMatch(/^zfs-kernel: 2\.2\.7-6\.6\.63 → 2\.2\.7-6\.6\.64/m);
    expect(dbDiff.stdout).not.toMatch(/^nvidia-x11/m);
  });
});

describe("edge cases of the world", () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld({
      hosts: [
        { name: 'web "prod" 1', openssh: true },
        { name: "breaks-later", failFrom: "24.11-b" },
        { name: "eval-breaks-later", failFrom: "24.11-b", failKind: "eval" },
        { name: "gpu-ws", nvidia: true, home: true, packages: ["curl"] },
      ],
    });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  test("odd host names build, with a sanitised store name", async () => {
    const built = await buildHosts(world, ['web "prod" 1', "breaks-later"]);
    expect(storeName(built['web "prod" 1'] ?? "")).toMatch(/^nixos-system-web--prod--1-24\.11\./);
    const hostname = await readFile(`${built['web "prod" 1']}/etc/hostname`, "utf8");
    expect(hostname).toBe('web "prod" 1\n');
  });

  test("a host set to fail from 24.11-b fails after the update, at build or at evaluation", async () => {
    await advanceNixpkgs(world, "24.11-b");
    await updateFleetLock(world, { inputs: ["nixpkgs"] });
    const build = await runNix(world, ["build", "--no-link", toplevelInstallable(world, "breaks-later")]);
    expect(build.exitCode).toBe(1);
    expect(build.stderr).toContain("is set to fail from nixpkgs revision 24.11-b");
    const evaluation = await runNix(world, [
      "eval",
      "--raw",
      `${toplevelInstallable(world, "eval-breaks-later")}.drvPath`,
    ]);
    expect(evaluation.exitCode).toBe(1);
    expect(evaluation.stderr).toContain("is set to fail from nixpkgs revision 24.11-b");
  });

  test("home and hardware move; a release jump rebuilds everything", async () => {
    const gpuBefore = (await buildHosts(world, ["gpu-ws"]))["gpu-ws"] ?? "";
    await advanceHome(world);
    await advanceHardware(world);
    await advanceNixpkgs(world, "24.11-c");
    await advanceNixpkgs(world, "25.05-a");
    await setFleetNixpkgsBranch(world, "nixos-25.05");
    await timed("nix flake update (25.05)", () => updateFleetLock(world, { commit: true }));
    const log = await git(world, world.fleetDir, ["log", "--format=%s"]);
    expect(log.split("\n")[0]).toBe("flake.lock: update");
    const gpuAfter = await timed("build gpu-ws (25.05, mass rebuild)", () => buildHosts(world, ["gpu-ws"]));
    const diff = await nixOrThrow(world, ["store", "diff-closures", gpuBefore, gpuAfter["gpu-ws"] ?? ""]);
    expect(diff.stdout).toMatch(/^glibc: 2\.40-36 → 2\.41-11/m);
    expect(diff.stdout).toMatch(/^home-manager: 0-unstable-2024-11-20 → 0-unstable-2024-11-30/m);
    expect(diff.stdout).toMatch(/^libbpf: ∅ → 1\.5\.0/m);
    expect(diff.stdout).toMatch(/^libgcrypt: 1\.10\.3 → ∅/m);
    expect(diff.stdout).toMatch(/^nvidia-x11: 550\.142-6\.6\.64 → 570\.153\.02-6\.12\.30/m);
  });
});

describe("the benchmark fleet generator", () => {
  let fleet: GeneratedFleet;

  beforeAll(async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "ternix-bench-")), "fleet-world");
    fleet = await generateFleet({ dir, hosts: 3, pathsPerHost: 300, sharedFraction: 0.9, evalCost: 400_000 });
  });
  afterAll(async () => {
    if (fleet) await rm(dirname(fleet.world.dir), { recursive: true, force: true });
  });

  test("hosts have the requested closure size, 90% shared", async () => {
    const built = await timed("build 3 benchmark hosts", () => buildHosts(fleet.world, fleet.hostNames));
    const closures = await Promise.all(Object.values(built).map((p) => closure(fleet.world, p)));
    for (const c of closures) expect(c).toHaveLength(300);
    const shared = closures.reduce((a, b) => a.filter((p) => b.includes(p)));
    expect(shared).toHaveLength(fleet.sharedPathsPerHost);
    expect(fleet.sharedPathsPerHost).toBe(270);
  });
});
