/**
 * Shared setup for the system-*.test.ts integration tests: a world whose hosts are small distinct
 * systems, and a "machine" in a temporary directory (profile, current/booted links, state dir, a
 * fake systemctl) that the real use cases drive with real Nix.
 */
import { chmod, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  applySystem,
  type ApplyMode,
  type ApplyRequest,
  type ApplyResult,
} from "../../src/app/machine/apply.js";
import { Cleanup } from "../../src/app/cleanup.js";
import type { AppEvent, Effects } from "../../src/app/effects.js";
import type { FlakeLocation } from "../../src/app/flake.js";
import { realSystemEffects, type SystemEffects } from "../../src/app/machine/system-effects.js";
import type { SystemPaths } from "../../src/app/machine/system-paths.js";
import { createGit, type Git } from "../../src/git/git.js";
import { createNix, type Nix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import type { CheckSpec } from "../../src/system/checks.js";
import { createWorld, type HostSpec, type World } from "../helpers/world.js";

/** Distinct, cheap systems: the toplevels differ by host name (and a package or two). */
export const SYSTEM_HOSTS: HostSpec[] = [
  { name: "alpha" },
  { name: "beta", packages: ["curl"] },
  { name: "gamma", openssh: true },
  { name: "delta" },
  { name: "epsilon" },
  { name: "zeta" },
  // Breaks from the first revision on: its toplevel fails to build.
  { name: "broken", failFrom: "24.11-a" },
];

export interface Machine {
  world: World;
  paths: SystemPaths;
  /** One unit per line, what the fake systemctl reports as failed. */
  failedUnitsFile: string;
  env: NodeJS.ProcessEnv;
  nix: Nix;
  git: Git;
  flake: FlakeLocation;
  system: SystemEffects;
  events: AppEvent[];
  effects(): Effects;
  apply(
    mode: ApplyMode,
    host: string,
    extra?: Partial<ApplyRequest> & { review?: () => Promise<boolean>; effects?: Effects },
  ): Promise<ApplyResult>;
  switchLog(): Promise<string[]>;
  /** profile -> generation link -> store path, and the generation links, for "nothing changed" checks. */
  snapshot(): Promise<string>;
}

/** The path flags that point a CLI run at the machine (profile, links, state dir). */
export function machinePathArgs(paths: SystemPaths): string[] {
  return [
    "--profile",
    paths.profile,
    "--current-system",
    paths.currentSystem,
    "--booted-system",
    paths.bootedSystem,
    "--state-dir",
    paths.stateDir,
  ];
}

export const check = (command: string[]): CheckSpec => ({
  kind: "command",
  name: command.join(" "),
  command,
  timeoutMs: 10_000,
  retries: 0,
  intervalMs: 0,
});

export async function createMachine(hosts: HostSpec[] = SYSTEM_HOSTS): Promise<Machine> {
  const world = await createWorld({ hosts });
  try {
    return await machineIn(world);
  } catch (error) {
    await world.cleanup();
    throw error;
  }
}

async function machineIn(world: World): Promise<Machine> {
  const root = join(world.dir, "machine");
  const paths: SystemPaths = {
    profile: join(root, "profiles", "system"),
    currentSystem: join(root, "run", "current-system"),
    bootedSystem: join(root, "run", "booted-system"),
    stateDir: join(root, "state"),
    systemctl: join(root, "bin", "systemctl"),
  };
  const failedUnitsFile = join(root, "failed-units");
  await Promise.all([
    mkdir(join(root, "profiles"), { recursive: true }),
    mkdir(join(root, "run"), { recursive: true }),
    mkdir(join(root, "bin"), { recursive: true }),
  ]);
  await writeFile(failedUnitsFile, "");
  // Prints what the file says, as `systemctl --failed --plain --no-legend` would.
  await writeFile(
    paths.systemctl,
    `#!/bin/sh\nwhile read -r unit; do [ -n "$unit" ] && echo "$unit loaded failed failed $unit"; done < '${failedUnitsFile}'\nexit 0\n`,
  );
  await chmod(paths.systemctl, 0o755);
  const env = { ...world.env, TERNIX_FIXTURE_CURRENT_SYSTEM: paths.currentSystem };
  const nix = await createNix({ run, env });
  const git = createGit(run, env);
  const gitRoot = world.fleetDir;
  const flake: FlakeLocation = {
    dir: world.fleetDir,
    lockPath: join(world.fleetDir, "flake.lock"),
    gitRoot,
    lockPathInRepo: "flake.lock",
  };
  const events: AppEvent[] = [];
  const effects = (): Effects => ({
    run,
    now: () => new Date(),
    onEvent: (e) => events.push(e),
    env,
    cleanup: new Cleanup(),
  });
  const system = realSystemEffects();
  const machine: Machine = {
    world,
    paths,
    failedUnitsFile,
    env,
    nix,
    git,
    flake,
    system,
    events,
    effects,
    apply: (mode, host, extra = {}) => {
      const { review, effects: given, ...rest } = extra;
      return applySystem(
        { mode, host, flake, paths, checks: [], rollback: true, commit: false, wait: false, ...rest },
        { nix, git, effects: given ?? effects(), system, review: review ?? (() => Promise.resolve(true)) },
      );
    },
    async switchLog() {
      const text = await readFile(world.switchLog, "utf8").catch(() => "");
      return text.split("\n").filter((l) => l !== "");
    },
    async snapshot() {
      const dir = join(root, "profiles");
      const entries = (await readdir(dir)).sort();
      const links = await Promise.all(
        entries.map(async (e) => `${e} -> ${await readlink(join(dir, e)).catch(() => "?")}`),
      );
      const current = await readlink(paths.currentSystem).catch(() => "(none)");
      const state = await readFile(join(paths.stateDir, "state.json"), "utf8").catch(() => "(none)");
      const stateDir = await readdir(paths.stateDir).catch(() => []);
      return [
        ...links,
        `current-system -> ${current}`,
        `state dir: ${stateDir.join(" ")}`,
        state,
        ...(await machine.switchLog()),
      ].join("\n");
    },
  };
  return machine;
}
