/** The git adapter: every git call Ternix makes, as argument arrays, failures as `GitError`. */
import { GitError, InputError } from "../errors.js";
import { CommandNotFoundError, type Run, type RunOptions, type RunResult } from "../proc/run.js";

export interface Git {
  /** Run git and return the result whatever the exit code. */
  call(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  check(what: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** The repository's top-level directory, or undefined when `dir` is not in a git work tree. */
  toplevel(dir: string): Promise<string | undefined>;
  /** Like toplevel, but an error saying git is needed when `dir` is not in a repository. */
  requireToplevel(dir: string, why: string): Promise<string>;
  /** A file's content at a revision (`git show REV:PATH`), or undefined when it does not exist there. */
  showFile(repo: string, rev: string, pathInRepo: string): Promise<string | undefined>;
  /** Whether REV names a commit in the repository. */
  isRevision(repo: string, rev: string): Promise<boolean>;
  /** `git status --porcelain` lines for the given paths (all paths when none). */
  status(repo: string, paths?: readonly string[]): Promise<string[]>;
  /** Files tracked or untracked-but-not-ignored under dir, relative to dir. */
  listFiles(dir: string): Promise<string[]>;
}

export function createGit(run: Run, env: NodeJS.ProcessEnv): Git {
  const call: Git["call"] = async (args, options = {}) => {
    try {
      return await run("git", args, { env, ...options });
    } catch (error) {
      if (error instanceof CommandNotFoundError) {
        throw new InputError("git is not installed (no `git` on PATH).", {
          hint: "Install git (`apt-get install -y git`); flakes in git repositories need it.",
          cause: error,
        });
      }
      throw error;
    }
  };
  const check: Git["check"] = async (what, args, options) => {
    const result = await call(args, options);
    if (result.exitCode !== 0) {
      const first = result.stderr.split("\n").find((l) => /^(fatal|error):/.test(l.trim()));
      throw new GitError(
        first ? `${what}: ${first.replace(/^(fatal|error):\s*/, "")}` : what,
        result.argv,
        result.exitCode,
        result.stderr,
        {
          hint: "Run with --verbose to see git's output.",
        },
      );
    }
    return result;
  };
  const toplevel: Git["toplevel"] = async (dir) => {
    const result = await call(["-C", dir, "rev-parse", "--show-toplevel"]);
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  };
  return {
    call,
    check,
    toplevel,
    async requireToplevel(dir, why) {
      const top = await toplevel(dir);
      if (top === undefined) {
        throw new InputError(`${dir} is not in a git repository, and ${why} needs one.`, {
          hint: "Run `git init` and commit your flake, or pass lock files instead of revisions.",
        });
      }
      return top;
    },
    async showFile(repo, rev, pathInRepo) {
      const result = await call(["-C", repo, "show", `${rev}:${pathInRepo}`]);
      return result.exitCode === 0 ? result.stdout : undefined;
    },
    async isRevision(repo, rev) {
      const result = await call(["-C", repo, "rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
      return result.exitCode === 0;
    },
    async status(repo, paths = []) {
      const result = await check("git status failed", ["-C", repo, "status", "--porcelain", "--", ...paths]);
      return result.stdout.split("\n").filter((l) => l.length > 0);
    },
    async listFiles(dir) {
      const result = await check("listing the flake's files failed", [
        "-C",
        dir,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
      ]);
      return result.stdout.split("\0").filter((l) => l.length > 0);
    },
  };
}

/** Name and email for commits when the user's git configuration has none (CI runners). */
export const FALLBACK_IDENTITY = { name: "Ternix", email: "ternix@localhost" } as const;

/**
 * `-c user.name=… -c user.email=…` only for what the user's configuration lacks, so their identity,
 * signing and hooks stay theirs.
 */
export async function identityArgs(git: Git, repo: string): Promise<string[]> {
  const args: string[] = [];
  for (const [key, fallback] of [
    ["user.name", FALLBACK_IDENTITY.name],
    ["user.email", FALLBACK_IDENTITY.email],
  ] as const) {
    const result = await git.call(["-C", repo, "config", "--get", key]);
    if (result.exitCode !== 0 || result.stdout.trim() === "") args.push("-c", `${key}=${fallback}`);
  }
  return args;
}

/** Commit exactly one file (adding it if untracked) with the message; returns the new commit id. */
export async function commitFile(
  git: Git,
  repo: string,
  pathInRepo: string,
  message: string,
): Promise<string> {
  const identity = await identityArgs(git, repo);
  await git.check("git add failed", ["-C", repo, "add", "--", pathInRepo]);
  await git.check("git commit failed", [
    ...identity,
    "-C",
    repo,
    "commit",
    "--quiet",
    "--only",
    "-m",
    message,
    "--",
    pathInRepo,
  ]);
  const head = await git.check("git rev-parse failed", ["-C", repo, "rev-parse", "HEAD"]);
  return head.stdout.trim();
}
