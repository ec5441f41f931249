/**
 * The real nixpkgs 20.09 tree from `../shared/nixpkgs-eval` (see its README.md), unpacked once into
 * a cache directory shared by test runs, for tests that evaluate real NixOS configurations offline.
 * A checkout without that folder skips those tests, saying so.
 */
import { access, mkdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/proc/run.js";

export const NIXPKGS_EVAL_DIR = resolve(
  fileURLToPath(new URL("../../..", import.meta.url)),
  "shared/nixpkgs-eval",
);
const TARBALL = join(NIXPKGS_EVAL_DIR, "nixpkgs-20.09.tar.zst");

/** Whether the tarball is there; tests skip with a message naming NIXPKGS_EVAL_DIR when it is not. */
export async function haveNixpkgsEval(): Promise<boolean> {
  try {
    await access(TARBALL);
    return true;
  } catch {
    return false;
  }
}

/**
 * The unpacked tree's directory. Unpacked into a temporary name and renamed into place, so a run
 * that is interrupted, or another test process unpacking at the same time, never leaves half a tree.
 */
export async function unpackedNixpkgs(): Promise<string> {
  const { size, mtimeMs } = await stat(TARBALL);
  const cacheRoot = join(process.env.XDG_CACHE_HOME ?? tmpdir(), "ternix-test", "nixpkgs-eval");
  const dir = join(cacheRoot, `nixpkgs-20.09-${size}-${Math.trunc(mtimeMs)}`);
  const marker = join(dir, "nixos/lib/eval-config.nix");
  try {
    await access(marker);
    return dir;
  } catch {
    // not unpacked yet
  }
  await mkdir(cacheRoot, { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial);
  try {
    const untar = await run("tar", ["--zstd", "-xf", TARBALL, "-C", partial, "--strip-components=1"]);
    if (untar.exitCode !== 0)
      throw new Error(`unpacking ${TARBALL} failed (needs zstd): ${untar.stderr.trim()}`);
    try {
      await rename(partial, dir);
    } catch (error) {
      // Another process won the race; its tree is complete (it was renamed into place whole).
      if (!["EEXIST", "ENOTEMPTY"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
    }
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return dir;
}
