/**
 * The apply lock of a deploy target, taken over SSH with the SAME lock-file protocol as
 * apply-lock.ts (`<state dir>/apply.lock`, created whole with a hard link, holding
 * `{"pid":…,"command":…,"since":…,"token":…}`; a lock whose pid is gone is taken over), so a
 * `deploy` and a `ternix switch`/`upgrade` on the host cannot interleave.
 *
 * The pid in the lock must stay alive on the host while the deploy holds it (a local run takes a
 * dead pid for a crash), so one small remote script both takes the lock and keeps it: it prints
 * `locked`, then waits until its stdin ends — Ternix ends it to release; if Ternix or the
 * connection dies, ssh closes it too — and removes the lock only while it is still its own.
 * Its data (path, the owner JSON around the pid) travel as positional arguments.
 */
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import type { Run, RunResult } from "../../proc/run.js";
import { SSH_FAILURE_EXIT } from "../../remote/ssh.js";
import type { Effects } from "../effects.js";
import { parseLockOwner, type ApplyLock } from "./apply-lock.js";

/** Exit codes of REMOTE_LOCK_SCRIPT when it does not take the lock. */
const HELD_EXIT = 4;
const UNUSABLE_EXIT = 3;

/**
 * `$1` the lock path, `$2` `$3` the owner JSON before and after the pid. Prints `stale JSON` for a
 * lock taken over, `busy JSON` (exit 4) for a live one, `unusable WHY` (exit 3), or `locked`, then
 * holds until stdin ends. Alive: `kill -0`, or /proc/PID for another user's process (as
 * apply-lock.ts counts EPERM as alive).
 */
export const REMOTE_LOCK_SCRIPT = [
  'lock="$1"; tmp="$lock.new-$$"; aside="$lock.stale-$$"',
  'mkdir -p -- "$(dirname -- "$lock")" 2>/dev/null || { echo "unusable cannot create its directory"; exit 3; }',
  `printf '%s%s%s\\n' "$2" "$$" "$3" > "$tmp" 2>/dev/null || { echo "unusable cannot write next to it"; exit 3; }`,
  'mine=$(cat -- "$tmp"); races=0',
  // A directory or a symlink first: `ln` would put the link inside it.
  "while :; do",
  '  if [ -L "$lock" ] || { [ -e "$lock" ] && [ ! -f "$lock" ]; }; then rm -f -- "$tmp"; echo "unusable it is not a regular file"; exit 3; fi',
  '  ln -- "$tmp" "$lock" 2>/dev/null && break',
  "  races=$((races + 1))",
  '  [ "$races" -gt 50 ] && { rm -f -- "$tmp"; echo "unusable it keeps changing under us"; exit 3; }',
  '  [ -e "$lock" ] || continue',
  '  held=$(cat -- "$lock" 2>/dev/null) || continue',
  `  pid=$(printf '%s\\n' "$held" | sed -n 's/^{"pid":\\([1-9][0-9]*\\),.*/\\1/p')`,
  '  if [ -n "$pid" ] && { kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; }; then',
  '    rm -f -- "$tmp"; printf "busy %s\\n" "$held"; exit 4',
  "  fi",
  '  mv -f -- "$lock" "$aside" 2>/dev/null || continue',
  // What moved may be a new live lock: put it back (unless yet another one appeared).
  '  if [ "$(cat -- "$aside" 2>/dev/null)" = "$held" ]; then printf "stale %s\\n" "$held"; else ln -- "$aside" "$lock" 2>/dev/null; fi',
  '  rm -f -- "$aside"',
  "done",
  'rm -f -- "$tmp"',
  'trap \'[ "$(cat -- "$lock" 2>/dev/null)" = "$mine" ] && rm -f -- "$lock"\' EXIT',
  "trap 'exit 1' HUP INT TERM PIPE",
  "echo locked",
  "while read -r _; do :; done",
  "exit 0",
].join("\n");

export type RemoteLockResult = { ok: true; lock: ApplyLock } | { ok: false; reason: string };

export interface RemoteLockOptions {
  /** The lock path on the host (lockFilePath of its paths). */
  path: string;
  /** What holds it, shown to whoever meets it (a local run says "`ternix deploy`"). */
  command: string;
  /** The host's name, for messages. */
  host: string;
}

/**
 * Take the host's apply lock through `run` (an ssh Run; tests pass a local one). Held by another
 * live run, unusable, or unreachable: a result with the reason. The lock is released by
 * `release()` and by the effects' cleanup (Ctrl-C).
 */
export async function acquireRemoteApplyLock(
  run: Run,
  options: RemoteLockOptions,
  effects: Pick<Effects, "now" | "onEvent" | "cleanup">,
): Promise<RemoteLockResult> {
  const rest = JSON.stringify({
    command: options.command,
    since: effects.now().toISOString(),
    token: randomBytes(6).toString("hex"),
  });
  const stdin = new PassThrough();
  let onLocked: () => void = () => undefined;
  const locked = new Promise<"locked">((resolve) => (onLocked = () => resolve("locked")));
  const done = run("sh", ["-c", REMOTE_LOCK_SCRIPT, "sh", options.path, '{"pid":', `,${rest.slice(1)}`], {
    input: stdin,
    onStdoutLine: (line) => {
      if (line === "locked") onLocked();
      else if (line.startsWith("stale ")) {
        const holder = parseLockOwner(line.slice(6));
        effects.onEvent({
          type: "log",
          level: "warn",
          message: `${options.host}: took over a stale apply lock${holder ? ` of pid ${holder.pid} (${holder.command}, since ${holder.since})` : ""}; that run did not finish.`,
        });
      }
    },
  });
  let first: "locked" | RunResult;
  try {
    first = await Promise.race([locked, done]);
  } catch (error) {
    stdin.end();
    throw error;
  }
  if (first !== "locked") {
    stdin.end();
    return { ok: false, reason: notLockedReason(first, options) };
  }
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    unregister();
    stdin.end();
    await done.catch(() => undefined);
  };
  const unregister = effects.cleanup.add(release);
  return { ok: true, lock: { path: options.path, release } };
}

function notLockedReason(r: RunResult, options: RemoteLockOptions): string {
  const out = r.stdout.trim().split("\n");
  const busy = out.find((l) => l.startsWith("busy "));
  if (r.exitCode === HELD_EXIT && busy !== undefined) {
    const holder = parseLockOwner(busy.slice(5));
    const who = holder
      ? `pid ${holder.pid} (\`ternix ${holder.command}\`, since ${holder.since})`
      : "an unreadable owner";
    return `another Ternix run is changing the host (its apply lock ${options.path} is held by ${who})`;
  }
  const unusable = out.find((l) => l.startsWith("unusable "));
  if (r.exitCode === UNUSABLE_EXIT && unusable !== undefined)
    return `cannot use the apply lock ${options.path} on the host: ${unusable.slice(9)}`;
  const why = (r.stderr.trim().split("\n").pop() ?? "").trim();
  return `taking the apply lock on the host failed${r.exitCode === SSH_FAILURE_EXIT ? " (ssh)" : ` (exit ${r.exitCode ?? "by signal"})`}${why ? `: ${why}` : ""}`;
}
