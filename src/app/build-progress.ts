/**
 * Per-host progress of one batched `nix build`, from its structured log (nix/internal-log.ts). Pure:
 * events in, counters out.
 *
 * Nix reports its build as a whole (derivations done / expected, paths copied). Each host's share
 * comes from what Nix said it would do for that host alone (`nix build --dry-run` of its toplevel,
 * the same question plan-cost.ts asks): the derivations it will build and the paths it will fetch.
 * A build or download is counted for every host whose list holds it (hosts share most of them).
 * With one target and no lists (`switch`, `upgrade`), the whole build is that target's.
 */
import { ACTIVITY, RESULT, type NixLogEvent } from "../nix/internal-log.js";
import type { AppEvent } from "./effects.js";

export interface BuildTarget {
  name: string;
  /** Derivations Nix will build for this target (dry run). */
  toBuild: readonly string[];
  /** Store paths Nix will fetch from a substituter for it. */
  toFetch: readonly string[];
}

export interface TargetProgress {
  name: string;
  built: number;
  failed: number;
  toBuild: number;
  /** Store names (no hash, no `.drv`) of its derivations building now, in start order. */
  building: string[];
  fetched: number;
  toFetch: number;
  /** Bytes of its paths copied from substituters so far (NAR size, i.e. unpacked). */
  fetchedBytes: number;
}

export interface BuildFinished {
  drvPath: string;
  ok: boolean;
  /** The targets it belongs to. */
  targets: string[];
}

export interface BuildTracker {
  /** Take one event; tells whether the progress changed and which builds finished. */
  feed(event: NixLogEvent): { changed: boolean; finished: BuildFinished[] };
  snapshot(): TargetProgress[];
}

const MIB = 1024 * 1024;

/** `/nix/store/<hash>-linux-6.6.64.drv` → `linux-6.6.64`. */
export function derivationName(drvPath: string): string {
  return drvPath.replace(/^.*\/[0-9a-z]{32}-/, "").replace(/\.drv$/, "");
}

const BUILDER_FAILED = /^error:\s+builder for '([^']+\.drv)' failed/;

interface State {
  target: BuildTarget;
  built: number;
  failed: number;
  building: Set<string>;
  fetched: number;
  /** Bytes copied per path, for this target's paths. */
  bytes: number;
}

/**
 * `targets` with dry-run lists, or `{ whole: NAME }` for a build that is all one target's: then its
 * totals are Nix's own (the `builds` and `copyPaths` activities' progress).
 */
export function createBuildTracker(targets: readonly BuildTarget[] | { whole: string }): BuildTracker {
  const whole = "whole" in targets ? targets.whole : undefined;
  const states: State[] = ("whole" in targets ? [] : targets).map((target) => ({
    target,
    built: 0,
    failed: 0,
    building: new Set(),
    fetched: 0,
    bytes: 0,
  }));
  const index = (pick: (t: BuildTarget) => readonly string[]) => {
    const map = new Map<string, State[]>();
    for (const s of states) for (const key of pick(s.target)) map.set(key, [...(map.get(key) ?? []), s]);
    return map;
  };
  const byDrv = index((t) => t.toBuild);
  const byPath = index((t) => t.toFetch);
  // Whole-build counters: [done, expected, running, failed] of builds and of copied paths.
  let builds = [0, 0, 0, 0];
  let copies = [0, 0, 0, 0];
  let wholeBytes = 0;
  const wholeBuilding = new Set<string>();

  /** Activity id → what it is. */
  const activities = new Map<
    string,
    | { kind: "build"; drvPath: string }
    | { kind: "copy"; path: string; bytes: number; expected: number }
    | { kind: "other"; type: number }
  >();
  const failedDrvs = new Set<string>();
  let successes = 0;
  /** Finished derivations: true built, false failed. */
  const finishedDrvs = new Map<string, boolean>();
  const fetchedPaths = new Set<string>();
  const targetNames = (list: readonly State[] | undefined) => (list ?? []).map((s) => s.target.name);

  const copied = (copy: { path: string; bytes: number }, bytes: number) => {
    for (const s of byPath.get(copy.path) ?? []) s.bytes += bytes - copy.bytes;
    wholeBytes += bytes - copy.bytes;
    copy.bytes = bytes;
  };

  const finish = (drvPath: string, ok: boolean): BuildFinished | undefined => {
    const before = finishedDrvs.get(drvPath);
    // Finished once; a build taken as done that Nix then reports failed is corrected.
    if (before === false || (before === true && ok)) return undefined;
    finishedDrvs.set(drvPath, ok);
    if (!ok) failedDrvs.add(drvPath);
    wholeBuilding.delete(drvPath);
    const owners = byDrv.get(drvPath);
    for (const s of owners ?? []) {
      s.building.delete(drvPath);
      if (before === true) s.built -= 1;
      if (ok) s.built += 1;
      else s.failed += 1;
    }
    return { drvPath, ok, targets: whole !== undefined ? [whole] : targetNames(owners) };
  };

  const feed: BuildTracker["feed"] = (event) => {
    const finished: BuildFinished[] = [];
    let changed = false;
    switch (event.action) {
      case "start": {
        const first = event.fields[0];
        if (event.type === ACTIVITY.build && typeof first === "string") {
          activities.set(event.id, { kind: "build", drvPath: first });
          wholeBuilding.add(first);
          for (const s of byDrv.get(first) ?? []) s.building.add(first);
          changed = true;
        } else if (event.type === ACTIVITY.copyPath && typeof first === "string") {
          activities.set(event.id, { kind: "copy", path: first, bytes: 0, expected: 0 });
        } else activities.set(event.id, { kind: "other", type: event.type });
        break;
      }
      case "stop": {
        const activity = activities.get(event.id);
        activities.delete(event.id);
        if (activity?.kind === "build") {
          // Which build failed is not in its stop. Recorded (2.8 and 2.24): a built derivation's
          // `builds` counters count it done, then its activity stops at once; a failed one's stays
          // open until its goal is dropped, for a requested derivation (a host's toplevel) when the
          // whole build ends, and Nix prints that failure's error only after every activity stopped
          // (one another derivation waits for is printed at once: the `msg` case below). So a stop
          // is a success while the done counter is ahead of the successes seen, else a failure.
          const ok =
            !failedDrvs.has(activity.drvPath) && ((builds[0] ?? 0) > successes || (builds[3] ?? 0) === 0);
          if (ok) successes += 1;
          const done = finish(activity.drvPath, ok);
          if (done) finished.push(done);
          changed = true;
        } else if (activity?.kind === "copy" && !fetchedPaths.has(activity.path)) {
          // Progress comes every few KiB and may stop short of the last ones: a finished copy is whole.
          copied(activity, Math.max(activity.bytes, activity.expected));
          fetchedPaths.add(activity.path);
          for (const s of byPath.get(activity.path) ?? []) s.fetched += 1;
          changed = true;
        }
        break;
      }
      case "result": {
        const activity = activities.get(event.id);
        if (event.type !== RESULT.progress || activity === undefined) break;
        const fields = event.fields.map((f) => (typeof f === "number" ? f : 0));
        if (activity.kind === "copy") {
          const before = activity.bytes;
          activity.expected = fields[1] ?? activity.expected;
          copied(activity, fields[0] ?? before);
          // Copies report every few KiB: a change worth showing is a MiB.
          changed = Math.floor(activity.bytes / MIB) !== Math.floor(before / MIB);
        } else if (activity.kind === "other" && activity.type === ACTIVITY.builds) {
          changed = fields.some((f, i) => f !== builds[i]);
          builds = fields;
        } else if (activity.kind === "other" && activity.type === ACTIVITY.copyPaths) {
          changed = fields.some((f, i) => f !== copies[i]);
          copies = fields;
        }
        break;
      }
      case "msg": {
        const drvPath = BUILDER_FAILED.exec(event.text)?.[1];
        const done = drvPath === undefined ? undefined : finish(drvPath, false);
        if (done) finished.push(done);
        break;
      }
      case "plain":
        break;
    }
    return { changed: changed || finished.length > 0, finished };
  };

  const snapshot = (): TargetProgress[] => {
    if (whole !== undefined) {
      return [
        {
          name: whole,
          built: builds[0] ?? 0,
          failed: builds[3] ?? 0,
          toBuild: builds[1] ?? 0,
          building: [...wholeBuilding].map(derivationName),
          fetched: copies[0] ?? 0,
          toFetch: copies[1] ?? 0,
          fetchedBytes: wholeBytes,
        },
      ];
    }
    return states.map((s) => ({
      name: s.target.name,
      built: s.built,
      failed: s.failed,
      toBuild: s.target.toBuild.length,
      building: [...s.building].map(derivationName),
      fetched: s.fetched,
      toFetch: s.target.toFetch.length,
      fetchedBytes: s.bytes,
    }));
  };
  return { feed, snapshot };
}

/**
 * The `onLog` of a tracked `nix build`: feeds the tracker and reports what changed as events
 * (`build-progress` snapshots, `build-finished` per derivation).
 */
export function reportBuildProgress(
  tracker: BuildTracker,
  onEvent: (event: AppEvent) => void,
  side?: "before" | "after",
): (event: NixLogEvent) => void {
  return (event) => {
    const { changed, finished } = tracker.feed(event);
    for (const f of finished)
      onEvent({ type: "build-finished", side, drvPath: f.drvPath, ok: f.ok, hosts: f.targets });
    if (changed) onEvent({ type: "build-progress", side, hosts: tracker.snapshot() });
  };
}
