import { spawn, type ChildProcess } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { TernixError } from "../errors.js";

export interface RunOptions {
  cwd?: string | undefined;
  /** Replaces the environment when given; merge with process.env yourself. */
  env?: NodeJS.ProcessEnv | undefined;
  /**
   * The child's stdin: a string (written, then closed), or a stream piped in until it ends (a
   * remote lock holds while its ssh session's stdin stays open).
   */
  input?: string | NodeJS.ReadableStream | undefined;
  signal?: AbortSignal | undefined;
  /** Called with each complete stderr line as it arrives (progress). */
  onStderrLine?: ((line: string) => void) | undefined;
  /**
   * Keep stderr in the result (default). `false` for a long structured log that is read line by
   * line (`nix build --log-format internal-json` carries every build's output): memory stays flat.
   */
  keepStderr?: boolean | undefined;
  /** Called with each complete stdout line as it arrives. */
  onStdoutLine?: ((line: string) => void) | undefined;
  /**
   * An undo step (delete a temporary ref, restore a file): it may start after an interrupt, when
   * every other call is refused, and is not counted as interrupted.
   */
  cleanup?: boolean | undefined;
  /**
   * The child shares Ternix's terminal (stdin, stdout, stderr), e.g. a VM's console; nothing is
   * captured, so the result's stdout and stderr are empty.
   */
  interactive?: boolean | undefined;
}

export interface RunResult {
  argv: readonly string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The one way Ternix starts a process: an argument array, never a shell string.
 * A non-zero exit is a result, not an exception; the caller decides what it means.
 * Throws only when the program cannot be started at all (e.g. not installed).
 */
export type Run = (command: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

export class CommandNotFoundError extends TernixError {
  constructor(command: string, cause: unknown) {
    super(`${command}: command not found`, {
      cause,
      hint: `Install ${command} and make sure it is on PATH.`,
    });
  }
}

/** Children still running, so an interrupt can stop them before cleanup restores files. */
const active = new Set<ChildProcess>();

let interruptedBy: NodeJS.Signals | undefined;

/**
 * Interrupt: send `signal` to every child process started by `run` that is still running, and refuse
 * to start new ones, so a use case that is still unwinding cannot run Nix or git (and write files)
 * after the CLI began restoring them. A child that was running when the interrupt came ends in
 * RunInterruptedError, never in a result: its failure says nothing about the build or the repository.
 */
export function interruptChildren(signal: NodeJS.Signals): void {
  interruptedBy ??= signal;
  for (const child of active) child.kill(signal);
}

export class RunInterruptedError extends TernixError {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** Whether `error` is (or was caused by) an interrupt: callers that tolerate failures must rethrow it. */
export function isInterruption(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    if (e instanceof RunInterruptedError) return true;
  return false;
}

export const run: Run = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    if (interruptedBy !== undefined && !options.cleanup) {
      reject(new RunInterruptedError(interruptedBy));
      return;
    }
    const argv = [command, ...args];
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: options.interactive
        ? "inherit"
        : [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: options.signal,
    });
    active.add(child);
    child.once("exit", () => active.delete(child));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    lineSplitter(child.stdout, out, options.onStdoutLine);
    lineSplitter(child.stderr, options.keepStderr === false ? undefined : err, options.onStderrLine);
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined);
      if (typeof options.input === "string") child.stdin.end(options.input);
      else options.input.pipe(child.stdin);
    }
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") reject(new CommandNotFoundError(command, error));
      else if (error.name === "AbortError") {
        resolve({ argv, exitCode: null, signal: "SIGTERM", stdout: concat(out), stderr: concat(err) });
      } else reject(error);
    });
    child.on("close", (exitCode, signal) => {
      if (interruptedBy !== undefined && !options.cleanup) {
        reject(new RunInterruptedError(interruptedBy));
        return;
      }
      resolve({ argv, exitCode, signal, stdout: concat(out), stderr: concat(err) });
    });
  });

function concat(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString("utf8");
}

function lineSplitter(
  stream: NodeJS.ReadableStream | null,
  sink: Buffer[] | undefined,
  onLine: ((line: string) => void) | undefined,
): void {
  if (!stream) return;
  let pending = "";
  // A chunk may end inside a multi-byte character; the decoder keeps its first bytes for the next.
  const decoder = new StringDecoder("utf8");
  stream.on("data", (chunk: Buffer) => {
    sink?.push(chunk);
    if (!onLine) return;
    pending += decoder.write(chunk);
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => {
    if (!onLine) return;
    pending += decoder.end();
    if (pending) onLine(pending);
  });
}
