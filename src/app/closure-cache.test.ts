import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorePathInfo } from "../closure/model.js";
import type { Nix } from "../nix/nix.js";
import { closureCacheDir, fileClosureCache } from "./closure-cache.js";
import { loadClosures } from "./closure-load.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-cache-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake "store" root: the cache only needs the root to exist on disk. */
async function root(name: string): Promise<string> {
  const path = join(dir, "store", `${name.padStart(32, "0")}-${name}`);
  await mkdir(path, { recursive: true });
  return path;
}

const closure = (r: string): StorePathInfo[] => [
  { path: r, narSize: 10, references: ["/nix/store/b-glibc", r] },
  { path: "/nix/store/b-glibc", narSize: 20, references: ["/nix/store/b-glibc"] },
];

describe("fileClosureCache", () => {
  it("round-trips a closure while its root exists", async () => {
    const cache = fileClosureCache(join(dir, "cache"));
    const r = await root("sys");
    expect(await cache.get(r)).toBeUndefined();
    await cache.put(r, closure(r));
    expect(await cache.get(r)).toEqual(closure(r));
  });

  it("misses once the root is gone, and on a damaged file", async () => {
    const cache = fileClosureCache(join(dir, "cache"));
    const r = await root("sys");
    await cache.put(r, closure(r));
    const [file] = await readdir(join(dir, "cache"));
    await writeFile(join(dir, "cache", file as string), "{not json");
    expect(await cache.get(r)).toBeUndefined();
    await cache.put(r, closure(r));
    await rm(r, { recursive: true });
    expect(await cache.get(r)).toBeUndefined();
  });

  it("keeps the directory bounded", async () => {
    const cache = fileClosureCache(join(dir, "cache"));
    for (let i = 0; i < 300; i++) {
      const r = join(dir, "store", `${String(i).padStart(32, "0")}-x`);
      await cache.put(r, closure(r));
    }
    expect((await readdir(join(dir, "cache"))).length).toBeLessThanOrEqual(256);
  });

  it("is off with TERNIX_NO_CACHE=1 and follows XDG_CACHE_HOME", () => {
    expect(closureCacheDir({ TERNIX_NO_CACHE: "1", HOME: "/h" })).toBeUndefined();
    expect(closureCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/ternix/closures");
    expect(closureCacheDir({ HOME: "/h" })).toBe("/h/.cache/ternix/closures");
  });
});

describe("loadClosures with a cache", () => {
  it("asks Nix only for roots it has not seen, once, and never when all are cached", async () => {
    const cache = fileClosureCache(join(dir, "cache"));
    const a = await root("a");
    const b = await root("b");
    const calls: string[][] = [];
    const nix = {
      closurePathInfo: (paths: readonly string[]) => {
        calls.push([...paths]);
        return Promise.resolve(paths.flatMap((p) => closure(p).map((i) => ({ ...i, valid: true }))));
      },
    } as unknown as Nix;
    const first = await loadClosures(nix, [a, b], cache);
    expect(calls).toEqual([[a, b]]);
    expect(
      first
        .get(a)
        ?.paths.map((p) => p.path)
        .sort(),
    ).toEqual([a, "/nix/store/b-glibc"].sort());
    const second = await loadClosures(
      () => Promise.reject(new Error("Nix must not be needed")),
      [a, b],
      cache,
    );
    expect(second.get(b)?.paths).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });
});
