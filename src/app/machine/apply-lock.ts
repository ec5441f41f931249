/**
 * One apply at a time: `<state dir>/apply.lock`, created with O_EXCL and holding the owner's pid.
 * A lock whose pid is gone (a crash, a kill -9) is taken over; a live one fails clearly or, with
 * `wait`, is waited for.
 */
import { randomBytes } from "node:crypto";
import { link, lstat, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { TernixError } from "../../errors.js";
import type { Effects } from "../effects.js";
import type { SystemEffects } from "./system-effects.js";

export interface ApplyLock {
  path: string;
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  command: string;
  since: string;
  /** Tells two locks of one process apart, so a release never removes another run's lock. */
  token?: string;
}

export interface AcquireOptions {
  path: string;
  /** What holds the lock, shown to whoever waits for it (e.g. `switch web`). */
  command: string;
  wait: boolean;
  /** How often a waiting process looks again. */
  pollMs?: number | undefined;
  /** The same mechanism guards other things (a flake's files): how messages name the lock and its flag. */
  describe?: LockDescription | undefined;
}

export interface LockDescription {
  /** "apply lock" */
  name: string;
  /** "changing this system" */
  activity: string;
  /** "pass --wait to queue behind it" */
  waitHint: string;
}

const APPLY_LOCK: LockDescription = {
  name: "apply lock",
  activity: "changing this system",
  waitHint: "pass --wait to queue behind it",
};

export class ApplyLockedError extends TernixError {}

/**
 * How many times in a row the lock may vanish or be taken over between our attempts before we give
 * up: each such round is a race with another run, which cannot go on for long unless the lock path
 * is unusable (e.g. a directory, which `link` reports as existing and `readFile` cannot read).
 */
const MAX_RACES = 50;

function unusableLock(path: string, why: string): TernixError {
  return new TernixError(`cannot use the apply lock ${path}: ${why}.`, {
    hint: `Remove or move aside what is at ${path} (it must be a regular file Ternix creates), or point the state directory elsewhere.`,
  });
}

export async function acquireApplyLock(
  options: AcquireOptions,
  deps: { effects: Effects; system: Pick<SystemEffects, "pid" | "isPidAlive" | "sleep"> },
): Promise<ApplyLock> {
  const { effects, system } = deps;
  const describe = options.describe ?? APPLY_LOCK;
  const owner: LockOwner = {
    pid: system.pid,
    command: options.command,
    since: effects.now().toISOString(),
    token: randomBytes(6).toString("hex"),
  };
  const content = `${JSON.stringify(owner)}\n`;
  try {
    await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
  } catch (error) {
    throw unusableLock(options.path, `cannot create its directory (${errorCode(error)})`);
  }
  let announced = false;
  let races = 0;
  while (!(await createComplete(options.path, content))) {
    if (++races > MAX_RACES) throw unusableLock(options.path, "it keeps changing under us");
    const info = await lstat(options.path).catch(() => undefined);
    if (info !== undefined && !info.isFile()) throw unusableLock(options.path, "it is not a regular file");
    const text = await readFile(options.path, "utf8").catch(() => undefined);
    if (text === undefined) continue; // Released between our attempt and the read: try again.
    const holder = parseLockOwner(text);
    if (holder === undefined || !system.isPidAlive(holder.pid)) {
      await takeOver(options.path, text);
      effects.onEvent({
        type: "log",
        level: "warn",
        message: `took over a stale ${describe.name}${holder ? ` of pid ${holder.pid} (${holder.command}, since ${holder.since})` : ""}; that run did not finish.`,
      });
      continue;
    }
    const who = `pid ${holder.pid} (\`ternix ${holder.command}\`, since ${holder.since})`;
    if (!options.wait) {
      throw new ApplyLockedError(`another Ternix run is ${describe.activity}: ${who}.`, {
        hint: `Wait for it to finish, or ${describe.waitHint}. If no such process exists, remove ${options.path}.`,
      });
    }
    races = 0;
    if (!announced) {
      effects.onEvent({ type: "log", level: "info", message: `Waiting for ${who} to finish…` });
      announced = true;
    }
    await system.sleep(options.pollMs ?? 1000);
  }

  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    unregister();
    // Remove it only while it is still ours.
    const now = await readFile(options.path, "utf8").catch(() => undefined);
    if (now === content) await unlink(options.path).catch(() => undefined);
  };
  const unregister = effects.cleanup.add(release);
  return { path: options.path, release };
}

/**
 * Create the lock with its content in one step: write a private file, then hard-link it to the lock
 * path (which fails if the lock exists), so nobody ever reads a half-written lock.
 */
async function createComplete(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.new-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, content, { flag: "wx", mode: 0o644 });
  } catch (error) {
    throw unusableLock(path, `cannot write next to it (${errorCode(error)})`);
  }
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw unusableLock(path, `cannot create it (${errorCode(error)})`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** The owner a lock file names (also a deploy target's, read over ssh); undefined: unreadable. */
export function parseLockOwner(text: string): LockOwner | undefined {
  try {
    const data = JSON.parse(text) as Partial<LockOwner>;
    if (typeof data.pid !== "number" || !Number.isSafeInteger(data.pid) || data.pid <= 0) return undefined;
    return { pid: data.pid, command: String(data.command ?? "?"), since: String(data.since ?? "?") };
  } catch {
    return undefined;
  }
}

/**
 * Remove a stale lock without removing a fresh one another process created in the meantime: move
 * it aside (atomic), and if what moved is not the stale lock we read, put it back.
 */
async function takeOver(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== staleText) {
    // A live lock: restore it unless yet another one appeared (link fails if the path exists).
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}
