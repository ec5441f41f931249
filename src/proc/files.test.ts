import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { run } from "./run.js";
import { ensureFileContent, pathExists, readUserFile, whyNotWritable, writeFileAtomic } from "./files.js";

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

describe("readUserFile", () => {
  it("reads a regular file, and gives undefined when nothing is there", async () => {
    const file = join(dir, "flake.lock");
    await writeFile(file, "{}\n");
    expect(await readUserFile(file)).toBe("{}\n");
    expect(await readUserFile(join(dir, "nope"))).toBeUndefined();
  });

  const fifo = async () => {
    const path = join(dir, "fifo");
    await run("mkfifo", [path]);
    return path;
  };
  const directory = async () => {
    const path = join(dir, "sub");
    await mkdir(path);
    return path;
  };
  it.each([
    ["a FIFO (without hanging)", fifo, "a FIFO (named pipe)"],
    ["a directory", directory, "a directory"],
    ["/dev/zero", () => Promise.resolve("/dev/zero"), "a character device"],
  ])("refuses %s with a usage error naming the path", async (_name, make, kind) => {
    const path = await make();
    const error = await readUserFile(path, { hint: "do this" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`${path} is ${kind}, not a regular file.`);
    expect((error as UsageError).hint).toBe("do this");
  });

  it("refuses a file larger than the limit without reading it all", async () => {
    const file = join(dir, "big");
    await writeFile(file, "x".repeat(2048));
    await expect(readUserFile(file, { maxBytes: 1024 })).rejects.toThrow(/is larger than/);
    expect(await readUserFile(file, { maxBytes: 2048 })).toHaveLength(2048);
  });

  it("ensureFileContent replaces a FIFO instead of hanging on it", async () => {
    const path = await fifo();
    await ensureFileContent(path, "restored");
    expect(await readFile(path, "utf8")).toBe("restored");
  });
});
