/**
 * `ternix build | test | switch | boot`: nothing changes until the build succeeded; `test` activates
 * without touching the boot default; `switch` adds the generation, activates it, checks it and goes
 * back by itself when a check fails; `boot` makes it the boot default for the next reboot.
 */
import { relative } from "node:path";
import { diffClosures } from "../../closure/diff.js";
import type { ClosureDiff } from "../../closure/model.js";
import { InputError, TernixError } from "../../errors.js";
import { commitFile, type Git } from "../../git/git.js";
import { lockCommitMessage } from "../../lock/diff.js";
import type { Nix } from "../../nix/nix.js";
import type { CheckReport, CheckResult, CheckSpec } from "../../system/checks.js";
import { findGeneration, isSystemOf } from "../../system/generations.js";
import { withRecord, type GenerationRecord, type GenerationStatus } from "../../system/state.js";
import {
  activate,
  activationError,
  requireNixosSystem,
  verifyActivation,
  type ActivationAction,
} from "./activation.js";
import { acquireApplyLock, type ApplyLock } from "./apply-lock.js";
import { readFailedUnits, type CheckDeps } from "./checks.js";
import { loadClosures } from "../closure-load.js";
import type { Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { lockDiff } from "../fleet/lock-diff.js";
import { addGeneration, readProfile, storePathOfLink, switchGeneration } from "./profile.js";
import { updateState } from "./state-file.js";
import { buildHostSystem, type BuiltSystem } from "./system-build.js";
import type { SystemEffects } from "./system-effects.js";
import { lockFilePath, requireSystemAccess, type SystemPaths } from "./system-paths.js";

export type ApplyMode = "build" | "test" | "switch" | "boot";

export interface ApplyRequest {
  mode: ApplyMode;
  /** Already checked with resolveHostName. */
  host: string;
  flake: FlakeLocation;
  paths: SystemPaths;
  checks: readonly CheckSpec[];
  /** test/switch: go back when a check fails. */
  rollback: boolean;
  /** switch: commit flake.lock once the checks passed. */
  commit: boolean;
  /** Queue behind a running apply instead of failing. */
  wait: boolean;
  /** The command line after `ternix`, for hints. */
  argv?: readonly string[] | undefined;
}

export interface ApplyPreview {
  mode: ApplyMode;
  host: string;
  drvPath: string;
  storePath: string;
  /** What /run/current-system points to, if anything. */
  current: string | undefined;
  /** The new system is the running one. */
  unchanged: boolean;
  /** Package diff and risk flags against the running system; undefined without one (or when unchanged). */
  diff: ClosureDiff | undefined;
  /** Why there is no diff, when there is none. */
  diffNote?: string | undefined;
}

export interface ApplyDeps {
  nix: Nix;
  git: Git;
  effects: Effects;
  system: SystemEffects;
  /** Shown the build and its diff before anything changes; false stops (test/switch/boot). */
  review(preview: ApplyPreview): Promise<boolean>;
  onCheck?: ((result: CheckResult) => void) | undefined;
}

export type ApplyOutcome =
  /** build: built, nothing else. */
  | "built"
  /** The review said no; nothing changed. */
  | "aborted"
  /** test: active now, checks passed, boot default unchanged. */
  | "tested"
  /** switch: active and the boot default, checks passed: known good. */
  | "switched"
  /** boot: the boot default from the next boot. */
  | "boot-default"
  /** test/switch: a check failed and the previous system is back. */
  | "rolled-back"
  /** test/switch: a check failed and the new system was left active (--no-rollback). */
  | "checks-failed";

export interface ApplyResult {
  outcome: ApplyOutcome;
  preview: ApplyPreview;
  /** switch/boot: the generation added (or re-used, when the newest one already held this system). */
  generation?: number | undefined;
  /** The generation the profile pointed to before. */
  previousGeneration?: number | undefined;
  checks?: CheckReport | undefined;
  /** After a rollback: what is active again. */
  rolledBackTo?: { generation?: number | undefined; storePath: string } | undefined;
  /** With --commit: the new commit, or undefined when flake.lock had nothing to commit. */
  commit?: { sha: string | undefined } | undefined;
}

export async function applySystem(request: ApplyRequest, deps: ApplyDeps): Promise<ApplyResult> {
  const { mode } = request;
  if (mode !== "build") await requireSystemAccess(request.paths, deps.system, mode, request.argv);
  if (request.commit) requireGitForCommit(request.flake);

  let lock: ApplyLock | undefined;
  if (mode !== "build") {
    lock = await acquireApplyLock(
      { path: lockFilePath(request.paths), command: `${mode} ${request.host}`, wait: request.wait },
      deps,
    );
  }
  let built: BuiltSystem | undefined;
  try {
    built = await buildHostSystem(deps.nix, request.flake, request.host, deps.effects);
    const preview = await previewAgainstCurrent(built, request, deps);
    if (mode === "build") {
      await deps.review(preview);
      return { outcome: "built", preview };
    }
    await requireNixosSystem(built.storePath);
    if (!(await deps.review(preview))) return { outcome: "aborted", preview };
    if (mode === "test") return await testSystem(preview, request, deps);
    if (mode === "switch") return await switchSystem(preview, built, request, deps);
    return await bootSystem(preview, built, request, deps);
  } finally {
    await built?.release();
    await lock?.release();
  }
}

function requireGitForCommit(flake: FlakeLocation): void {
  if (flake.gitRoot === undefined) {
    throw new InputError(`--commit needs a git repository, and ${flake.dir} is not in one.`, {
      hint: "Run `git init` and commit your flake, or switch without --commit.",
    });
  }
}

async function previewAgainstCurrent(
  built: BuiltSystem,
  request: ApplyRequest,
  deps: ApplyDeps,
): Promise<ApplyPreview> {
  const current = await storePathOfLink(request.paths.currentSystem);
  const base = {
    mode: request.mode,
    host: built.host,
    drvPath: built.drvPath,
    storePath: built.storePath,
    current,
  };
  if (current === undefined) {
    return {
      ...base,
      unchanged: false,
      diff: undefined,
      diffNote: `${request.paths.currentSystem} does not exist; nothing to compare with`,
    };
  }
  if (current === built.storePath)
    return { ...base, unchanged: true, diff: undefined, diffNote: "the running system is this system" };
  try {
    const closures = await loadClosures(deps.nix, [current, built.storePath], deps.effects.closureCache);
    const before = closures.get(current);
    const after = closures.get(built.storePath);
    if (before === undefined || after === undefined) throw new Error("closure missing");
    return { ...base, unchanged: false, diff: diffClosures(before, after) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    deps.effects.onEvent({
      type: "log",
      level: "warn",
      message: `could not compare with the running system: ${reason}`,
    });
    return { ...base, unchanged: false, diff: undefined, diffNote: `comparison failed: ${reason}` };
  }
}

function checkDeps(deps: ApplyDeps): CheckDeps {
  return { effects: deps.effects, system: deps.system };
}

async function activateAndVerify(
  storePath: string,
  action: ActivationAction,
  request: ApplyRequest,
  deps: ApplyDeps,
): Promise<CheckReport> {
  const unitsBefore = await readFailedUnits(request.paths.systemctl, checkDeps(deps));
  deps.effects.onEvent({ type: "phase", message: `Activating (switch-to-configuration ${action})…` });
  const activation = await activate(storePath, action, checkDeps(deps), {
    systemdRun: request.paths.systemdRun,
  });
  deps.effects.onEvent({ type: "phase", message: "Checking…" });
  return verifyActivation(
    activation,
    { systemctl: request.paths.systemctl, unitsBefore, checks: request.checks, onCheck: deps.onCheck },
    checkDeps(deps),
  );
}

/** `test`: activate now, leave the profile and the boot default alone. */
async function testSystem(
  preview: ApplyPreview,
  request: ApplyRequest,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const checks = await activateAndVerify(preview.storePath, "test", request, deps);
  if (checks.passed) return { outcome: "tested", preview, checks };
  if (!request.rollback || preview.current === undefined || preview.unchanged) {
    return { outcome: "checks-failed", preview, checks };
  }
  // The profile was not touched; re-activating the running system undoes the test.
  deps.effects.onEvent({ type: "phase", message: "A check failed; re-activating the previous system…" });
  const back = await activate(preview.current, "test", checkDeps(deps), {
    systemdRun: request.paths.systemdRun,
  });
  if (!back.ok) {
    throw activationError(
      back,
      `a check failed, and re-activating the previous system ${preview.current} failed too.`,
      "The boot default is unchanged: rebooting returns to it. Or run `ternix rollback` to re-activate the current generation.",
    );
  }
  return { outcome: "rolled-back", preview, checks, rolledBackTo: { storePath: preview.current } };
}

/** `switch`: add the generation, activate, check; go back to the previous generation on failure. */
async function switchSystem(
  preview: ApplyPreview,
  built: BuiltSystem,
  request: ApplyRequest,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const { paths } = request;
  const before = await readProfile(paths.profile);
  const previous =
    before.current === undefined ? undefined : findGeneration(before.generations, before.current);

  deps.effects.onEvent({ type: "phase", message: `Adding the generation to ${paths.profile}…` });
  const generation = await addGeneration(deps.nix, paths.profile, built.storePath);
  // Until the checks decide, an interrupt puts the profile (the boot default) back where it was.
  const unregister = deps.effects.cleanup.add(async () => {
    if (previous === undefined) {
      deps.effects.onEvent({
        type: "log",
        level: "warn",
        message: `interrupted while switching to generation ${generation}, the profile's first: run \`ternix switch\` again.`,
      });
      return;
    }
    await switchGeneration(deps.nix, paths.profile, previous.number);
    deps.effects.onEvent({
      type: "log",
      level: "warn",
      message:
        `interrupted while switching: the profile is back on generation ${previous.number}, ` +
        `but the running system may be partly activated. Run \`ternix rollback --to ${previous.number}\` ` +
        `to re-activate it, or \`ternix switch\` again.`,
    });
  });

  let checks: CheckReport;
  try {
    checks = await activateAndVerify(built.storePath, "switch", request, deps);
  } finally {
    unregister();
  }
  const base = { preview, generation, previousGeneration: previous?.number, checks };

  if (checks.passed) {
    await record(request, deps, generation, built.storePath, "switch", "known-good", checks);
    const commit = request.commit ? await commitLock(request, deps.git, generation) : undefined;
    return { ...base, outcome: "switched", commit };
  }
  if (!request.rollback || previous === undefined || previous.number === generation) {
    await record(request, deps, generation, built.storePath, "switch", "failed", checks);
    if (request.rollback) {
      deps.effects.onEvent({
        type: "log",
        level: "warn",
        message: "a check failed, and there is no previous generation to go back to.",
      });
    }
    return { ...base, outcome: "checks-failed" };
  }

  deps.effects.onEvent({
    type: "phase",
    message: `A check failed; rolling back to generation ${previous.number}…`,
  });
  await switchGeneration(deps.nix, paths.profile, previous.number);
  await record(request, deps, generation, built.storePath, "switch", "rolled-back", checks);
  // Back to what was running: the previous generation's system, or the specialisation of it that
  // the machine ran.
  const backTo =
    preview.current !== undefined && isSystemOf(previous, preview.current)
      ? preview.current
      : previous.storePath;
  const back = await activate(backTo, "switch", checkDeps(deps), {
    systemdRun: request.paths.systemdRun,
  });
  if (!back.ok) {
    throw activationError(
      back,
      `a check failed; the profile is back on generation ${previous.number}, but activating it failed.`,
      `Run \`ternix rollback --to ${previous.number}\` to try again, or reboot: generation ${previous.number} is the boot default.`,
    );
  }
  return {
    ...base,
    outcome: "rolled-back",
    rolledBackTo: { generation: previous.number, storePath: backTo },
  };
}

/** `boot`: add the generation and make it the boot default; nothing is activated. */
async function bootSystem(
  preview: ApplyPreview,
  built: BuiltSystem,
  request: ApplyRequest,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  const { paths } = request;
  const before = await readProfile(paths.profile);
  const previous =
    before.current === undefined ? undefined : findGeneration(before.generations, before.current);
  deps.effects.onEvent({ type: "phase", message: `Adding the generation to ${paths.profile}…` });
  const generation = await addGeneration(deps.nix, paths.profile, built.storePath);
  const unregister = deps.effects.cleanup.add(async () => {
    if (previous !== undefined) await switchGeneration(deps.nix, paths.profile, previous.number);
  });
  try {
    deps.effects.onEvent({
      type: "phase",
      message: "Installing the boot entry (switch-to-configuration boot)…",
    });
    const activation = await activate(built.storePath, "boot", checkDeps(deps), {
      systemdRun: request.paths.systemdRun,
    });
    if (!activation.ok) {
      // Leave the boot default where it was: the profile and the boot loader both go back.
      if (previous !== undefined && previous.number !== generation) {
        await switchGeneration(deps.nix, paths.profile, previous.number);
        await activate(previous.storePath, "boot", checkDeps(deps), {
          systemdRun: request.paths.systemdRun,
        });
      }
      throw activationError(
        activation,
        `installing the boot entry for ${request.host} failed${previous ? `; generation ${previous.number} stays the boot default` : ""}.`,
        "Run with --verbose to see switch-to-configuration's output.",
      );
    }
  } finally {
    unregister();
  }
  await record(request, deps, generation, built.storePath, "boot", "unchecked", null);
  return { outcome: "boot-default", preview, generation, previousGeneration: previous?.number };
}

async function record(
  request: ApplyRequest,
  deps: ApplyDeps,
  generation: number,
  storePath: string,
  action: GenerationRecord["action"],
  status: GenerationStatus,
  checks: CheckReport | null,
): Promise<void> {
  const entry: GenerationRecord = {
    profile: request.paths.profile,
    generation,
    storePath,
    host: request.host,
    action,
    at: deps.effects.now().toISOString(),
    status,
    checks,
  };
  await updateState(request.paths, (state) => withRecord(state, entry));
}

/** Commit flake.lock when it differs from HEAD; undefined sha when there is nothing to commit. */
async function commitLock(
  request: ApplyRequest,
  git: Git,
  generation: number,
): Promise<{ sha: string | undefined }> {
  const { flake } = request;
  const repo = flake.gitRoot as string;
  const pathInRepo = relative(repo, flake.lockPath);
  try {
    if ((await git.status(repo, [pathInRepo])).length === 0) return { sha: undefined };
    let subject: string;
    try {
      subject = lockCommitMessage((await lockDiff({ cwd: flake.dir, flakeDir: flake.dir }, git)).diff);
    } catch {
      subject = "flake.lock: update\n";
    }
    const message = `${subject.trimEnd()}\n\nApplied to ${request.host} as system generation ${generation}; checks passed (ternix switch).\n`;
    return { sha: await commitFile(git, repo, pathInRepo, message) };
  } catch (error) {
    throw new TernixError(
      `switched to generation ${generation} and the checks passed, but committing flake.lock failed: ${error instanceof Error ? error.message : String(error)}`,
      { hint: "The system change stands; commit flake.lock yourself.", cause: error },
    );
  }
}
