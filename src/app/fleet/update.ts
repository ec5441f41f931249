/** `ternix update`: move the lock (all inputs or named ones) and say what moved. */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { InputError, UsageError } from "../../errors.js";
import { commitFile, type Git } from "../../git/git.js";
import { diffLocks, lockCommitMessage, type LockDiff } from "../../lock/diff.js";
import { lockInputs } from "../../lock/graph.js";
import { parseFlakeLock } from "../../lock/parse.js";
import type { FlakeLock } from "../../lock/schema.js";
import type { Nix } from "../../nix/nix.js";
import { ensureFileContent } from "../../proc/files.js";
import type { Effects } from "../effects.js";
import { readLockText, type FlakeLocation } from "../flake.js";
import { copyFlake } from "./flake-copy.js";

export interface UpdateRequest {
  flake: FlakeLocation;
  /** Input ids (`nixpkgs`, `home/nixpkgs`); empty updates every input. */
  inputs: readonly string[];
  dryRun: boolean;
  commit: boolean;
  /** Extra Forgejo/Gitea hosts for compare links (config). */
  forgeHosts?: readonly string[] | undefined;
}

export interface UpdateResult {
  before: FlakeLock;
  after: FlakeLock;
  diff: LockDiff;
  /** The new lock was written to the user's flake.lock. */
  written: boolean;
  /** The commit made with --commit. */
  commit: string | undefined;
  dryRun: boolean;
}

export interface UpdateDeps {
  nix: Nix;
  git: Git;
  effects: Effects;
}

/** Check requested input names against the lock; unknown names are a usage error listing the real ones. */
export function checkInputNames(lock: FlakeLock, names: readonly string[]): void {
  const inputs = lockInputs(lock);
  const known = new Set(inputs.map((i) => i.id));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const direct = inputs.filter((i) => i.direct).map((i) => i.id);
    // A nested input that follows another is updated through its target; name one that has a node.
    const nested = inputs.find((i) => !i.direct && i.follows === undefined);
    throw new UsageError(`unknown input${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`, {
      hint: `Available inputs: ${direct.join(", ") || "(none)"}${nested ? ` (nested ones as parent/name, e.g. ${nested.id})` : ""}.`,
    });
  }
}

export async function updateLock(request: UpdateRequest, deps: UpdateDeps): Promise<UpdateResult> {
  const { flake } = request;
  const beforeText = await readLockText(flake);
  const before = parseFlakeLock(beforeText, flake.lockPath);
  checkInputNames(before, request.inputs);

  if (request.commit && !request.dryRun) await ensureLockClean(flake, deps.git);

  const afterText = request.dryRun
    ? await updatedLockInCopy(flake, request.inputs, deps)
    : await lockInPlace(request, beforeText, deps);
  const after = parseFlakeLock(afterText, flake.lockPath);
  const diff = diffLocks(before, after, { forgeHosts: request.forgeHosts ?? [] });

  let commit: string | undefined;
  if (request.commit && !request.dryRun && diff.changed) {
    const repo = flake.gitRoot as string;
    commit = await commitFile(deps.git, repo, relative(repo, flake.lockPath), lockCommitMessage(diff));
  }
  return { before, after, diff, written: !request.dryRun && diff.changed, commit, dryRun: request.dryRun };
}

async function ensureLockClean(flake: FlakeLocation, git: Git): Promise<void> {
  if (flake.gitRoot === undefined) {
    throw new InputError(`--commit needs a git repository, and ${flake.dir} is not in one.`, {
      hint: "Run `git init` and commit your flake, or update without --commit.",
    });
  }
  const dirty = await git.status(flake.gitRoot, [relative(flake.gitRoot, flake.lockPath)]);
  if (dirty.length > 0) {
    throw new InputError("flake.lock has uncommitted changes that --commit would commit too.", {
      hint: "Review them with `git diff flake.lock`, then commit or discard them (`git checkout flake.lock`) first.",
    });
  }
}

/** Run the update on the user's flake; the original lock comes back on failure or interrupt. */
async function lockInPlace(request: UpdateRequest, beforeText: string, deps: UpdateDeps): Promise<string> {
  const { flake } = request;
  const restore = () => ensureFileContent(flake.lockPath, beforeText);
  const unregister = deps.effects.cleanup.add(restore);
  try {
    deps.effects.onEvent({ type: "phase", message: updatingMessage(request.inputs) });
    await deps.nix.flakeUpdate(flake.dir, request.inputs, flake.dir);
    const afterText = await readLockText(flake);
    // Validate before letting the new lock stand.
    parseFlakeLock(afterText, flake.lockPath);
    unregister();
    return afterText;
  } catch (error) {
    unregister();
    await restore();
    throw error;
  }
}

/**
 * The lock `nix flake update` would write now, computed on a throwaway copy: the user's files are
 * never opened for writing. `update --dry-run` and `inputs --upstream` use it.
 */
export async function updatedLockInCopy(
  flake: FlakeLocation,
  inputs: readonly string[],
  deps: UpdateDeps,
  message = `${updatingMessage(inputs)} (dry run, in a copy)`,
): Promise<string> {
  const copy = await copyFlake(flake, deps.git);
  const unregister = deps.effects.cleanup.add(() => copy.remove());
  try {
    deps.effects.onEvent({ type: "phase", message });
    await deps.nix.flakeUpdate(copy.dir, inputs, copy.dir);
    return await readFile(join(copy.dir, "flake.lock"), "utf8");
  } finally {
    unregister();
    await copy.remove();
  }
}

function updatingMessage(inputs: readonly string[]): string {
  return inputs.length === 0 ? "Updating all flake inputs…" : `Updating ${inputs.join(", ")}…`;
}
