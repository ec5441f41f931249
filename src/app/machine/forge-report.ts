/**
 * `ternix upgrade --report-to-forge`: after a run that reached a verdict on a commit, the host posts
 * a commit status `ternix/host/<HOST>` on it, which `ternix promote` and `ternix status --from-forge`
 * read (docs/rollout.md). Reporting never fails the upgrade: a forge that is down is logged,
 * recorded in the state file and counted by the metric `ternix_forge_report_failed`.
 */
import { ForgeError } from "../../errors.js";
import { isInterruption } from "../../proc/run.js";
import { fitDescription } from "../../forge/status.js";
import type { CommitState, StatusForge } from "../../forge/types.js";
import type { ForgeReportRecord, UpgradeResult } from "../../system/state.js";
import type { AppEvent } from "../effects.js";

/** The context every agent posts under: one per host, so a forge shows one line per host. */
export const HOST_STATUS_PREFIX = "ternix/host/";
export const hostStatusContext = (host: string) => `${HOST_STATUS_PREFIX}${host}`;

export interface UpgradeVerdict {
  result: UpgradeResult;
  /** The run's one-line message. */
  message: string;
  /** Whether the deployed system's checks ran (false for `--operation boot`). */
  checked?: boolean | undefined;
  rebootPending?: boolean | undefined;
  /** The host reboots right after the report. */
  rebooting?: boolean | undefined;
  /** An interrupt (Ctrl-C, SIGTERM) is no verdict on the commit. */
  interrupted?: boolean | undefined;
}

export interface CommitStatusReport {
  state: CommitState;
  description: string;
}

/**
 * Rules, one per result: success when the host runs the commit and its checks passed; failure
 * when its checks failed (rolled back, quarantined) or it is quarantined; error when the host could
 * not build it or refused it (not a fast-forward, not signed). An unchecked boot default is
 * `pending`: a canary that checked nothing proves nothing. Undefined: nothing to report.
 */
export function upgradeCommitStatus(v: UpgradeVerdict): CommitStatusReport | undefined {
  if (v.interrupted) return undefined;
  const reboot = v.rebootPending ? "; reboot pending" : v.rebooting ? "; rebooting now" : "";
  const text = (state: CommitState, prefix = "") => ({
    state,
    description: fitDescription(`${prefix}${v.message}${reboot}`),
  });
  switch (v.result) {
    case "upgraded":
    case "up_to_date":
      return v.checked === false ? text("pending") : text("success");
    case "checks_failed":
    case "quarantined":
      return text("failure");
    case "refused":
    case "error":
      return text("error");
  }
}

/** Posts the status; returns what to record. Never throws (an interrupt aside). */
export async function postCommitStatus(
  forge: StatusForge,
  host: string,
  commit: string,
  status: CommitStatusReport,
  at: string,
  onEvent: (event: AppEvent) => void,
): Promise<ForgeReportRecord> {
  const context = hostStatusContext(host);
  const record = { at, commit, context, state: status.state };
  try {
    await forge.createCommitStatus(commit, { context, ...status });
    onEvent({
      type: "log",
      level: "info",
      message: `upgrade: reported ${status.state} for ${commit.slice(0, 12)} to the forge as ${context}`,
    });
    return { ...record, ok: true, error: null };
  } catch (error) {
    if (isInterruption(error)) throw error;
    // ForgeErrors are redacted by the client; nothing else here ever saw the token.
    const reason =
      error instanceof ForgeError
        ? error.message
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    onEvent({
      type: "log",
      level: "warn",
      message: `could not report ${status.state} for ${commit.slice(0, 12)} to the forge (the upgrade's result stands): ${reason}`,
    });
    return { ...record, ok: false, error: reason };
  }
}
