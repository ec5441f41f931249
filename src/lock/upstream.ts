/**
 * How far behind an input is: the lock compared with the lock `nix flake update` would write now.
 * Pure; the app computes the updated lock.
 */
import type { InputDiff } from "./diff.js";
import type { LockedInput } from "./graph.js";
import type { InputVerdict } from "./staleness.js";

/** Where an input's upstream is now: what `nix flake update` would lock, compared with the lock. */
export interface UpstreamStatus {
  /** The update would lock the same revision (or, without one, the same content). */
  upToDate: boolean;
  rev?: string | undefined;
  shortRev?: string | undefined;
  lastModified?: Date | undefined;
  /** Calendar days from the locked revision's date to the upstream one's (negative: upstream went back). */
  daysBehind?: number | undefined;
  /** Commits between the two, where Nix counts them (`revCount` of git inputs). */
  commitsBehind?: number | undefined;
  compareUrl?: string | undefined;
}

export interface InputRow extends InputVerdict {
  /** Only with `upstream`; undefined for follows inputs and for inputs the update would drop. */
  upstream?: UpstreamStatus | undefined;
}

/** An input's upstream status from its entry in the diff between the lock and the updated lock. */
export function upstreamStatus(input: LockedInput, diff: InputDiff | undefined): UpstreamStatus | undefined {
  if (input.followsTarget !== undefined || diff?.after === undefined) return undefined;
  const after = diff.after;
  if (after.followsTarget !== undefined) return undefined;
  const upToDate = diff.status === "unchanged";
  const commits =
    input.revCount !== undefined && after.revCount !== undefined && diff.sourceChange === undefined
      ? after.revCount - input.revCount
      : undefined;
  return {
    upToDate,
    rev: after.rev,
    shortRev: after.shortRev,
    lastModified: after.lastModified,
    daysBehind: upToDate ? 0 : diff.daysMoved,
    commitsBehind: upToDate ? 0 : commits,
    compareUrl: upToDate ? undefined : diff.compareUrl,
  };
}
