/**
 * Ternix's error hierarchy. Every error a user can meet says what went wrong (the message, one line)
 * and what to do (the hint, one line). `detail` holds the tail of a tool's stderr, shown with --verbose.
 * Only the CLI entry catches these and turns them into an exit code.
 */

/** Documented exit codes (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  error: 1,
  /** plan/pr: flake.lock did not change. */
  lockUnchanged: 2,
  /** plan/pr: flake.lock changed but no host closure differs. */
  noHostChanged: 3,
  /** promote: not yet (a host has not reported success, or not for long enough); nothing pushed. */
  notYet: 3,
  /** plan/pr: the update breaks the build of at least one host that built before. */
  hostBroken: 4,
  /**
   * A check failed: `inputs --check` policy, health checks after `switch` (rolled back), or a risk
   * kind named by `--fail-on` (plan, diff, build).
   */
  checkFailed: 5,
  /** upgrade: the commit was refused (not a fast-forward of the deployed one, or not signed). */
  refused: 6,
  /** upgrade: the newest commit is quarantined (its checks failed before); nothing done. */
  quarantined: 7,
  usage: 64,
  interrupted: 130,
  /** stdout or stderr was closed by its reader (`| head`): stopped and restored, quietly (128 + SIGPIPE). */
  pipeClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface TernixErrorOptions {
  hint?: string | undefined;
  detail?: string | undefined;
  cause?: unknown;
  exitCode?: ExitCode;
}

export class TernixError extends Error {
  readonly hint: string | undefined;
  readonly detail: string | undefined;
  readonly exitCode: ExitCode;

  constructor(message: string, options: TernixErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.detail = options.detail;
    this.exitCode = options.exitCode ?? ExitCode.error;
  }
}

/** Wrong flags or arguments. */
export class UsageError extends TernixError {
  constructor(message: string, options: Omit<TernixErrorOptions, "exitCode"> = {}) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

/** A file or input the user gave us is not what it should be (missing flake.nix, bad lock, ...). */
export class InputError extends TernixError {}

export class LockParseError extends TernixError {
  readonly file: string;
  /** JSON path inside the lock, e.g. `nodes.nixpkgs.locked`. */
  readonly path: string | undefined;
  constructor(file: string, message: string, options: TernixErrorOptions & { path?: string } = {}) {
    super(`${file}: ${message}${options.path ? ` (at ${options.path})` : ""}`, {
      hint:
        options.hint ?? "Regenerate it with `nix flake lock` or restore it with `git checkout flake.lock`.",
      ...options,
    });
    this.file = file;
    this.path = options.path;
  }
}

/** A command we ran failed. */
export class CommandError extends TernixError {
  readonly argv: readonly string[];
  readonly commandExitCode: number | null;
  readonly stderrTail: string;
  constructor(
    message: string,
    argv: readonly string[],
    commandExitCode: number | null,
    stderr: string,
    options: TernixErrorOptions = {},
  ) {
    super(message, { detail: `$ ${formatArgv(argv)}\n${tail(stderr)}`, ...options });
    this.argv = argv;
    this.commandExitCode = commandExitCode;
    this.stderrTail = tail(stderr);
  }
}

export class NixError extends CommandError {}
export class GitError extends CommandError {}
export class SystemError extends CommandError {}

export class ForgeError extends TernixError {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  constructor(
    message: string,
    details: { method: string; url: string; status?: number | undefined },
    options: TernixErrorOptions = {},
  ) {
    super(message, options);
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
  }
}

/** The user pressed Ctrl-C or the process got SIGTERM; cleanup has run. */
export class InterruptedError extends TernixError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, {
      hint: "Nothing was left half-done: files Ternix changed were restored.",
      exitCode: ExitCode.interrupted,
    });
  }
}

/** The last lines of a tool's stderr, for error details. */
export function tail(text: string, lines = 25): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}

/** Render argv for display only (never executed): quote what a shell would split. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./^-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
