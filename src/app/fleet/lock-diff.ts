/** `ternix lock-diff`: compare two locks given as git revisions or files. */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { InputError } from "../../errors.js";
import type { Git } from "../../git/git.js";
import { diffLocks, type LockDiff } from "../../lock/diff.js";
import { parseFlakeLock } from "../../lock/parse.js";
import type { FlakeLock } from "../../lock/schema.js";
import { readUserFile } from "../../proc/files.js";
import { LOCK_FILE_HINT, locateFlake, readLockText, type FlakeLocation } from "../flake.js";

export interface LockSide {
  /** What the user named: a revision, a file, or "working tree". */
  label: string;
  lock: FlakeLock;
}

export interface LockDiffResult {
  before: LockSide;
  after: LockSide;
  diff: LockDiff;
}

export interface LockDiffRequest {
  old?: string | undefined;
  new?: string | undefined;
  flakeDir?: string | undefined;
  cwd: string;
  /** Extra Forgejo/Gitea hosts for compare links (config). */
  forgeHosts?: readonly string[] | undefined;
}

export async function lockDiff(request: LockDiffRequest, git: Git): Promise<LockDiffResult> {
  let flake: FlakeLocation | undefined;
  const getFlake = async () => (flake ??= await locateFlake(request.flakeDir, request.cwd, git));
  const before = await loadSide(request.old ?? "HEAD", request.cwd, getFlake, git);
  const after =
    request.new === undefined
      ? await workingTree(await getFlake())
      : await loadSide(request.new, request.cwd, getFlake, git);
  return {
    before,
    after,
    diff: diffLocks(before.lock, after.lock, { forgeHosts: request.forgeHosts ?? [] }),
  };
}

async function workingTree(flake: FlakeLocation): Promise<LockSide> {
  return { label: "working tree", lock: parseFlakeLock(await readLockText(flake), flake.lockPath) };
}

/** Whether something other than a directory is at `path` (a directory may share a revision's name). */
async function isNonDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => !s.isDirectory(),
    () => false,
  );
}

/** A lock from a file path if one exists there, else from a git revision of the flake's repository. */
export async function loadSide(
  spec: string,
  cwd: string,
  getFlake: () => Promise<FlakeLocation>,
  git: Git,
): Promise<LockSide> {
  const asPath = resolve(cwd, spec);
  if (await isNonDirectory(asPath)) {
    const text = await readUserFile(asPath, { hint: LOCK_FILE_HINT });
    if (text !== undefined) return { label: spec, lock: parseFlakeLock(text, asPath) };
  }
  const flake = await getFlake();
  if (flake.gitRoot === undefined || flake.lockPathInRepo === undefined) {
    throw new InputError(
      `${spec} is not a file, and ${flake.dir} is not in a git repository to look it up as a revision.`,
      {
        hint: "Pass two lock files, or run inside the flake's git repository.",
      },
    );
  }
  if (!(await git.isRevision(flake.gitRoot, spec))) {
    throw new InputError(`${spec} is neither a lock file nor a git revision.`, {
      hint: "Name a commit (HEAD, HEAD~1, a branch, a hash) or a path to a flake.lock.",
    });
  }
  const text = await git.showFile(flake.gitRoot, spec, flake.lockPathInRepo);
  if (text === undefined) {
    throw new InputError(`${flake.lockPathInRepo} does not exist at ${spec}.`, {
      hint: "Pick a revision that has a committed flake.lock, or pass a lock file.",
    });
  }
  return { label: spec, lock: parseFlakeLock(text, `${spec}:${flake.lockPathInRepo}`) };
}
