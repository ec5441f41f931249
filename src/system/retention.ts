/**
 * Which system generations `ternix gc` deletes. A generation stays when any rule keeps it; the
 * current, the booted and the newest known-good generation are kept whatever the options say,
 * because they are what a rollback (or the next boot) needs.
 */
import { isSystemOf, type Generation } from "./generations.js";

export type KeepReason = "current" | "running" | "booted" | "known-good" | "newest" | "recent";

export interface RetentionPolicy {
  /** Keep the newest N generations (N ≥ 0). */
  keep: number;
  /** Keep generations created less than this many milliseconds before `now`. */
  keepSinceMs?: number | undefined;
  now: Date;
}

export interface ProtectedGenerations {
  /** The generation the profile points to. */
  current?: number | undefined;
  /**
   * The store path `/run/current-system` points to (differs from the current generation after
   * `ternix test`, or when running a specialisation): every generation of it is kept.
   */
  runningPath?: string | undefined;
  /** The store path `/run/booted-system` points to: every generation of it is kept. */
  bootedPath?: string | undefined;
  /** The newest generation recorded as known good. */
  knownGood?: number | undefined;
}

export interface RetentionDecision {
  generation: Generation;
  /** Why it stays; empty means it is deleted. */
  keep: KeepReason[];
}

export interface RetentionPlan {
  decisions: RetentionDecision[];
  kept: Generation[];
  deleted: Generation[];
}

export function planRetention(
  generations: readonly Generation[],
  policy: RetentionPolicy,
  protect: ProtectedGenerations,
): RetentionPlan {
  if (!Number.isSafeInteger(policy.keep) || policy.keep < 0)
    throw new Error(`invalid keep count ${policy.keep}`);
  const newestFirst = [...generations].sort((a, b) => b.number - a.number);
  const newest = new Set(newestFirst.slice(0, policy.keep).map((g) => g.number));
  const since = policy.keepSinceMs === undefined ? undefined : policy.now.getTime() - policy.keepSinceMs;

  const decisions = newestFirst.map((generation): RetentionDecision => {
    const keep: KeepReason[] = [];
    if (generation.number === protect.current) keep.push("current");
    if (isSystemOf(generation, protect.runningPath)) keep.push("running");
    if (isSystemOf(generation, protect.bootedPath)) keep.push("booted");
    if (generation.number === protect.knownGood) keep.push("known-good");
    if (newest.has(generation.number)) keep.push("newest");
    if (since !== undefined && generation.createdAt.getTime() >= since) keep.push("recent");
    return { generation, keep };
  });
  decisions.reverse();
  return {
    decisions,
    kept: decisions.filter((d) => d.keep.length > 0).map((d) => d.generation),
    deleted: decisions.filter((d) => d.keep.length === 0).map((d) => d.generation),
  };
}

/** One store path of a closure: what the estimate needs from `nix path-info`. */
export interface PathSize {
  path: string;
  narSize: number;
  references: readonly string[];
}

export interface ReclaimEstimate {
  /** Store paths reachable from a deleted generation and from no kept root. */
  paths: number;
  bytes: number;
}

/**
 * Roughly what collecting garbage frees once `deletedRoots` are gone: the NAR size of every path
 * reachable from them and not from `keptRoots`. It is an estimate: other GC roots (user profiles,
 * `result` links, running processes) may still hold some of those paths, and the store may hold
 * other garbage already; the on-disk size also differs from the NAR size (optimisation, block size).
 */
export function estimateReclaim(
  deletedRoots: readonly string[],
  keptRoots: readonly string[],
  infos: ReadonlyMap<string, PathSize>,
): ReclaimEstimate {
  const kept = reachable(keptRoots, infos);
  const gone = reachable(deletedRoots, infos);
  let paths = 0;
  let bytes = 0;
  for (const path of gone) {
    if (kept.has(path)) continue;
    paths++;
    bytes += infos.get(path)?.narSize ?? 0;
  }
  return { paths, bytes };
}

function reachable(roots: readonly string[], infos: ReadonlyMap<string, PathSize>): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const ref of infos.get(path)?.references ?? []) if (!seen.has(ref)) stack.push(ref);
  }
  return seen;
}

/**
 * The summary `nix-store --gc` prints last: `2 store paths deleted, 0.05 MiB freed`. Undefined when
 * absent (older or newer wording); callers then only say that the collection ran.
 */
export function parseGcSummary(text: string): { paths: number; bytes: number } | undefined {
  const match = /(\d+) store paths? deleted, ([\d.]+) (B|KiB|MiB|GiB|TiB) freed/.exec(text);
  if (!match) return undefined;
  const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[
    match[3] as "B" | "KiB" | "MiB" | "GiB" | "TiB"
  ];
  return { paths: Number(match[1]), bytes: Math.round(Number(match[2]) * unit) };
}
