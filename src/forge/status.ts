/**
 * Commit-status rules both adapters share: the description limit, reading a forge's state names,
 * and the combined state. Pure.
 */
import type { CombinedStatus, CommitState, CommitStatus, CreateCommitStatusInput } from "./types.js";

/**
 * GitHub refuses longer descriptions with 422 ("description is too long (maximum is 140
 * characters)"); Gitea/Forgejo store more but show one line, so both get the same cut.
 */
export const COMMIT_STATUS_DESCRIPTION_LIMIT = 140;

/** One line of at most `COMMIT_STATUS_DESCRIPTION_LIMIT` characters (code points), `…` when cut. */
export function fitDescription(text: string, limit = COMMIT_STATUS_DESCRIPTION_LIMIT): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ").trim();
  const chars = [...line];
  return chars.length <= limit ? line : `${chars.slice(0, limit - 1).join("")}…`;
}

/**
 * The body of `POST /repos/{owner}/{repo}/statuses/{sha}`: GitHub and Gitea/Forgejo take the same
 * fields (`state`, `context`, `description`, `target_url`).
 */
export function commitStatusBody(input: CreateCommitStatusInput): Record<string, string> {
  return {
    state: input.state,
    context: input.context,
    description: fitDescription(input.description),
    ...(input.targetUrl === undefined ? {} : { target_url: input.targetUrl }),
  };
}

/** A forge's state name as ours: Forgejo's `warning` is a success with a remark; unknown is pending. */
export function toCommitState(raw: string): CommitState {
  switch (raw.toLowerCase()) {
    case "success":
    case "warning":
      return "success";
    case "failure":
      return "failure";
    case "error":
      return "error";
    default:
      return "pending";
  }
}

/** The newest status per context, from a newest-first list. */
export function latestPerContext(statuses: readonly CommitStatus[]): CommitStatus[] {
  const seen = new Map<string, CommitStatus>();
  for (const s of [...statuses].sort(newestFirst)) if (!seen.has(s.context)) seen.set(s.context, s);
  return [...seen.values()];
}

/** GitHub's rule for the combined state (docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference). */
export function combineStatuses(statuses: readonly CommitStatus[]): CombinedStatus {
  const latest = latestPerContext(statuses);
  const state: CommitState = latest.some((s) => s.state === "failure" || s.state === "error")
    ? "failure"
    : latest.length === 0 || latest.some((s) => s.state === "pending")
      ? "pending"
      : "success";
  return { state, statuses: latest };
}

export function newestFirst(a: CommitStatus, b: CommitStatus): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt);
}

/** A commit id for a URL path: hex only, so nothing else can reach the path. */
export function requireCommitSha(sha: string): string {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) {
    throw new TypeError(`not a commit id: ${JSON.stringify(sha.slice(0, 80))}`);
  }
  return sha.toLowerCase();
}
