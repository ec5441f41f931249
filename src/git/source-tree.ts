/**
 * The source tree a flake was evaluated from, as git's own tree id, with one file (the host
 * manifest) left out: `ternix plan --manifest` and `ternix upgrade --prebuilt` compare these.
 *
 * Why a git tree id rather than `nix hash path` of a filtered copy: it is what git already
 * computes (no copy of the repository), it is exactly "these files with these contents and modes"
 * (the same id after a merge commit, a squash or a rebase that yield the same files), it covers the
 * whole repository as Nix's git fetcher does (a flake in a subdirectory may read `../`), and the
 * host computes it from its bare clone without a checkout. Built in a temporary index
 * (GIT_INDEX_FILE); the user's index, work tree and refs are never touched (blobs of modified files
 * are written to the object store, as `git add` would).
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { gitOk, type RepoContext } from "./remote-branch.js";

export type TreeSource =
  /** A commit of the repository (a bare clone works). */
  | { commit: string }
  /** What Nix evaluates in a git work tree: the tracked files with their working contents. */
  | { workTree: true };

export interface SourceTreeOptions {
  /** Files whose content is replaced (e.g. flake.lock with the updated lock), repository-relative. */
  replace?: readonly { path: string; content: string }[] | undefined;
  /** The repository-relative path left out of the tree (the manifest). */
  without: string;
}

export async function sourceTreeId(
  ctx: RepoContext,
  source: TreeSource,
  options: SourceTreeOptions,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ternix-tree-"));
  const index = join(dir, "index");
  const emptyWorkTree = join(dir, "empty");
  const indexCtx: RepoContext = { ...ctx, env: { ...ctx.env, GIT_INDEX_FILE: index } };
  try {
    await mkdir(emptyWorkTree);
    const gitDir = (
      await gitOk(ctx, "finding the git directory failed", ["rev-parse", "--absolute-git-dir"])
    ).stdout.trim();
    // Index edits that need no work tree, also in a bare clone: an empty one is named.
    const plumbing = ["--git-dir", gitDir, "--work-tree", emptyWorkTree];
    if ("commit" in source) {
      await gitOk(indexCtx, "reading the commit's tree failed", ["read-tree", source.commit]);
    } else {
      const pathOut = (
        await gitOk(ctx, "finding the git index failed", ["rev-parse", "--git-path", "index"])
      ).stdout.trim();
      const realIndex = isAbsolute(pathOut) ? pathOut : join(ctx.repo, pathOut);
      await copyFile(realIndex, index).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
      // Tracked files as they are in the work tree (deletions included); untracked ones stay out,
      // as they do for Nix.
      await gitOk(indexCtx, "reading the work tree failed", ["add", "--update", "--", "."]);
    }
    for (const file of options.replace ?? []) {
      const blob = await gitOk(
        ctx,
        `storing ${file.path} failed`,
        ["hash-object", "-w", "--stdin", `--path=${file.path}`],
        { input: file.content },
      );
      await gitOk(
        indexCtx,
        `staging ${file.path} failed`,
        ["update-index", "--add", "--cacheinfo", `100644,${blob.stdout.trim()},${file.path}`],
        { prefix: plumbing },
      );
    }
    await gitOk(
      indexCtx,
      `leaving ${options.without} out of the tree failed`,
      ["update-index", "--force-remove", "--", options.without],
      { prefix: plumbing },
    );
    return (await gitOk(indexCtx, "writing the tree failed", ["write-tree"])).stdout.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
