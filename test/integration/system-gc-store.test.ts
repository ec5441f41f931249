/**
 * `ternix gc` with a real `nix-store --gc` and `--optimise`, end to end through the built CLI.
 *
 * The collection runs in a store of its own (`local?root=DIR`, a chroot store that Nix opens
 * directly, as root, without the daemon): the daemon's store is shared with the test files running
 * in parallel, and with the developer's own work, and a real collection there would delete their
 * unrooted paths. The systems are built in the shared store and copied over with `nix copy`.
 */
import { access, mkdir, readdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addGeneration, switchGeneration } from "../../src/app/machine/profile.js";
import { createNix, type Nix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import { NIX_FLAGS } from "../helpers/nix-env.js";
import { buildHosts, createWorld, type World } from "../helpers/world.js";

const HOSTS = ["alpha", "beta", "gamma", "delta"] as const;
let world: World;
let storeRoot: string;
let env: NodeJS.ProcessEnv;
let nix: Nix;
let systems: Record<string, string>;
let profile: string;
let machine: string;

beforeAll(async () => {
  await ensureBuiltCli();
  world = await createWorld({
    hosts: [
      { name: "alpha" },
      { name: "beta", packages: ["curl"] },
      { name: "gamma", openssh: true },
      { name: "delta" },
    ],
  });
  systems = await buildHosts(world, HOSTS);
  storeRoot = join(world.dir, "chroot");
  const storeUri = `local?root=${storeRoot}`;
  const copy = await run(
    "nix",
    [...NIX_FLAGS, "copy", "--no-check-sigs", "--to", storeUri, ...Object.values(systems)],
    { env: world.env },
  );
  expect(copy.exitCode, copy.stderr).toBe(0);

  // From here on every Nix call, Ternix's included, talks to the chroot store.
  env = { ...world.env, NIX_REMOTE: storeUri, NO_COLOR: "1" };
  nix = await createNix({ run, env });
  machine = join(world.dir, "machine");
  profile = join(machine, "profiles", "system");
  await mkdir(join(machine, "profiles"), { recursive: true });
  await mkdir(join(machine, "run"), { recursive: true });
  // Generations 1..4 = alpha..delta; the machine booted 1 and runs 2 (current); 3 and 4 are newer.
  for (const host of HOSTS) await addGeneration(nix, profile, systems[host] as string);
  await switchGeneration(nix, profile, 2);
  await symlink(systems.beta as string, join(machine, "run", "current-system"));
  await symlink(systems.alpha as string, join(machine, "run", "booted-system"));
});

afterAll(async () => {
  await world?.cleanup();
});

/** Whether the chroot store holds a path (its file is there). */
async function inStore(path: string): Promise<boolean> {
  return access(join(storeRoot, path)).then(
    () => true,
    () => false,
  );
}

async function closureOf(path: string): Promise<string[]> {
  // Asked of the shared store, where every system was built and stays rooted by the world.
  const result = await run("nix-store", ["--query", "--requisites", path], { env: world.env });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.trim().split("\n");
}

describe("ternix gc with a real garbage collection", () => {
  it("deletes generations outside the retention, collects them, and keeps every path the rest need", async () => {
    const keptClosures = [
      ...(await closureOf(systems.alpha as string)),
      ...(await closureOf(systems.beta as string)),
    ];
    const storeBefore = (await readdir(join(storeRoot, "nix", "store"))).length;
    for (const host of HOSTS) expect(await inStore(systems[host] as string), host).toBe(true);

    const result = await runCli(
      [
        "gc",
        "--keep",
        "0",
        "--optimise",
        "--profile",
        profile,
        "--current-system",
        join(machine, "run", "current-system"),
        "--booted-system",
        join(machine, "run", "booted-system"),
        "--state-dir",
        join(machine, "state"),
        "--flake",
        world.fleetDir,
      ],
      { cwd: world.dir, env },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    // gamma (3) and delta (4, the newest, but --keep 0) go; alpha (booted) and beta (current) stay.
    expect(result.stdout).toContain("Deleted generations 3, 4.");
    const collected = /Garbage collection: (\d+) store paths deleted/.exec(result.stdout);
    expect(collected, result.stdout).not.toBeNull();
    expect(Number(collected?.[1])).toBeGreaterThan(0);
    expect(result.stdout).toContain("Store optimised.");

    expect((await readdir(join(machine, "profiles"))).sort()).toEqual([
      "system",
      "system-1-link",
      "system-2-link",
    ]);
    expect(await inStore(systems.gamma as string)).toBe(false);
    expect(await inStore(systems.delta as string)).toBe(false);
    const missing: string[] = [];
    for (const path of keptClosures) if (!(await inStore(path))) missing.push(path);
    expect(missing).toEqual([]);
    expect((await readdir(join(storeRoot, "nix", "store"))).length).toBeLessThan(storeBefore);
  });
});
