import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureFileContent, pathExists, whyNotWritable, writeFileAtomic } from "./files.js";

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

  it("whyNotWritable accepts a new or existing file in a directory and names what is wrong otherwise", async () => {
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "file"), "x");
    expect(await whyNotWritable(join(dir, "new.md"))).toBeUndefined();
    expect(await whyNotWritable(join(dir, "file"))).toBeUndefined();
    expect(await whyNotWritable(join(dir, "sub"))).toBe(`${join(dir, "sub")} is a directory`);
    expect(await whyNotWritable(join(dir, "missing", "r.md"))).toBe(
      `the directory ${join(dir, "missing")} does not exist`,
    );
    expect(await whyNotWritable(join(dir, "file", "r.md"))).toBe(`${join(dir, "file")} is not a directory`);
  });
});
