/**
 * Run the built CLI (`dist/cli/bin.js`, from `npm run build`) the way users do: its own Node process,
 * an argument array, the world's environment. Plus the normalisations end-to-end tests apply before
 * comparing text: colours, store hashes, git revisions and temporary directories.
 */
import { access, readdir, readFile, symlink, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { fileURLToPath } from "node:url";
import { run } from "../../src/proc/run.js";
import { stripStyle } from "../../src/report/style.js";

export const CLI_BIN = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Fail early, and say how to fix it, when the CLI has not been built. */
export async function ensureBuiltCli(): Promise<void> {
  try {
    await access(CLI_BIN);
  } catch {
    throw new Error(`${CLI_BIN} is missing: run \`npm run build\` before the end-to-end tests.`);
  }
}

export interface CliOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** `node dist/cli/bin.js ...args`; stdout and stderr come back without colour codes. */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const result = await run(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd, env: options.env });
  return { exitCode: result.exitCode, stdout: stripStyle(result.stdout), stderr: stripStyle(result.stderr) };
}

/** `/nix/store/<32 chars>-name` → `/nix/store/<hash>-name`. */
export function normaliseStoreHashes(text: string): string {
  return text.replace(/\/nix\/store\/[0-9a-df-np-sv-z]{32}-/g, "/nix/store/<hash>-");
}

/**
 * Replace the given git revisions (full and 7-character short forms) with stable labels, and
 * directories (e.g. the world's) with placeholders, so goldens do not depend on the run.
 */
export function normaliseText(
  text: string,
  labels: { revs?: ReadonlyMap<string, string>; dirs?: ReadonlyMap<string, string> },
): string {
  let out = text;
  for (const [dir, label] of labels.dirs ?? []) out = out.split(dir).join(label);
  for (const [rev, label] of labels.revs ?? []) {
    out = out.split(rev).join(label);
    out = out.replace(new RegExp(`\\b${rev.slice(0, 7)}\\b`, "g"), label);
  }
  return out;
}

/** Exactly one `error:` line matching `message` and one `hint:` line on stderr, nothing on stdout. */
export function expectCleanError(result: CliResult, exitCode: number, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe("");
  const [error, hint, ...rest] = lines(result.stderr);
  expect(error).toMatch(/^error: /);
  expect(error).toMatch(message);
  expect(hint).toMatch(/^hint: \S/);
  expect(rest).toEqual([]);
}

/** The lines of an output, without the empty one after the final newline. */
export function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/**
 * A directory holding only a `git` link: a PATH on which `git` works and `nix` does not exist, to
 * play a machine without Nix.
 */
export async function pathWithoutNix(dir: string): Promise<string> {
  const bin = join(dir, "bin-without-nix");
  await mkdir(bin, { recursive: true });
  const gitPath = await which("git");
  await symlink(gitPath, join(bin, "git"));
  return bin;
}

async function which(command: string): Promise<string> {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      await access(candidate);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(`${command} is not on PATH`);
}

/** Every file under `dir` with its content (links as `-> target`), to show that nothing changed. */
export async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== ".git") await walk(rel);
      } else {
        out[rel] = entry.isSymbolicLink() ? "(link)" : await readFile(join(dir, rel), "utf8");
      }
    }
  };
  await walk("");
  return out;
}
