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

/** `--fail-on`: the risk kinds asked for, and which hosts carry one (any hit: exit 5). */
export interface RiskGate {
  kinds: string[];
  hits: { host: string; kind: string }[];
}

/** Which hosts carry a risk of one of `kinds`: one hit per host and kind, in host order. */
export function riskGate(hosts: readonly HostPlan[], kinds: readonly string[]): RiskGate {
  const hits: RiskGate["hits"] = [];
  for (const h of hosts) {
    for (const kind of kinds) {
      if (h.diff?.risks.some((r) => r.id === kind)) hits.push({ host: h.host, kind });
    }
  }
  return { kinds: [...kinds], hits };
}

/** The exit code: a `--fail-on` hit (5) before the outcome's own code. */
export function planExitCode(result: Pick<PlanResult, "outcome" | "gate">): number {
  if (result.gate && result.gate.hits.length > 0) return ExitCode.checkFailed;
  return planExitCodes[result.outcome];
}

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
  /** `--fail-on`, when given. */
  gate?: RiskGate | undefined;
}

export interface PlanCachePush {
  storeUri: string;
  /** Hosts whose after-system was copied (with its closure). */
  hosts: string[];
  signed: boolean;
}
