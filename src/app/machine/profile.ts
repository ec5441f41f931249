/**
 * The system profile on disk: its generations (read from the `P-N-link` entries) and the changes
 * made through `nix-env` (which registers GC roots and keeps the profile consistent).
 */
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { profileDeleteGenerationsArgs, profileSetArgs, profileSwitchGenerationArgs } from "../../nix/args.js";
import type { Nix } from "../../nix/nix.js";
import type { RunOptions } from "../../proc/run.js";
import {
  currentGenerationOf,
  generationNumberOf,
  sortGenerations,
  type Generation,
} from "../../system/generations.js";
import { BOOT_FILES, type BootFiles } from "../../system/reboot.js";

export interface ProfileState {
  profile: string;
  /** Oldest first. */
  generations: Generation[];
  /** The generation the profile points to; undefined when the profile does not exist yet. */
  current: number | undefined;
}

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+/;

export async function readProfile(profile: string): Promise<ProfileState> {
  const dir = dirname(profile);
  const name = basename(profile);
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const generations: Generation[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const number = generationNumberOf(name, entry);
      if (number === undefined) return;
      const link = join(dir, entry);
      const [target, stat] = await Promise.all([
        readlink(link).catch(() => undefined),
        lstat(link).catch(() => undefined),
      ]);
      if (target === undefined || stat === undefined) return;
      const specialisations = await specialisationsOf(target);
      generations.push({ number, link, storePath: target, createdAt: stat.mtime, specialisations });
    }),
  );
  const profileTarget = await readlink(profile).catch(() => undefined);
  const current = profileTarget === undefined ? undefined : currentGenerationOf(name, profileTarget);
  return { profile, generations: sortGenerations(generations), current };
}

/** The store paths of `<system>/specialisation/*`; none when there are none (or it is gone). */
async function specialisationsOf(system: string): Promise<string[]> {
  const dir = join(system, "specialisation");
  const names = await readdir(dir).catch(() => [] as string[]);
  const paths = await Promise.all(names.sort().map((name) => storePathOfLink(join(dir, name))));
  return paths.filter((p) => p !== undefined);
}

/** The store path a link such as /run/current-system leads to; undefined when it does not exist or dangles. */
export async function storePathOfLink(path: string): Promise<string | undefined> {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) return undefined;
  return STORE_PATH.exec(real)?.[0];
}

/** Add a generation for `storePath` and make it current; returns the generation now current. */
export async function addGeneration(nix: Nix, profile: string, storePath: string): Promise<number> {
  await nix.nixEnv("adding the system generation failed", profileSetArgs(profile, storePath));
  const state = await readProfile(profile);
  if (state.current === undefined)
    throw new Error(`${profile} has no current generation after nix-env --set`);
  return state.current;
}

export async function switchGeneration(
  nix: Nix,
  profile: string,
  generation: number,
  options: RunOptions = {},
): Promise<void> {
  await nix.nixEnv(
    `switching the profile to generation ${generation} failed`,
    profileSwitchGenerationArgs(profile, generation),
    options,
  );
}

export async function deleteGenerations(
  nix: Nix,
  profile: string,
  generations: readonly number[],
): Promise<void> {
  if (generations.length === 0) return;
  await nix.nixEnv("deleting generations failed", profileDeleteGenerationsArgs(profile, generations));
}

/** Where a system's `kernel`, `initrd` and `kernel-modules` links lead (a reboot is due when they differ). */
export async function bootFilesOf(system: string): Promise<BootFiles> {
  const entries = await Promise.all(
    BOOT_FILES.map(
      async (name) => [name, await readlink(join(system, name)).catch(() => undefined)] as const,
    ),
  );
  return Object.fromEntries(entries) as unknown as BootFiles;
}
