/**
 * `ternix build | test | switch | boot`: nothing changes until the build succeeded; then the
 * activation engine (engine.ts): `test` activates and checks without touching the boot default;
 * `switch` does that and, only when the checks pass, adds the generation and makes it the boot
 * default; `boot` makes it the boot default for the next reboot, unchecked.
 */
import { relative } from "node:path";
import { diffClosures } from "../../closure/diff.js";
import type { ClosureDiff } from "../../closure/model.js";
import { InputError, TernixError } from "../../errors.js";
import { commitFile, type Git } from "../../git/git.js";
import { lockCommitMessage } from "../../lock/diff.js";
import type { Nix } from "../../nix/nix.js";
import type { CheckResult, CheckSpec } from "../../system/checks.js";
import { requireNixosSystem } from "./activation.js";
import { acquireApplyLock, type ApplyLock } from "./apply-lock.js";
import { loadClosures } from "../closure-load.js";
import { withSecretScan } from "../store-scan.js";
import type { Effects } from "../effects.js";
import type { ChannelSystemSource } from "../channels.js";
import type { FlakeLocation } from "../flake.js";
import { lockDiff } from "../fleet/lock-diff.js";
import { localTarget, runActivation, type EngineResult } from "./engine.js";
import { storePathOfLink } from "./profile.js";
import { loadState } from "./state-file.js";
import { buildHostSystem, type BuiltSystem } from "./system-build.js";
import type { SystemEffects } from "./system-effects.js";
import { lockFilePath, requireSystemAccess, type SystemPaths } from "./system-paths.js";

export type ApplyMode = "build" | "test" | "switch" | "boot";

export interface ApplyRequest {
  mode: ApplyMode;
  /** Already checked with resolveHostName. */
  host: string;
  /** Where the system comes from: the flake, or (channel-based systems) the channels' NIX_PATH. */
  flake: FlakeLocation | ChannelSystemSource;
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
  /** test/switch: a check failed and the previous system is active again; profile untouched. */
  | "rolled-back"
  /** test/switch: a check failed and the new system was left active (--no-rollback); profile untouched. */
  | "checks-failed";

export interface ApplyResult extends Omit<EngineResult, "outcome"> {
  outcome: ApplyOutcome;
  preview: ApplyPreview;
  /** With --commit: the new commit, or undefined when flake.lock had nothing to commit. */
  commit?: { sha: string | undefined } | undefined;
}

export async function applySystem(request: ApplyRequest, deps: ApplyDeps): Promise<ApplyResult> {
  const { mode } = request;
  if (mode !== "build") {
    await requireSystemAccess(request.paths, deps.system, mode, request.argv);
    // Everything the run needs is read and validated before anything changes (a corrupt state
    // file stops it here, not after the activation).
    await loadState(request.paths);
  }
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
    const result = await runActivation(
      {
        storePath: built.storePath,
        operation: mode,
        host: request.host,
        command: mode,
        checks: request.checks,
        rollback: request.rollback,
        onCheck: deps.onCheck,
      },
      {
        target: localTarget(deps.nix, deps.effects.run, request.paths),
        effects: deps.effects,
        system: deps.system,
      },
    );
    const commit =
      result.outcome === "switched" && request.commit && result.generation !== undefined
        ? await commitLock(request, deps.git, result.generation)
        : undefined;
    return { ...result, preview, commit };
  } finally {
    await built?.release();
    await lock?.release();
  }
}

function requireGitForCommit(flake: FlakeLocation | ChannelSystemSource): void {
  if ("channels" in flake) {
    throw new InputError("--commit needs a flake; this system is built from channels.", {
      hint: "Switch without --commit.",
    });
  }
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
  return {
    ...base,
    unchanged: false,
    ...(await compareSystems(deps.nix, deps.effects, current, built.storePath)),
  };
}

/** The package diff and risk flags from the running system to a new one; a failure is a note, not an error. */
export async function compareSystems(
  nix: Nix,
  effects: Effects,
  current: string,
  next: string,
): Promise<{ diff: ClosureDiff | undefined; diffNote?: string | undefined }> {
  try {
    const closures = await loadClosures(nix, [current, next], effects.closureCache);
    const before = closures.get(current);
    const after = closures.get(next);
    if (before === undefined || after === undefined) throw new Error("closure missing");
    const diff = diffClosures(before, after);
    return { diff: await withSecretScan(diff, before.paths, after.paths, effects.scanStore) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    effects.onEvent({
      type: "log",
      level: "warn",
      message: `could not compare with the running system: ${reason}`,
    });
    return { diff: undefined, diffNote: `comparison failed: ${reason}` };
  }
}

/** Commit flake.lock when it differs from HEAD; undefined sha when there is nothing to commit. */
async function commitLock(
  request: ApplyRequest,
  git: Git,
  generation: number,
): Promise<{ sha: string | undefined }> {
  const flake = request.flake as FlakeLocation;
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
