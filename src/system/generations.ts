/**
 * Generations of a Nix profile, as the profile's directory holds them: `P` is a symlink to
 * `P-N-link`, and each `P-N-link` is a symlink to a store path, created when the generation was.
 * Reading the links (as `nixos-rebuild list-generations` does) gives exact times; `nix-env
 * --list-generations` prints local times without a zone.
 */
import { parseStorePath } from "../closure/store-name.js";

export interface Generation {
  number: number;
  /** The generation link, e.g. `/nix/var/nix/profiles/system-12-link`. */
  link: string;
  /** The store path the link points to (a NixOS toplevel for the system profile). */
  storePath: string;
  /** When the generation was created: the link's modification time. */
  createdAt: Date;
  /**
   * The systems of its specialisations (`<toplevel>/specialisation/<name>`), which its boot entries
   * also start and `switch-to-configuration` of a specialisation activates.
   */
  specialisations?: readonly string[] | undefined;
}

/**
 * Whether `systemPath` (what /run/current-system or /run/booted-system leads to) is this generation:
 * its toplevel, or one of its specialisations, so a machine booted into a specialisation keeps the
 * generation it booted.
 */
export function isSystemOf(generation: Generation, systemPath: string | undefined): boolean {
  if (systemPath === undefined) return false;
  return generation.storePath === systemPath || (generation.specialisations ?? []).includes(systemPath);
}

/** The generation number in a directory entry named `<profile>-<N>-link`, else undefined. */
export function generationNumberOf(profileName: string, entry: string): number | undefined {
  const prefix = `${profileName}-`;
  if (!entry.startsWith(prefix) || !entry.endsWith("-link")) return undefined;
  const digits = entry.slice(prefix.length, -"-link".length);
  if (!/^[1-9][0-9]{0,9}$/.test(digits)) return undefined;
  return Number(digits);
}

/** The current generation from the profile link's target (`system-12-link`, relative or absolute). */
export function currentGenerationOf(profileName: string, profileTarget: string): number | undefined {
  const base = profileTarget.slice(profileTarget.lastIndexOf("/") + 1);
  return generationNumberOf(profileName, base);
}

export function sortGenerations(generations: readonly Generation[]): Generation[] {
  return [...generations].sort((a, b) => a.number - b.number);
}

/** The generation a plain rollback goes to: the newest one older than `current`. */
export function previousGeneration(
  generations: readonly Generation[],
  current: number,
): Generation | undefined {
  let best: Generation | undefined;
  for (const g of generations)
    if (g.number < current && (best === undefined || g.number > best.number)) best = g;
  return best;
}

export function findGeneration(generations: readonly Generation[], number: number): Generation | undefined {
  return generations.find((g) => g.number === number);
}

/** The version in a toplevel's `kernel` link target (`/nix/store/…-linux-6.6.63/bzImage` → `6.6.63`). */
export function kernelVersionOf(kernelTarget: string | undefined): string | undefined {
  if (kernelTarget === undefined) return undefined;
  const parsed = parseStorePath(kernelTarget);
  return parsed && parsed.version !== "" ? parsed.version : undefined;
}
