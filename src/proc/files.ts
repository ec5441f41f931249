/** File helpers for files users own: writes are atomic (temp file + rename in the same directory). */
import { randomBytes } from "node:crypto";
import { access, constants, lstat, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

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
  const current = await readFile(path, "utf8").catch(() => undefined);
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
