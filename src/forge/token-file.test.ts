import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { readForgeTokenFile } from "./token-file.js";

const SECRET = "ghp_tokenFileSecret0123456789";
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-token-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function tokenFile(name: string, content: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

const uid = process.getuid?.();

describe("readForgeTokenFile", () => {
  it("reads a 0600 file of the running user, trimmed", async () => {
    expect(await readForgeTokenFile(await tokenFile("ok", `${SECRET}\n`, 0o600), uid)).toBe(SECRET);
    expect(await readForgeTokenFile(await tokenFile("ro", SECRET, 0o400), uid)).toBe(SECRET);
  });

  it.each([
    ["group-readable", `${SECRET}\n`, 0o640, /accessible to its group or to others \(mode 0640\)/],
    ["world-readable", SECRET, 0o604, /mode 0604/],
    ["empty", "\n", 0o600, /is empty/],
    ["two lines", `${SECRET}\nmore\n`, 0o600, /more than one line/],
  ])("refuses a %s file without showing the token", async (name, content, mode, message) => {
    const error = await readForgeTokenFile(await tokenFile(name, content, mode), uid).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    expect((error as UsageError).hint).toMatch(/chmod 600/);
    expect(JSON.stringify([(error as Error).message, (error as UsageError).hint])).not.toContain(SECRET);
  });

  it("refuses a file owned by someone else, and a missing file or a directory", async () => {
    const path = await tokenFile("other", SECRET, 0o600);
    await expect(readForgeTokenFile(path, (uid ?? 0) + 1)).rejects.toThrow(/belongs to uid/);
    await expect(readForgeTokenFile(join(dir, "missing"), uid)).rejects.toThrow(/ENOENT/);
    await expect(readForgeTokenFile(dir, uid)).rejects.toThrow(/(not a regular file|accessible)/);
  });
});
