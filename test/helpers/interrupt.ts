/**
 * Interrupting the built CLI at a chosen moment, and proving nothing was left behind:
 *
 *   const before = await snapshotFlake({ flakeDir, tmpDir });
 *   const r = await runCliUntil(["plan"], { cwd, env: { ...env, TMPDIR: tmpDir }, when: "with the updated lock", then: "SIGINT" });
 *   expect(r.triggered).toBe(true);
 *   await expectFlakeAsBefore(before);
 *
 * `when` is the progress line (on stderr) that marks the phase; `then` is a signal, or closing the
 * CLI's stdout or stderr the way `| head` or `2>&1 | true` does. Give the CLI a private TMPDIR: the
 * snapshot lists it, so a temporary directory (and the GC roots in it) left behind fails the test.
 */
import { spawn } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { run } from "../../src/proc/run.js";
import { stripStyle } from "../../src/report/style.js";
import { CLI_BIN } from "./cli.js";

export type Interrupt = NodeJS.Signals | "close-stdout" | "close-stderr" | "close-both";

export interface RunUntilOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Text (or pattern) on the CLI's stderr that marks the moment; "start" acts at once. */
  when: string | RegExp;
  /** What to do then; nothing when absent (use onTrigger). */
  then?: Interrupt | undefined;
  /** Called at the moment too (e.g. to start a concurrent run), before `then`. */
  onTrigger?: (() => void) | undefined;
}

export interface RunUntilResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether `when` was seen (a test must check it: a run that ended first proves nothing). */
  triggered: boolean;
}

/** Run `node dist/cli/bin.js ...args`; when stderr shows `when`, do `then`. */
export function runCliUntil(args: readonly string[], options: RunUntilOptions): Promise<RunUntilResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let triggered = false;
    const act = () => {
      if (triggered) return;
      triggered = true;
      options.onTrigger?.();
      // Destroying our end of a pipe is what a reader that exits does: the CLI's next write fails.
      const then = options.then;
      if (then === undefined) return;
      if (then === "close-stdout" || then === "close-both") child.stdout.destroy();
      if (then === "close-stderr" || then === "close-both") child.stderr.destroy();
      if (!then.startsWith("close-")) child.kill(then as NodeJS.Signals);
    };
    const matches = (text: string) =>
      typeof options.when === "string" ? text.includes(options.when) : options.when.test(text);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (options.when !== "start" && matches(stderr)) act();
    });
    child.on("error", reject);
    child.on("close", (exitCode, signal) =>
      resolve({ exitCode, signal, stdout: stripStyle(stdout), stderr: stripStyle(stderr), triggered }),
    );
    if (options.when === "start") act();
  });
}

export interface FlakeSnapshot {
  flakeDir: string;
  tmpDir: string | undefined;
  /** flake.lock's bytes. */
  lock: Buffer;
  /** Everything in the private TMPDIR (should stay empty). */
  tmpEntries: string[];
  /** `refs/ternix/*` in the flake's repository. */
  refs: string[];
  /** Nix's indirect GC roots that point into tmpDir or the flake and still exist. */
  liveRoots: string[];
}

const GC_ROOTS_AUTO = "/nix/var/nix/gcroots/auto";

export async function snapshotFlake(options: { flakeDir: string; tmpDir?: string }): Promise<FlakeSnapshot> {
  const { flakeDir, tmpDir } = options;
  const refs = await run("git", ["-C", flakeDir, "for-each-ref", "--format=%(refname)", "refs/ternix/"]);
  return {
    flakeDir,
    tmpDir,
    lock: await readFile(join(flakeDir, "flake.lock")),
    tmpEntries: tmpDir === undefined ? [] : (await readdir(tmpDir)).sort(),
    refs: refs.stdout.split("\n").filter(Boolean).sort(),
    liveRoots: await liveRootsUnder([flakeDir, ...(tmpDir === undefined ? [] : [tmpDir])]),
  };
}

/** Roots registered with `--indirect` whose link still exists under one of `dirs`. */
async function liveRootsUnder(dirs: readonly string[]): Promise<string[]> {
  const names = await readdir(GC_ROOTS_AUTO).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const target = await readlink(join(GC_ROOTS_AUTO, name)).catch(() => undefined);
    if (target === undefined || !dirs.some((d) => target.startsWith(`${d}/`))) continue;
    if (
      await readlink(target).then(
        () => true,
        () => false,
      )
    )
      live.push(target);
  }
  return live.sort();
}

/** The flake's lock, temporary files, private refs and GC roots are exactly as in `before`. */
export async function expectFlakeAsBefore(before: FlakeSnapshot): Promise<void> {
  const now = await snapshotFlake({
    flakeDir: before.flakeDir,
    ...(before.tmpDir === undefined ? {} : { tmpDir: before.tmpDir }),
  });
  expect(now.lock.toString("utf8"), "flake.lock changed").toBe(before.lock.toString("utf8"));
  expect(now.tmpEntries, "temporary files left behind").toEqual(before.tmpEntries);
  expect(now.refs, "private refs left behind").toEqual(before.refs);
  expect(now.liveRoots, "GC roots left behind").toEqual(before.liveRoots);
}
