/** A throwaway copy of a flake, for computing a new lock without touching the user's files. */
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { Git } from "../../git/git.js";
import type { FlakeLocation } from "../flake.js";

export interface FlakeCopy {
  /** The copy's flake directory (same position inside the copied repository). */
  dir: string;
  remove(): Promise<void>;
}

/**
 * Copy what Nix would see of the flake: in a git work tree, the tracked and untracked-not-ignored
 * files of the whole repository (a flake may import files outside its directory), committed to a
 * fresh repository; otherwise the flake directory. Relative `path:` inputs that point outside the
 * repository do not resolve in the copy.
 */
export async function copyFlake(flake: FlakeLocation, git: Git): Promise<FlakeCopy> {
  const root = await mkdtemp(join(tmpdir(), "ternix-flake-"));
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    if (flake.gitRoot !== undefined) {
      const repo = join(root, "repo");
      const files = await git.listFiles(flake.gitRoot);
      for (const file of files) {
        const target = join(repo, file);
        await mkdir(dirname(target), { recursive: true });
        await cp(join(flake.gitRoot, file), target, {
          verbatimSymlinks: true,
          recursive: true,
          force: true,
        }).catch((error: NodeJS.ErrnoException) => {
          // A file git lists but the work tree lacks (deleted, not yet staged) is not part of the flake.
          if (error.code !== "ENOENT") throw error;
        });
      }
      await git.check("preparing a copy of the flake failed", ["-C", repo, "init", "--quiet"], {});
      await git.check("preparing a copy of the flake failed", ["-C", repo, "add", "--all"]);
      return { dir: join(repo, relative(flake.gitRoot, flake.dir)), remove };
    }
    const dir = join(root, "flake");
    await cp(flake.dir, dir, { recursive: true, verbatimSymlinks: true });
    return { dir, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
