/** Finding the user's flake and reading its lock. */
import { basename, dirname, join, relative, resolve } from "node:path";
import { InputError } from "../errors.js";
import type { Git } from "../git/git.js";
import { pathExists, readUserFile } from "../proc/files.js";

/** What to do about a flake.lock that is not a regular file. */
export const LOCK_FILE_HINT =
  "A flake.lock must be a regular file: move this one aside and regenerate it with `nix flake lock` (or `git checkout flake.lock`).";

export interface FlakeLocation {
  /** Absolute directory holding flake.nix. */
  dir: string;
  lockPath: string;
  /** The git work tree the flake lives in, if any. */
  gitRoot: string | undefined;
  /** flake.lock's path relative to gitRoot (for `git show REV:PATH`). */
  lockPathInRepo: string | undefined;
}

/**
 * The flake in `dirArg` (must hold flake.nix), or, when no directory was given, the nearest directory
 * from `cwd` upwards that holds one (as `nix` does for `.`), stopping at the git root.
 */
export async function locateFlake(dirArg: string | undefined, cwd: string, git: Git): Promise<FlakeLocation> {
  let start = resolve(cwd, dirArg ?? ".");
  // `--flake ./flake.nix` names the file; the flake is its directory.
  if (dirArg !== undefined && basename(start) === "flake.nix") start = dirname(start);
  if (!(await pathExists(start))) {
    throw new InputError(`${start} does not exist.`, {
      hint: "Pass --flake DIR with the directory that holds flake.nix.",
    });
  }
  const gitRoot = await git.toplevel(start);
  let dir = start;
  while (!(await pathExists(join(dir, "flake.nix")))) {
    const parent = dirname(dir);
    if (dirArg !== undefined || parent === dir || (gitRoot !== undefined && dir === gitRoot)) {
      throw new InputError(`no flake.nix in ${start}.`, {
        hint: "Run Ternix inside your flake or pass --flake DIR (the directory that holds flake.nix).",
      });
    }
    dir = parent;
  }
  const lockPath = join(dir, "flake.lock");
  return {
    dir,
    lockPath,
    gitRoot,
    lockPathInRepo: gitRoot === undefined ? undefined : relative(gitRoot, lockPath),
  };
}

/** flake.lock's text, or a clear error when there is none. */
export async function readLockText(flake: FlakeLocation): Promise<string> {
  const text = await readUserFile(flake.lockPath, { hint: LOCK_FILE_HINT });
  if (text === undefined) {
    throw new InputError(`no flake.lock in ${flake.dir}.`, {
      hint: "Create it with `nix flake lock` and commit it; Ternix reviews changes to an existing lock.",
    });
  }
  return text;
}
