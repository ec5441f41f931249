/** `ternix generations`: the system profile's generations with their markers, sizes and (optionally) diffs. */
import { diffClosures } from "../../closure/diff.js";
import type { ClosureDiff } from "../../closure/model.js";
import type { Nix } from "../../nix/nix.js";
import type { CheckReport } from "../../system/checks.js";
import { isSystemOf, kernelVersionOf } from "../../system/generations.js";
import { newestKnownGood, recordOf, type GenerationStatus } from "../../system/state.js";
import type { ClosureCache } from "../closure-cache.js";
import { loadClosures, readSystemFacts } from "../closure-load.js";
import { readProfile, storePathOfLink } from "./profile.js";
import { loadState } from "./state-file.js";
import type { SystemPaths } from "./system-paths.js";

export interface GenerationInfo {
  number: number;
  createdAt: Date;
  storePath: string;
  current: boolean;
  booted: boolean;
  /** Activated with `switch` and every check passed. */
  knownGood: boolean;
  /** The newest known-good generation: the one gc always keeps. */
  newestKnownGood: boolean;
  /** What Ternix recorded about it, if it applied it. */
  status: GenerationStatus | undefined;
  checks: CheckReport | null | undefined;
  nixosVersion: string | undefined;
  kernelVersion: string | undefined;
  /** Closure size in bytes (NAR sizes); undefined when the path is not valid. */
  closureSize: number | undefined;
}

export interface GenerationDiff {
  from: number;
  to: number;
  diff: ClosureDiff;
}

export interface GenerationsResult {
  profile: string;
  current: number | undefined;
  currentSystem: string | undefined;
  bootedSystem: string | undefined;
  /** Oldest first. */
  generations: GenerationInfo[];
  /** With `diff`: one per pair of consecutive generations. */
  diffs: GenerationDiff[] | undefined;
}

export async function listGenerations(
  request: { paths: SystemPaths; diff: boolean },
  deps: { nix: Nix; closureCache?: ClosureCache | undefined },
): Promise<GenerationsResult> {
  const { paths } = request;
  const [profile, state, currentSystem, bootedSystem] = await Promise.all([
    readProfile(paths.profile),
    loadState(paths),
    storePathOfLink(paths.currentSystem),
    storePathOfLink(paths.bootedSystem),
  ]);
  const roots = [...new Set(profile.generations.map((g) => g.storePath))];
  const knownGood = newestKnownGood(state, paths.profile, profile.generations);

  const sizes = new Map<string, number>();
  let closures: Awaited<ReturnType<typeof loadClosures>> | undefined;
  if (roots.length > 0) {
    if (request.diff) {
      closures = await loadClosures(deps.nix, roots, deps.closureCache);
      for (const [root, closure] of closures)
        sizes.set(
          root,
          closure.paths.reduce((sum, p) => sum + p.narSize, 0),
        );
    } else {
      for (const info of await deps.nix.pathInfo(roots, { closureSize: true })) {
        if (info.valid && info.closureSize !== undefined) sizes.set(info.path, info.closureSize);
      }
    }
  }
  const facts = new Map(
    await Promise.all(roots.map(async (root) => [root, await readSystemFacts(root)] as const)),
  );

  const generations = profile.generations.map((g): GenerationInfo => {
    const record = recordOf(state, paths.profile, g);
    const system = facts.get(g.storePath);
    return {
      number: g.number,
      createdAt: g.createdAt,
      storePath: g.storePath,
      current: g.number === profile.current,
      booted: isSystemOf(g, bootedSystem),
      knownGood: record?.status === "known-good",
      newestKnownGood: g.number === knownGood,
      status: record?.status,
      checks: record?.checks,
      nixosVersion: system?.nixosVersion,
      kernelVersion: kernelVersionOf(system?.kernel),
      closureSize: sizes.get(g.storePath),
    };
  });

  let diffs: GenerationDiff[] | undefined;
  if (closures !== undefined) {
    diffs = [];
    for (let i = 1; i < profile.generations.length; i++) {
      const from = profile.generations[i - 1];
      const to = profile.generations[i];
      const before = from && closures.get(from.storePath);
      const after = to && closures.get(to.storePath);
      if (from && to && before && after)
        diffs.push({ from: from.number, to: to.number, diff: diffClosures(before, after) });
    }
  }
  return {
    profile: paths.profile,
    current: profile.current,
    currentSystem,
    bootedSystem,
    generations,
    diffs,
  };
}
