/** The plan's data model: what `ternix plan` returns and every renderer reads. No effects. */
import type { BuildCost, ClosureDiff, PackageChange } from "../../closure/model.js";
import { ExitCode } from "../../errors.js";
import type { HostManifest } from "../manifest.js";
import type { LockDiff } from "../../lock/diff.js";
import type { HostBuild } from "./hosts.js";

export type HostStatus =
  /** Built on both sides; the toplevel differs. */
  | "changed"
  /** Built on both sides; same toplevel. */
  | "unchanged"
  /** Built before the update, fails after it. */
  | "broken"
  /** Failed before the update, builds after it. */
  | "fixed"
  /** Fails on both sides. */
  | "failing";

export interface HostPlan {
  host: string;
  status: HostStatus;
  before: HostBuild;
  after: HostBuild;
  diff?: ClosureDiff | undefined;
  /**
   * `--no-build` only: version changes of packages needed only to build the host (compilers, build
   * tools), which the run-time diff leaves out.
   */
  buildTimeChanges?: PackageChange[] | undefined;
  /** What building the after side cost (asked with `--dry-run` before building). */
  cost?: BuildCost | undefined;
}

export type PlanOutcome = "changed" | "lock-unchanged" | "no-host-changed" | "host-broken";

export const planExitCodes: Record<PlanOutcome, number> = {
  changed: ExitCode.ok,
  "lock-unchanged": ExitCode.lockUnchanged,
  "no-host-changed": ExitCode.noHostChanged,
  "host-broken": ExitCode.hostBroken,
};

export interface PlanResult {
  outcome: PlanOutcome;
  flakeDir: string;
  mode: "update" | "skip-update";
  /**
   * What the host diffs come from: built closures, or (`--no-build`) derivation closures, a preview
   * without sizes whose statuses mean "evaluates" rather than "builds".
   */
  basis: "build" | "derivations";
  inputs: string[];
  lockDiff: LockDiff;
  hosts: HostPlan[];
  skippedHosts: string[];
  /** Where the updated lock ended up. */
  lockState: "updated" | "restored" | "untouched";
  timings: Record<string, number>;
  /** `--push-to`: what was copied to the binary cache. */
  cache?: PlanCachePush | undefined;
  /** `--manifest` (and `pr`): each host's after toplevel and the source tree it came from. */
  manifest?: HostManifest | undefined;
}

export interface PlanCachePush {
  storeUri: string;
  /** Hosts whose after-system was copied (with its closure). */
  hosts: string[];
  signed: boolean;
}
