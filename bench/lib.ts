/**
 * What the benchmarks share: timing whole child processes, medians, the paths of the built CLI, and
 * a little formatting. Benchmarks print their results on stdout and their progress on stderr.
 */
import { spawn } from "node:child_process";
import { loadavg, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { existsSync } from "node:fs";

/** The repository root, from dist-test/bench/ where build:fixtures puts the compiled scripts. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The built CLI (npm run build). */
export const TERNIX_BIN = join(REPO_ROOT, "dist", "cli", "bin.js");

export function requireBuiltCli(): void {
  if (!existsSync(TERNIX_BIN)) throw new Error(`${TERNIX_BIN} is missing: run \`npm run build\` first`);
}

export interface TimedRun {
  /** Wall time from spawn to the 'close' event (process exited and its pipes drained). */
  ms: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a process to completion and time it. stdout and stderr are pipes (as in CI), read fully, so
 * programs that write a lot pay for it; no shell is involved.
 */
export function timeProcess(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (exitCode) => {
      resolve({
        ms: performance.now() - start,
        exitCode,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** Like timeProcess, but a non-zero exit (other than the ones allowed) throws with the stderr tail. */
export async function timeChecked(
  what: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; okExitCodes?: readonly number[] } = {},
): Promise<TimedRun> {
  const result = await timeProcess(command, args, options);
  const ok = options.okExitCodes ?? [0];
  if (result.exitCode === null || !ok.includes(result.exitCode)) {
    const tail = result.stderr.trim().split("\n").slice(-15).join("\n");
    throw new Error(
      `${what} exited with ${String(result.exitCode)}:\n  ${[command, ...args].join(" ")}\n${tail}`,
    );
  }
  return result;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value >= 10_000
    ? `${(value / 1000).toFixed(1)} s`
    : value >= 1000
      ? `${(value / 1000).toFixed(2)} s`
      : `${Math.round(value)} ms`;
}

/** `median (min–max)` of a sample, for tables. */
export function spread(values: readonly number[]): string {
  if (values.length === 0) return "n/a";
  return `${ms(median(values))} (${ms(Math.min(...values))}–${ms(Math.max(...values))})`;
}

export function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

/** One line about the machine, printed with every result (load from other work skews timings). */
export function machineLine(): string {
  const [one = 0, five = 0] = loadavg();
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpus().length} cores (${cpu}), load average ${one.toFixed(2)} / ${five.toFixed(2)}, Node ${process.version}`;
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Left-aligned first column, right-aligned others. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  "),
    )
    .join("\n");
}

/** Parse a positive whole number flag. */
export function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${flag} takes a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** The benchmark's last words: message, stack, and a failed command's stderr tail when there is one. */
export function reportFailure(name: string, error: unknown): void {
  const tail = (error as { stderrTail?: unknown }).stderrTail;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${name}: ${text}\n${typeof tail === "string" ? `${tail}\n` : ""}`);
  process.exitCode = 1;
}
