/**
 * `ternix gc`: delete system generations outside the retention (never the current, the running,
 * the booted or the newest known-good one), say roughly what that frees, then collect garbage.
 */
import type { Nix } from "../../nix/nix.js";
import { storeGcArgs, storeOptimiseArgs } from "../../nix/args.js";
import type { Generation } from "../../system/generations.js";
import {
  estimateReclaim,
  parseGcSummary,
  planRetention,
  type PathSize,
  type ReclaimEstimate,
  type RetentionDecision,
} from "../../system/retention.js";
import { newestKnownGood, withoutDeleted } from "../../system/state.js";
import { acquireApplyLock, type ApplyLock } from "./apply-lock.js";
import type { Effects } from "../effects.js";
import { pathExists } from "../../proc/files.js";
import { deleteGenerations, readProfile, storePathOfLink } from "./profile.js";
import { loadState, updateState } from "./state-file.js";
import type { SystemEffects } from "./system-effects.js";
import { lockFilePath, requireSystemAccess, type SystemPaths } from "./system-paths.js";

export interface GcRequest {
  paths: SystemPaths;
  keep: number;
  keepSinceMs?: number | undefined;
  dryRun: boolean;
  /** Run `nix-store --gc` after deleting generations. */
  collect: boolean;
  optimise: boolean;
  wait: boolean;
  argv?: readonly string[] | undefined;
}

export interface GcPlan {
  profile: string;
  current: number | undefined;
  runningSystem: string | undefined;
  bootedSystem: string | undefined;
  knownGood: number | undefined;
  /** Every generation, oldest first, with why it stays (empty: deleted). */
  decisions: RetentionDecision[];
  deleted: Generation[];
  /** Roughly what collecting garbage frees afterwards (NAR sizes of paths only the deleted generations reach). */
  estimate: ReclaimEstimate;
}

export interface GcResult {
  plan: GcPlan;
  dryRun: boolean;
  deleted: number[];
  /** What `nix-store --gc` reported; undefined when it did not run or printed no summary. */
  collected: { paths: number; bytes: number } | undefined;
  collectedRan: boolean;
  optimised: boolean;
}

export interface GcDeps {
  nix: Nix;
  effects: Effects;
  system: SystemEffects;
  /** Shown the plan before anything is deleted. */
  onPlan?: ((plan: GcPlan) => void) | undefined;
}

export async function collectGarbage(request: GcRequest, deps: GcDeps): Promise<GcResult> {
  const { paths } = request;
  let lock: ApplyLock | undefined;
  if (!request.dryRun) {
    await requireSystemAccess(paths, deps.system, "gc", request.argv);
    lock = await acquireApplyLock({ path: lockFilePath(paths), command: "gc", wait: request.wait }, deps);
  }
  try {
    const plan = await planGc(request, deps);
    deps.onPlan?.(plan);
    const result: GcResult = {
      plan,
      dryRun: request.dryRun,
      deleted: [],
      collected: undefined,
      collectedRan: false,
      optimised: false,
    };
    if (request.dryRun) return result;

    if (plan.deleted.length > 0) {
      const numbers = plan.deleted.map((g) => g.number);
      deps.effects.onEvent({
        type: "phase",
        message: `Deleting generation${numbers.length > 1 ? "s" : ""} ${numbers.join(", ")}…`,
      });
      await deleteGenerations(deps.nix, paths.profile, numbers);
      result.deleted = numbers;
      const remaining = await readProfile(paths.profile);
      await updateState(paths, (state) => withoutDeleted(state, paths.profile, remaining.generations));
    }
    if (request.collect) {
      deps.effects.onEvent({ type: "phase", message: "Collecting garbage (nix-store --gc)…" });
      const gc = await deps.nix.nixStore("collecting garbage failed", storeGcArgs());
      result.collectedRan = true;
      result.collected = parseGcSummary(`${gc.stdout}\n${gc.stderr}`);
    }
    if (request.optimise) {
      deps.effects.onEvent({ type: "phase", message: "Deduplicating the store (nix-store --optimise)…" });
      await deps.nix.nixStore("optimising the store failed", storeOptimiseArgs());
      result.optimised = true;
    }
    return result;
  } finally {
    await lock?.release();
  }
}

export async function planGc(request: GcRequest, deps: { nix: Nix; effects: Effects }): Promise<GcPlan> {
  const { paths } = request;
  const [profile, state, runningSystem, bootedSystem] = await Promise.all([
    readProfile(paths.profile),
    loadState(paths),
    storePathOfLink(paths.currentSystem),
    storePathOfLink(paths.bootedSystem),
  ]);
  const knownGood = newestKnownGood(state, paths.profile, profile.generations);
  const protectedText = [
    profile.current === undefined ? undefined : `the profile's current generation ${profile.current}`,
    knownGood === undefined ? undefined : `the newest known-good generation ${knownGood}`,
    `the newest ${request.keep}`,
  ]
    .filter((t) => t !== undefined)
    .join(", ");
  for (const [link, what, flag, found] of [
    [paths.currentSystem, "running", "--current-system", runningSystem],
    [paths.bootedSystem, "booted", "--booted-system", bootedSystem],
  ] as const) {
    if (found !== undefined) continue;
    const state = (await pathExists(link)) ? "is a dangling link or not a store path" : "does not exist";
    deps.effects.onEvent({
      type: "log",
      level: "warn",
      message: `${link} ${state}, so gc cannot tell which generation is ${what} and does not protect it; protected: ${protectedText}. Pass ${flag} PATH if the ${what} system is linked elsewhere.`,
    });
  }
  const retention = planRetention(
    profile.generations,
    { keep: request.keep, keepSinceMs: request.keepSinceMs, now: deps.effects.now() },
    { current: profile.current, runningPath: runningSystem, bootedPath: bootedSystem, knownGood },
  );
  const keptRoots = [
    ...retention.kept.map((g) => g.storePath),
    ...[runningSystem, bootedSystem].filter((p) => p !== undefined),
  ];
  const deletedRoots = retention.deleted.map((g) => g.storePath);
  let estimate: ReclaimEstimate = { paths: 0, bytes: 0 };
  if (deletedRoots.length > 0) {
    const infos = await deps.nix.closurePathInfo([...new Set([...keptRoots, ...deletedRoots])]);
    const byPath = new Map<string, PathSize>(infos.filter((i) => i.valid).map((i) => [i.path, i]));
    estimate = estimateReclaim(deletedRoots, keptRoots, byPath);
  }
  return {
    profile: paths.profile,
    current: profile.current,
    runningSystem,
    bootedSystem,
    knownGood,
    decisions: retention.decisions,
    deleted: retention.deleted,
    estimate,
  };
}
