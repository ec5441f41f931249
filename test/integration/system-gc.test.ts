/**
 * `ternix gc` on a real profile: six generations where the current, the booted and the newest
 * known-good one are all different, and a retention that would otherwise delete them.
 * The store itself is not collected here (`collect: false`): the daemon's store is shared with
 * the other test files running in parallel, whose unrooted builds a real `nix-store --gc` would delete.
 * system-gc-store.test.ts runs the real collection, in a store of its own.
 */
import { mkdir, readdir, readFile, rm, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { collectGarbage, type GcPlan, type GcRequest } from "../../src/app/machine/gc.js";
import { addGeneration, readProfile, switchGeneration } from "../../src/app/machine/profile.js";
import { updateState } from "../../src/app/machine/state-file.js";
import { main } from "../../src/cli/main.js";
import { run } from "../../src/proc/run.js";
import { withRecord } from "../../src/system/state.js";
import { buildHosts } from "../helpers/world.js";
import { createMachine, machinePathArgs, type Machine } from "./system-support.js";

const HOSTS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] as const;
let m: Machine;
let paths: Record<string, string>;

beforeAll(async () => {
  m = await createMachine();
  paths = await buildHosts(m.world, HOSTS);
  // Generations 1..6 = alpha..zeta.
  for (const host of HOSTS) await addGeneration(m.nix, m.paths.profile, paths[host] as string);
  await switchGeneration(m.nix, m.paths.profile, 3); // current: 3
  await symlink(paths.gamma as string, m.paths.currentSystem); // running: 3
  await symlink(paths.alpha as string, m.paths.bootedSystem); // booted: 1
  for (const generation of [2, 4]) {
    // known good: 2 and 4; the newest, 4, is protected.
    await updateState(m.paths, (state) =>
      withRecord(state, {
        profile: m.paths.profile,
        generation,
        storePath: paths[HOSTS[generation - 1] as string] as string,
        host: HOSTS[generation - 1] as string,
        action: "switch",
        at: new Date().toISOString(),
        status: "known-good",
        checks: { passed: true, results: [] },
      }),
    );
  }
});
afterAll(async () => {
  await m?.world.cleanup();
});

const links = async () =>
  (await readdir(dirname(m.paths.profile)))
    .filter((e) => e.startsWith(`${basename(m.paths.profile)}-`))
    .sort();

function request(extra: Partial<GcRequest>): GcRequest {
  return { paths: m.paths, keep: 1, dryRun: false, collect: false, optimise: false, wait: false, ...extra };
}

describe("ternix gc on a real profile", () => {
  it("--dry-run shows what would go and roughly what it frees, and deletes nothing", async () => {
    const before = await links();
    let shown: GcPlan | undefined;
    const result = await collectGarbage(request({ dryRun: true }), {
      nix: m.nix,
      effects: m.effects(),
      system: m.system,
      onPlan: (plan) => (shown = plan),
    });
    expect(shown).toBe(result.plan);
    expect(result.plan.deleted.map((g) => g.number)).toEqual([2, 5]);
    expect(Object.fromEntries(result.plan.decisions.map((d) => [d.generation.number, d.keep]))).toEqual({
      1: ["booted"],
      2: [],
      3: ["current", "running"],
      4: ["known-good"],
      5: [],
      6: ["newest"],
    });
    // beta's and epsilon's toplevels (and what only they use) are reclaimable; shared paths are not.
    expect(result.plan.estimate.paths).toBeGreaterThanOrEqual(2);
    expect(result.plan.estimate.bytes).toBeGreaterThan(0);
    expect(result.deleted).toEqual([]);
    expect(await links()).toEqual(before);
  });

  it("warns, saying what is protected, when the running or booted system link is missing or dangling", async () => {
    const dir = join(dirname(m.paths.profile), "links-gone");
    await mkdir(dir, { recursive: true });
    await symlink("/nix/store/00000000000000000000000000000000-gone", join(dir, "booted"));
    const events = m.events.length;
    const result = await collectGarbage(
      request({
        dryRun: true,
        paths: { ...m.paths, currentSystem: join(dir, "nothing"), bootedSystem: join(dir, "booted") },
      }),
      { nix: m.nix, effects: m.effects(), system: m.system },
    );
    const warnings = m.events
      .slice(events)
      .flatMap((e) => (e.type === "log" && e.level === "warn" ? [e.message] : []));
    expect(warnings).toEqual([
      `${join(dir, "nothing")} does not exist, so gc cannot tell which generation is running and does not protect it; protected: the profile's current generation 3, the newest known-good generation 4, the newest 1. Pass --current-system PATH if the running system is linked elsewhere.`,
      `${join(dir, "booted")} is a dangling link or not a store path, so gc cannot tell which generation is booted and does not protect it; protected: the profile's current generation 3, the newest known-good generation 4, the newest 1. Pass --booted-system PATH if the booted system is linked elsewhere.`,
    ]);
    expect(result.plan.deleted.map((g) => g.number)).toEqual([1, 2, 5]);
  });

  it("the CLI dry run prints the plan", async () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      const p = m.paths;
      code = await main([
        "gc",
        "--dry-run",
        "--keep",
        "1",
        "--flake",
        m.world.fleetDir,
        ...machinePathArgs(p),
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const out = chunks.join("");
    expect(out).toMatch(
      /Would delete 2 generations \(2, 5\); collecting garbage then frees about [\d.,]+(B|KiB|MiB)/,
    );
    expect(out).toContain("Dry run: nothing was deleted.");
    expect(await links()).toHaveLength(6);
  });

  it("deletes the rest and keeps current, booted and known good, even with --keep 0", async () => {
    const result = await collectGarbage(request({ keep: 0 }), {
      nix: m.nix,
      effects: m.effects(),
      system: m.system,
    });
    expect(result.deleted).toEqual([2, 5, 6]);
    expect(await links()).toEqual(["system-1-link", "system-3-link", "system-4-link"]);
    const profile = await readProfile(m.paths.profile);
    expect(profile.current).toBe(3);
    // Records of deleted generations are dropped; the protected known-good one stays.
    const state = JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as {
      generations: { generation: number }[];
    };
    expect(state.generations.map((r) => r.generation)).toEqual([4]);
    // Lock released.
    expect(await readdir(m.paths.stateDir)).toEqual(["state.json"]);
  });

  it("keeps the generation whose specialisation the machine booted", async () => {
    // A system with a specialisation, as NixOS lays it out: <toplevel>/specialisation/<name> -> a
    // system. Added to the store as it is; its specialisation is epsilon's system.
    const dir = join(m.world.dir, "with-specialisation");
    await mkdir(join(dir, "specialisation"), { recursive: true });
    await symlink(paths.epsilon as string, join(dir, "specialisation", "gaming"));
    const added = await run("nix-store", ["--add", dir], { env: m.env });
    expect(added.exitCode, added.stderr).toBe(0);
    const system = added.stdout.trim();
    const withSpecialisation = await addGeneration(m.nix, m.paths.profile, system);
    const current = await addGeneration(m.nix, m.paths.profile, paths.zeta as string);
    // The machine booted that generation's specialisation.
    await rm(m.paths.bootedSystem);
    await symlink(paths.epsilon as string, m.paths.bootedSystem);

    const result = await collectGarbage(request({ keep: 0 }), {
      nix: m.nix,
      effects: m.effects(),
      system: m.system,
    });
    const decision = (n: number) => result.plan.decisions.find((d) => d.generation.number === n)?.keep;
    expect(decision(withSpecialisation)).toEqual(["booted"]);
    expect(decision(current)).toEqual(["current"]);
    expect(result.deleted).not.toContain(withSpecialisation);
    expect(await links()).toContain(`system-${withSpecialisation}-link`);
  });
});
