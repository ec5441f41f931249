import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureFileContent, pathExists, writeFileAtomic } from "./files.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-files-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("file helpers", () => {
  it("writes atomically and leaves no temporary file", async () => {
    const file = join(dir, "flake.lock");
    await writeFileAtomic(file, "a");
    await writeFileAtomic(file, "b");
    expect(await readFile(file, "utf8")).toBe("b");
    expect(await pathExists(join(dir, "nope"))).toBe(false);
    expect(await readdir(dir)).toEqual(["flake.lock"]);
  });

  it("ensureFileContent writes only when the content differs", async () => {
    const file = join(dir, "flake.lock");
    await writeFile(file, "same");
    const before = (await stat(file)).ino;
    await ensureFileContent(file, "same");
    expect((await stat(file)).ino).toBe(before);
    await ensureFileContent(file, "new");
    expect(await readFile(file, "utf8")).toBe("new");
    await ensureFileContent(join(dir, "missing"), "created");
    expect(await readFile(join(dir, "missing"), "utf8")).toBe("created");
  });
});
