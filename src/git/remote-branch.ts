/**
 * Git plumbing for `ternix pr`: read a remote's branches, fetch them into private refs, build a
 * commit that changes one file on top of a remote branch, and push it with a lease. Nothing here
 * touches the user's HEAD, index, work tree or branches: objects go into the object store, a
 * temporary index file is used, and the private refs are deleted again.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitError } from "../errors.js";
import type { RunOptions, RunResult } from "../proc/run.js";
import { identityArgs, type Git } from "./git.js";

export interface RepoContext {
  git: Git;
  /** The work tree's top-level directory. */
  repo: string;
  /** The environment git runs in (extended with GIT_INDEX_FILE for the temporary index). */
  env: NodeJS.ProcessEnv;
  /** Applied to every message, argument and stderr that can reach an error (tokens in remote URLs). */
  redact?: ((text: string) => string) | undefined;
}

/** Runs git in the repository; a non-zero exit is a `GitError` with redacted text. */
export async function gitOk(
  ctx: RepoContext,
  what: string,
  args: readonly string[],
  options: RunOptions & { prefix?: readonly string[]; hint?: string } = {},
): Promise<RunResult> {
  const { prefix = [], hint, ...runOptions } = options;
  const result = await ctx.git.call([...prefix, "-C", ctx.repo, ...args], { env: ctx.env, ...runOptions });
  if (result.exitCode !== 0) throw gitError(ctx, what, result, hint);
  return result;
}

export function gitError(ctx: RepoContext, what: string, result: RunResult, hint?: string): GitError {
  const redact = ctx.redact ?? ((s: string) => s);
  const first = result.stderr.split("\n").find((l) => /^(fatal|error|remote):/.test(l.trim()));
  const message = first ? `${what}: ${first.trim().replace(/^(fatal|error):\s*/, "")}` : what;
  return new GitError(redact(message), result.argv.map(redact), result.exitCode, redact(result.stderr), {
    hint: redact(hint ?? "Run with --verbose to see git's output."),
  });
}

export interface LsRemote {
  /** Symbolic refs, e.g. `HEAD` → `refs/heads/main`. */
  symrefs: Map<string, string>;
  /** Ref name → object id. */
  refs: Map<string, string>;
}

/** Parses `git ls-remote --symref` output. */
export function parseLsRemote(stdout: string): LsRemote {
  const symrefs = new Map<string, string>();
  const refs = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const symref = /^ref:\s*(\S+)\t(\S+)$/.exec(line);
    if (symref?.[1] !== undefined && symref[2] !== undefined) {
      symrefs.set(symref[2], symref[1]);
      continue;
    }
    const ref = /^([0-9a-f]{40}|[0-9a-f]{64})\t(\S+)$/.exec(line);
    if (ref?.[1] !== undefined && ref[2] !== undefined) refs.set(ref[2], ref[1]);
  }
  return { symrefs, refs };
}

/** `HEAD` and the given refs of a remote (one network round trip, nothing fetched). */
export async function lsRemote(ctx: RepoContext, remote: string, refs: readonly string[]): Promise<LsRemote> {
  const result = await gitOk(
    ctx,
    `reading the branches of ${remote} failed`,
    ["ls-remote", "--symref", remote, "HEAD", ...refs],
    {
      hint: `Check that the remote ${remote} is reachable and that its credentials can read it (\`git ls-remote ${remote}\`).`,
    },
  );
  return parseLsRemote(result.stdout);
}

export interface FetchedRefs {
  /** Branch name → the commit fetched. */
  commits: Map<string, string>;
  /** Deletes the private refs again. */
  remove(): Promise<void>;
}

/**
 * Fetches branches into private refs (`refs/ternix/tmp/…`) rather than FETCH_HEAD or remote-tracking
 * branches, so their commits stay reachable while we work and concurrent runs do not collide.
 */
export async function fetchBranches(
  ctx: RepoContext,
  remote: string,
  branches: readonly string[],
): Promise<FetchedRefs> {
  const id = randomBytes(6).toString("hex");
  const privateRef = (i: number) => `refs/ternix/tmp/${id}/${i}`;
  const remove = async () => {
    for (let i = 0; i < branches.length; i++)
      // An undo step: it also runs while an interrupt unwinds the command.
      await ctx.git.call(["-C", ctx.repo, "update-ref", "-d", privateRef(i)], {
        env: ctx.env,
        cleanup: true,
      });
  };
  try {
    await gitOk(
      ctx,
      `fetching ${branches.join(", ")} from ${remote} failed`,
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-recurse-submodules",
        remote,
        ...branches.map((b, i) => `+refs/heads/${b}:${privateRef(i)}`),
      ],
      { hint: `Check that ${remote} is reachable and that its credentials can read it.` },
    );
    const commits = new Map<string, string>();
    for (const [i, branch] of branches.entries()) commits.set(branch, await revParse(ctx, privateRef(i)));
    return { commits, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

export async function revParse(ctx: RepoContext, rev: string): Promise<string> {
  const result = await gitOk(ctx, `git rev-parse ${rev} failed`, ["rev-parse", "--verify", "--quiet", rev]);
  return result.stdout.trim();
}

/** The file's content at a commit, or undefined when the commit has no such file. */
export async function fileAt(ctx: RepoContext, commit: string, path: string): Promise<string | undefined> {
  const result = await ctx.git.call(["-C", ctx.repo, "cat-file", "blob", `${commit}:${path}`], {
    env: ctx.env,
  });
  return result.exitCode === 0 ? result.stdout : undefined;
}

export interface FileCommitRequest {
  parent: string;
  /** Path relative to the repository root, `/`-separated. */
  path: string;
  content: string;
  message: string;
  /** Further files changed in the same commit (e.g. the host manifest), repository-relative. */
  also?: readonly { path: string; content: string }[] | undefined;
}

export interface FileCommit {
  /** Undefined when the content is already what `parent` has. */
  commit: string | undefined;
  tree: string;
}

/**
 * A commit with `parent` as its only parent whose tree is the parent's with `path` replaced by
 * `content`. Built with a temporary index (GIT_INDEX_FILE) and `commit-tree`, so the user's index
 * and work tree are never read or written. The user's identity and signing settings apply;
 * `-c user.name/email` is added only when they are unset (CI). Commit hooks do not run.
 */
export async function commitFileOnto(ctx: RepoContext, request: FileCommitRequest): Promise<FileCommit> {
  const dir = await mkdtemp(join(tmpdir(), "ternix-index-"));
  const indexCtx: RepoContext = { ...ctx, env: { ...ctx.env, GIT_INDEX_FILE: join(dir, "index") } };
  try {
    await gitOk(indexCtx, "reading the base tree failed", ["read-tree", request.parent]);
    for (const file of [{ path: request.path, content: request.content }, ...(request.also ?? [])]) {
      const mode = await fileMode(ctx, request.parent, file.path);
      const blob = await gitOk(
        ctx,
        `storing ${file.path} failed`,
        ["hash-object", "-w", "--stdin", `--path=${file.path}`],
        {
          input: file.content,
        },
      );
      await gitOk(indexCtx, `staging ${file.path} in the temporary index failed`, [
        "update-index",
        "--add",
        "--cacheinfo",
        `${mode},${blob.stdout.trim()},${file.path}`,
      ]);
    }
    const tree = (await gitOk(indexCtx, "writing the tree failed", ["write-tree"])).stdout.trim();
    const parentTree = await revParse(ctx, `${request.parent}^{tree}`);
    if (tree === parentTree) return { commit: undefined, tree };
    const identity = await identityArgs(ctx.git, ctx.repo);
    const commit = await gitOk(
      ctx,
      "creating the commit failed",
      ["commit-tree", tree, "-p", request.parent, "-F", "-"],
      {
        prefix: identity,
        input: request.message,
        hint: "Check your git signing settings (commit.gpgSign, user.signingKey); run with --verbose for git's output.",
      },
    );
    return { commit: commit.stdout.trim(), tree };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file's mode at a commit (keeps an executable or odd mode), 100644 for a new file. */
async function fileMode(ctx: RepoContext, commit: string, path: string): Promise<string> {
  const result = await ctx.git.call(["-C", ctx.repo, "ls-tree", "-z", commit, "--", path], { env: ctx.env });
  const mode = /^(\d{6}) blob /.exec(result.stdout)?.[1];
  return result.exitCode === 0 && mode !== undefined ? mode : "100644";
}

/**
 * Non-merge commits between `base` and `tip` that change anything besides `path`: work someone
 * else added to the branch, which rebuilding it from the base would throw away. Merge commits are
 * allowed (a forge's "update branch" button makes them).
 */
export async function foreignCommits(
  ctx: RepoContext,
  base: string,
  tip: string,
  path: string | readonly string[],
): Promise<string[]> {
  const own = new Set(typeof path === "string" ? [path] : path);
  const result = await gitOk(ctx, "listing the update branch's commits failed", [
    "log",
    "--no-merges",
    "--no-renames",
    "--format=%x00%H",
    "--name-only",
    `${base}..${tip}`,
  ]);
  const foreign: string[] = [];
  for (const chunk of result.stdout.split("\0").slice(1)) {
    const [sha = "", ...files] = chunk.split("\n").filter((l) => l.length > 0);
    if (files.length === 0 || files.some((f) => !own.has(f))) foreign.push(sha);
  }
  return foreign;
}

/** Whether `tip` is exactly one commit on `parent` with this tree and message (nothing to push). */
export async function isSameCommit(
  ctx: RepoContext,
  tip: string,
  expected: { parent: string; tree: string; message: string },
): Promise<boolean> {
  const result = await gitOk(ctx, "reading the update branch failed", [
    "log",
    "-1",
    "--format=%T %P%n%B",
    tip,
  ]);
  const [header = "", ...message] = result.stdout.split("\n");
  const [tree, ...parents] = header.trim().split(" ");
  return (
    tree === expected.tree &&
    parents.length === 1 &&
    parents[0] === expected.parent &&
    message.join("\n").trim() === expected.message.trim()
  );
}

export class LeaseError extends GitError {}

/**
 * `git push REMOTE COMMIT:refs/heads/BRANCH` with `--force-with-lease=refs/heads/BRANCH:<expected>`:
 * the push replaces the branch only if it is still at `expected` (absent when undefined), so a
 * commit someone pushed meanwhile is never overwritten.
 */
export async function pushWithLease(
  ctx: RepoContext,
  remote: string,
  commit: string,
  branch: string,
  expected: string | undefined,
): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const args = [
    "push",
    "--quiet",
    "--porcelain",
    `--force-with-lease=${ref}:${expected ?? ""}`,
    remote,
    `${commit}:${ref}`,
  ];
  const result = await ctx.git.call(["-C", ctx.repo, ...args], { env: ctx.env });
  if (result.exitCode === 0) return;
  const output = `${result.stdout}\n${result.stderr}`;
  // A lease that no longer holds is reported as "[rejected] (stale info)" (git push --porcelain).
  if (/\(stale info\)/.test(output)) {
    const redact = ctx.redact ?? ((s: string) => s);
    throw new LeaseError(
      redact(
        `${branch} on ${remote} changed while Ternix was working (someone else pushed to it); nothing was overwritten`,
      ),
      result.argv.map(redact),
      result.exitCode,
      redact(output),
      {
        hint: `Run \`ternix pr\` again. If people push to ${branch}, let Ternix use its own branch (--branch).`,
      },
    );
  }
  throw gitError(
    ctx,
    `pushing ${branch} to ${remote} failed`,
    result,
    `Check that the credentials for ${remote} may push to ${branch} (in CI: the checkout's token needs contents: write), and that no branch protection rule covers it.`,
  );
}

/** Deletes the user info (often a token) from every URL in `text`, for messages. */
export function redactRemoteUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1");
}
