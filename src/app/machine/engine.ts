/**
 * The one activation engine behind `switch`, `test`, `boot`, `rollback` and `upgrade` (and later
 * `deploy`): the front doors differ in where the system comes from and where commands run, never in
 * how it is activated and checked.
 *
 * Two phases, health-gated:
 *   1. `switch-to-configuration test` (active now, boot default untouched), then the checks;
 *   2. only when they pass: the profile gets the generation (`nix-env --set`, or an existing one for
 *      rollback) and `switch-to-configuration boot` makes it the boot default; recorded known good.
 * When a check fails the previous system is re-activated (`test` of what ran, its specialisation
 * too) and the profile and boot default stay as they were. An interrupt (or an error) before the end
 * puts back what had changed, from the cleanup the CLI runs, and records it.
 */
import type { Nix } from "../../nix/nix.js";
import { RunInterruptedError, type Run } from "../../proc/run.js";
import { checkReport, type CheckReport, type CheckResult, type CheckSpec } from "../../system/checks.js";
import { findGeneration, isSystemOf, type Generation } from "../../system/generations.js";
import {
  withActivation,
  withRecord,
  type ActivationOutcome,
  type GenerationStatus,
  type SystemState,
} from "../../system/state.js";
import type { Effects } from "../effects.js";
import { activate, activationError, verifyActivation, type Activation } from "./activation.js";
import { readFailedUnits, type CheckDeps } from "./checks.js";
import {
  addGeneration,
  readProfile,
  storePathOfLink,
  switchGeneration,
  type ProfileState,
} from "./profile.js";
import { updateState } from "./state-file.js";
import type { SystemEffects } from "./system-effects.js";
import type { SystemPaths } from "./system-paths.js";

/**
 * The machine the engine changes. This one is local; `deploy` passes one whose `run` and `nix` go
 * over SSH and whose reads ask the remote machine.
 */
export interface ActivationTarget {
  /** Runs a program on the machine (switch-to-configuration, systemctl, command checks). */
  run: Run;
  /** nix-env on the machine's profile. */
  nix: Nix;
  paths: SystemPaths;
  readProfile(): Promise<ProfileState>;
  /** The store path a link (current-system) leads to on the machine. */
  storePathOfLink(path: string): Promise<string | undefined>;
  /** Load, change and save the machine's state file (under `paths.stateDir`). */
  updateState(change: (state: SystemState) => SystemState): Promise<SystemState>;
  /**
   * The environment of commands on the machine, as activation passes it on (e.g. to systemd-run's
   * --setenv); a remote machine has its own, so nothing of the deployer's is forwarded.
   */
  env?: NodeJS.ProcessEnv | undefined;
}

export function localTarget(nix: Nix, run: Run, paths: SystemPaths): ActivationTarget {
  return {
    run,
    nix,
    paths,
    readProfile: () => readProfile(paths.profile),
    storePathOfLink,
    updateState: (change) => updateState(paths, change),
  };
}

export type EngineOperation = "switch" | "test" | "boot";

export interface EngineRequest {
  /** The toplevel to activate (already built, a NixOS system). */
  storePath: string;
  operation: EngineOperation;
  /** Recorded in the state file. */
  host: string | null;
  /** The front door, for records and messages: switch, test, boot, rollback, upgrade. */
  command: string;
  checks: readonly CheckSpec[];
  /** When a check fails, re-activate the previous system (false: leave the new one active). */
  rollback: boolean;
  /** An existing generation to make current (rollback) instead of adding one. */
  existingGeneration?: number | undefined;
  onCheck?: ((result: CheckResult) => void) | undefined;
  /**
   * A last gate after every check passed and before the new system is kept (phase 2, or the end of
   * `test`): `deploy` disarms its dead man's switch here over a new SSH connection. A failed result
   * counts as a failed check (the previous system is re-activated).
   */
  confirm?: (() => Promise<CheckResult>) | undefined;
}

export interface EngineDeps {
  target: ActivationTarget;
  effects: Effects;
  system: SystemEffects;
}

export type EngineOutcome = "tested" | "switched" | "boot-default" | "rolled-back" | "checks-failed";

export interface EngineResult {
  outcome: EngineOutcome;
  /** switch/boot: the generation now current. */
  generation?: number | undefined;
  /** The generation the profile pointed to before. */
  previousGeneration?: number | undefined;
  checks?: CheckReport | undefined;
  /** After a failed check: what is active again. */
  rolledBackTo?: { generation?: number | undefined; storePath: string } | undefined;
}

interface Before {
  profile: ProfileState;
  previous: Generation | undefined;
  /** What ran before (current-system), maybe a specialisation of `previous`. */
  running: string | undefined;
}

export async function runActivation(request: EngineRequest, deps: EngineDeps): Promise<EngineResult> {
  const { target, effects } = deps;
  const profile = await target.readProfile();
  const before: Before = {
    profile,
    previous:
      profile.current === undefined ? undefined : findGeneration(profile.generations, profile.current),
    running: await target.storePathOfLink(target.paths.currentSystem),
  };
  const progress = { activated: false, profileChanged: false };
  const unregister = effects.cleanup.add(() => restoreAfterInterrupt(request, deps, before, progress));
  try {
    const result = await phases(request, deps, before, progress);
    unregister();
    return result;
  } catch (error) {
    // An interrupt leaves the restore to the CLI's cleanup, which runs once the command unwound.
    if (error instanceof RunInterruptedError) throw error;
    unregister();
    if (error instanceof RestoreNeeded) {
      await restoreAfterInterrupt(request, deps, before, progress);
      throw error.cause;
    }
    throw error;
  }
}

/** Thrown inside the engine when what changed must be put back before the error is reported. */
class RestoreNeeded extends Error {}

async function phases(
  request: EngineRequest,
  deps: EngineDeps,
  before: Before,
  progress: { activated: boolean; profileChanged: boolean },
): Promise<EngineResult> {
  const { effects } = deps;
  const previousGeneration = before.previous?.number;
  if (request.operation === "boot") {
    const generation = await phaseTwo(request, deps, before, progress, null);
    await record(request, deps, "boot-default", generation, null, before.running);
    return { outcome: "boot-default", generation, previousGeneration };
  }

  // Phase 1: active now, the profile and the boot default untouched.
  const unitsBefore = await readFailedUnits(deps.target.paths.systemctl, machineDeps(deps));
  effects.onEvent({ type: "phase", message: "Activating (switch-to-configuration test)…" });
  progress.activated = true;
  const activation = await activateOn(deps, request.storePath, "test");
  effects.onEvent({ type: "phase", message: "Checking…" });
  let checks = await verifyActivation(
    activation,
    {
      systemctl: deps.target.paths.systemctl,
      unitsBefore,
      checks: request.checks,
      onCheck: request.onCheck,
    },
    machineDeps(deps),
  );

  if (checks.passed && request.confirm !== undefined) {
    const confirmed = await request.confirm();
    request.onCheck?.(confirmed);
    checks = checkReport([...checks.results, confirmed]);
  }
  if (!checks.passed) return await afterFailedChecks(request, deps, before, checks);
  if (request.operation === "test") {
    await record(request, deps, "tested", previousGeneration ?? null, checks, request.storePath);
    return { outcome: "tested", checks, previousGeneration };
  }

  // Phase 2: healthy, so it becomes the boot default.
  const generation = await phaseTwo(request, deps, before, progress, checks);
  await record(request, deps, "known-good", generation, checks, request.storePath);
  return { outcome: "switched", generation, previousGeneration, checks };
}

/** The profile gets the generation and the boot loader its entry; a failed `boot` puts both back. */
async function phaseTwo(
  request: EngineRequest,
  deps: EngineDeps,
  before: Before,
  progress: { activated: boolean; profileChanged: boolean },
  checks: CheckReport | null,
): Promise<number> {
  const { target, effects } = deps;
  effects.onEvent({
    type: "phase",
    message: `Making it the boot default (${target.paths.profile}, switch-to-configuration boot)…`,
  });
  progress.profileChanged = true;
  let generation: number;
  if (request.existingGeneration !== undefined) {
    await switchGeneration(target.nix, target.paths.profile, request.existingGeneration);
    generation = request.existingGeneration;
  } else {
    generation = await addGeneration(target.nix, target.paths.profile, request.storePath);
  }
  const boot = await activateOn(deps, request.storePath, "boot");
  if (!boot.ok) {
    const kept = before.previous ? `; generation ${before.previous.number} stays the boot default` : "";
    throw new RestoreNeeded("boot entry failed", {
      cause: activationError(
        boot,
        `installing the boot entry for ${request.host ?? request.storePath} failed${kept}.`,
        "Run with --verbose to see switch-to-configuration's output.",
      ),
    });
  }
  if (request.existingGeneration === undefined) {
    const status: GenerationStatus = request.operation === "boot" ? "unchecked" : "known-good";
    await target.updateState((state) =>
      withRecord(state, {
        profile: target.paths.profile,
        generation,
        storePath: request.storePath,
        host: request.host,
        action: request.operation === "boot" ? "boot" : "switch",
        at: effects.now().toISOString(),
        status,
        checks,
      }),
    );
  }
  return generation;
}

async function afterFailedChecks(
  request: EngineRequest,
  deps: EngineDeps,
  before: Before,
  checks: CheckReport,
): Promise<EngineResult> {
  const previousGeneration = before.previous?.number;
  const running = before.running;
  if (!request.rollback || running === undefined || running === request.storePath) {
    if (request.rollback) {
      deps.effects.onEvent({
        type: "log",
        level: "warn",
        message: "a check failed, and no other system was running to go back to.",
      });
    }
    await record(request, deps, "checks-failed", previousGeneration ?? null, checks, request.storePath);
    return { outcome: "checks-failed", checks, previousGeneration };
  }
  deps.effects.onEvent({ type: "phase", message: "A check failed; re-activating the previous system…" });
  const back = await activateOn(deps, running, "test");
  if (!back.ok) {
    await record(request, deps, "checks-failed", previousGeneration ?? null, checks, null, {
      detail: `re-activating ${running} failed`,
    });
    throw activationError(
      back,
      `a check failed, and re-activating the previous system ${running} failed too.`,
      previousGeneration === undefined
        ? "The boot default is unchanged: rebooting returns to it."
        : `The boot default is still generation ${previousGeneration}: reboot, or run \`ternix rollback --to ${previousGeneration}\`.`,
    );
  }
  await record(request, deps, "rolled-back", previousGeneration ?? null, checks, running);
  const generation =
    before.previous !== undefined && isSystemOf(before.previous, running)
      ? before.previous.number
      : undefined;
  return {
    outcome: "rolled-back",
    checks,
    previousGeneration,
    rolledBackTo: { generation, storePath: running },
  };
}

/**
 * Put back what the run changed: the profile (and its boot entry) to the previous generation, and
 * the previous system active again. Runs from the cleanup, also after an interrupt (its processes
 * start regardless), and records what it did.
 */
async function restoreAfterInterrupt(
  request: EngineRequest,
  deps: EngineDeps,
  before: Before,
  progress: { activated: boolean; profileChanged: boolean },
): Promise<void> {
  const { target, effects } = deps;
  const restoreDeps: EngineDeps = {
    ...deps,
    target: { ...target, run: (c, a, o) => target.run(c, a, { ...o, cleanup: true }) },
  };
  const done: string[] = [];
  const failed: string[] = [];
  const previous = before.previous;
  if (progress.profileChanged && previous !== undefined) {
    try {
      await switchGeneration(target.nix, target.paths.profile, previous.number, { cleanup: true });
      const boot = await activateOn(restoreDeps, previous.storePath, "boot");
      if (boot.ok) done.push(`generation ${previous.number} is the boot default again`);
      else failed.push(`the profile is back on generation ${previous.number} but its boot entry failed`);
    } catch (error) {
      failed.push(`putting the profile back on generation ${previous.number} failed (${messageOf(error)})`);
    }
  } else if (previous !== undefined) {
    done.push(`the boot default is unchanged: generation ${previous.number}`);
  }
  let active: string | null = null;
  if (progress.activated && before.running !== undefined && before.running !== request.storePath) {
    try {
      const back = await activateOn(restoreDeps, before.running, "test");
      if (back.ok) {
        done.push(`re-activated the previous system ${before.running}`);
        active = before.running;
      } else failed.push(`re-activating ${before.running} failed (exit ${back.exitCode ?? "by signal"})`);
    } catch (error) {
      failed.push(`re-activating ${before.running} failed (${messageOf(error)})`);
    }
  } else if (!progress.activated) {
    active = before.running ?? null;
  }
  const howBack =
    previous === undefined
      ? "run the command again"
      : `reboot (generation ${previous.number} is the boot default) or run \`ternix rollback --to ${previous.number}\``;
  const summary = [
    `${request.command} of ${request.storePath} stopped before it finished`,
    ...done,
    ...failed,
  ].join("; ");
  effects.onEvent({
    type: "log",
    level: "warn",
    message: failed.length === 0 ? `${summary}.` : `${summary}. To go back: ${howBack}.`,
  });
  await record(
    request,
    deps,
    "interrupted",
    progress.profileChanged && failed.length > 0 ? null : (previous?.number ?? null),
    null,
    active,
    { detail: summary },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function machineDeps(deps: EngineDeps): CheckDeps {
  return {
    effects: { ...deps.effects, run: deps.target.run, env: deps.target.env ?? deps.effects.env },
    system: deps.system,
  };
}

function activateOn(deps: EngineDeps, storePath: string, action: "test" | "boot"): Promise<Activation> {
  return activate(storePath, action, machineDeps(deps), { systemdRun: deps.target.paths.systemdRun });
}

async function record(
  request: EngineRequest,
  deps: EngineDeps,
  outcome: ActivationOutcome,
  bootGeneration: number | null,
  checks: CheckReport | null,
  active: string | null | undefined,
  extra: { detail?: string } = {},
): Promise<void> {
  const entry = {
    at: deps.effects.now().toISOString(),
    command: request.command,
    host: request.host,
    storePath: request.storePath,
    outcome,
    active: active ?? null,
    bootGeneration,
    checks,
    ...extra,
  };
  await deps.target.updateState((state: SystemState) => withActivation(state, entry));
}
