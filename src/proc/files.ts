/** File helpers for files users own: writes are atomic (temp file + rename in the same directory). */
import { randomBytes } from "node:crypto";
import { rename, unlink, writeFile } from "node:fs/promises";
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
