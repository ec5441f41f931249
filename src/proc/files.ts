/**
 * File helpers for files users own: reads check what the file is before reading it; writes are atomic
 * (temp file + rename in the same directory).
 */
import type { Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import {
  access,
  constants,
  lstat,
  open,
  rename,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";

/** Larger than any flake.lock, ternix.toml or state file; a file beyond it is not one of them. */
export const MAX_USER_FILE_BYTES = 64 * 1024 * 1024;

export interface ReadUserFileOptions {
  /** What to do about a file that is not usable, e.g. "Regenerate it with `nix flake lock`." */
  hint?: string;
  maxBytes?: number;
}

/**
 * A file the user owns or named (flake.lock, ternix.toml, a state or report file), or undefined when
 * nothing is there. Opened without blocking (a FIFO would hang a plain read) and checked before it is
 * read: anything but a regular file of sane size (a directory, FIFO, device such as /dev/zero, socket)
 * is a usage error naming the path, never a hang or an internal error.
 */
export async function readUserFile(
  path: string,
  options: ReadUserFileOptions = {},
): Promise<string | undefined> {
  const hint = options.hint ?? `Replace ${path} with a regular file, or move it aside.`;
  const maxBytes = options.maxBytes ?? MAX_USER_FILE_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new UsageError(`cannot read ${path} (${code ?? "unknown error"}).`, { hint });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`${path} is ${fileKind(info)}, not a regular file.`, { hint });
    if (info.size > maxBytes) throw tooLarge(path, maxBytes, hint);
    const buffer = Buffer.alloc(Math.min(info.size + 1, maxBytes + 1));
    let length = 0;
    // Read to the end even if the file grew since the stat, but never past the limit.
    for (;;) {
      if (length === buffer.length) break;
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge(path, maxBytes, hint);
    return buffer.toString("utf8", 0, length);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "unknown error"}).`,
      {
        hint,
      },
    );
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string, maxBytes: number, hint: string): UsageError {
  return new UsageError(
    `${path} is larger than ${maxBytes / (1024 * 1024)} MiB; it cannot be the file Ternix expects.`,
    {
      hint,
    },
  );
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "an unusual file";
}

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.ternix-${randomBytes(4).toString("hex")}`);
  try {
    await writeFile(tmp, content, { flag: "wx" });
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** Whether something (a file, directory or link, even a dangling one) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Make the file hold `content`, writing (atomically) only when it does not already: restoring a
 * user's file must not touch it when nothing changed.
 */
export async function ensureFileContent(path: string, content: string): Promise<void> {
  const current = await readUserFile(path).catch(() => undefined);
  if (current !== content) await writeFileAtomic(path, content);
}

/**
 * Why a file cannot be written at `path` (created or replaced), or undefined when it can: checked
 * before long work, so a bad `--output` fails in a second rather than after the work.
 */
export async function whyNotWritable(path: string): Promise<string | undefined> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (!(info instanceof Error)) {
    if (info.isDirectory()) return `${path} is a directory`;
    if (!info.isFile()) return `${path} is not a regular file`;
    return (await canAccess(path, constants.W_OK)) ? undefined : `${path} is not writable`;
  }
  // ENOTDIR: a parent is a file; said below as plainly as a missing directory.
  if (info.code !== "ENOENT" && info.code !== "ENOTDIR")
    return `${path} cannot be used (${info.code ?? info.message})`;
  const dir = dirname(path);
  const parent = await stat(dir).catch(() => undefined);
  if (parent === undefined) return `the directory ${dir} does not exist`;
  if (!parent.isDirectory()) return `${dir} is not a directory`;
  return (await canAccess(dir, constants.W_OK | constants.X_OK))
    ? undefined
    : `the directory ${dir} is not writable`;
}

function canAccess(path: string, mode: number): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}
