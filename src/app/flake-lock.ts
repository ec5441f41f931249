/**
 * One Ternix run at a time changes a flake's files: `update`, `plan` (which swaps flake.lock while it
 * builds) and `pr` take this lock, so a second run cannot have its update reverted by the first one's
 * restore, or plan against a lock that is half-way through someone else's plan. It is the apply lock's
 * mechanism (pid, stale takeover, wait) on a per-flake path.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Git } from "../git/git.js";
import { userCacheDir } from "./closure-cache.js";
import type { Effects } from "./effects.js";
import type { FlakeLocation } from "./flake.js";
import { acquireApplyLock, type ApplyLock } from "./machine/apply-lock.js";
import type { SystemEffects } from "./machine/system-effects.js";

export interface FlakeLockOptions {
  /** What takes the lock, shown to a run that waits for it (e.g. `plan`). */
  command: string;
  /** Wait for a running holder (default) rather than fail at once (`--no-wait`). */
  wait: boolean;
  pollMs?: number | undefined;
}

export interface FlakeLockDeps {
  git: Git;
  effects: Effects;
  system: Pick<SystemEffects, "pid" | "isPidAlive" | "sleep">;
}

/**
 * Where the lock lives: in a git work tree, inside its git directory (`<git-dir>/ternix-flake.lock`:
 * shared by every user of the checkout, never part of the flake's source, never in `git status`);
 * otherwise in the user's cache, named by a hash of the flake's directory.
 */
export async function flakeLockPath(flake: FlakeLocation, deps: Pick<FlakeLockDeps, "git" | "effects">) {
  if (flake.gitRoot !== undefined) {
    const gitDir = await deps.git.check("finding the repository's git directory failed", [
      "-C",
      flake.gitRoot,
      "rev-parse",
      "--absolute-git-dir",
    ]);
    return join(gitDir.stdout.trim(), "ternix-flake.lock");
  }
  const id = createHash("sha256").update(flake.dir).digest("hex").slice(0, 32);
  return join(userCacheDir(deps.effects.env), "flake-locks", `${id}.lock`);
}

export async function acquireFlakeLock(
  flake: FlakeLocation,
  options: FlakeLockOptions,
  deps: FlakeLockDeps,
): Promise<ApplyLock> {
  return acquireApplyLock(
    {
      path: await flakeLockPath(flake, deps),
      command: options.command,
      wait: options.wait,
      pollMs: options.pollMs,
      describe: {
        name: "flake lock",
        activity: `changing the flake in ${flake.dir}`,
        waitHint: "run without --no-wait to queue behind it",
      },
    },
    deps,
  );
}

/** Run `fn` holding the flake's lock; it is released however `fn` ends (and by cleanup on a signal). */
export async function withFlakeLock<T>(
  flake: FlakeLocation,
  options: FlakeLockOptions,
  deps: FlakeLockDeps,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireFlakeLock(flake, options, deps);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
