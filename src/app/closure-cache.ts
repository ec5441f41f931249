/**
 * A cache of root closures. A valid store path's closure never changes (its references are fixed
 * when it is registered, and a path is only valid while everything it references is), so a closure
 * read once from `nix path-info --recursive` can be reused for as long as its root exists. The
 * second `ternix diff` of a generation, and the "before" side of most plans, then cost no Nix query.
 *
 * Files live in $XDG_CACHE_HOME/ternix/closures (default ~/.cache), one per root, with paths
 * interned so a 3,000-path closure is a few hundred KiB. Anything unreadable is a miss; failing to
 * write is ignored. TERNIX_NO_CACHE=1 turns it off.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import type { StorePathInfo } from "../closure/model.js";
import { pathExists } from "../proc/files.js";

export interface ClosureCache {
  get(root: string): Promise<StorePathInfo[] | undefined>;
  put(root: string, closure: readonly StorePathInfo[]): Promise<void>;
}

const FORMAT = 1;
const MAX_FILES = 256;

interface CacheFile {
  format: number;
  root: string;
  paths: string[];
  narSize: number[];
  refs: number[][];
}

export function closureCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env["TERNIX_NO_CACHE"] === "1") return undefined;
  return join(userCacheDir(env), "closures");
}

/** `$XDG_CACHE_HOME/ternix` (default `~/.cache/ternix`): the user's own Ternix files. */
export function userCacheDir(env: NodeJS.ProcessEnv): string {
  const base =
    env["XDG_CACHE_HOME"] || (env["HOME"] ? join(env["HOME"], ".cache") : join(homedir(), ".cache"));
  return join(base, "ternix");
}

export function fileClosureCache(dir: string): ClosureCache {
  const fileOf = (root: string) => join(dir, `${basename(root).slice(0, 32)}.json`);
  return {
    async get(root) {
      // The root still exists, so its whole closure does too: the cached answer is still true.
      if (!(await pathExists(root))) return undefined;
      try {
        return decode(JSON.parse(await readFile(fileOf(root), "utf8")) as unknown, root);
      } catch {
        return undefined;
      }
    },
    async put(root, closure) {
      try {
        await mkdir(dir, { recursive: true });
        const file = fileOf(root);
        const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
        await writeFile(tmp, JSON.stringify(encode(root, closure)));
        await rename(tmp, file);
        await evict(dir);
      } catch {
        // A cache that cannot be written is only slower.
      }
    },
  };
}

function encode(root: string, closure: readonly StorePathInfo[]): CacheFile {
  const index = new Map(closure.map((info, i) => [info.path, i]));
  return {
    format: FORMAT,
    root,
    paths: closure.map((i) => i.path),
    narSize: closure.map((i) => i.narSize),
    refs: closure.map((i) => i.references.map((r) => index.get(r) ?? -1).filter((n) => n >= 0)),
  };
}

function decode(data: unknown, root: string): StorePathInfo[] | undefined {
  const file = data as Partial<CacheFile>;
  if (file.format !== FORMAT || file.root !== root) return undefined;
  const { paths, narSize, refs } = file;
  if (!Array.isArray(paths) || !Array.isArray(narSize) || !Array.isArray(refs)) return undefined;
  if (narSize.length !== paths.length || refs.length !== paths.length) return undefined;
  return paths.map((path, i) => ({
    path,
    narSize: narSize[i] as number,
    references: (refs[i] as number[]).map((r) => paths[r] as string),
  }));
}

async function evict(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  if (names.length <= MAX_FILES) return;
  const withTimes = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  withTimes.sort((a, b) => a.t - b.t);
  await Promise.all(
    withTimes.slice(0, names.length - MAX_FILES / 2).map(({ n }) => rm(join(dir, n), { force: true })),
  );
}
