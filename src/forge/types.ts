/**
 * The one interface every forge implements. `ternix pr` only talks to this, so GitHub and
 * Forgejo/Gitea differences (draft handling, label ids, body limits) stay inside their adapters.
 */

export type ForgeKind = "github" | "forgejo";

export interface PullRequest {
  number: number;
  /** The web page of the pull request (`html_url`). */
  url: string;
  state: "open" | "closed";
  draft: boolean;
  /** Head branch name (without owner). */
  head: string;
  /** Base branch name. */
  base: string;
  /** The title as the user sees it: a Forgejo `WIP:` draft prefix is removed and reported as `draft`. */
  title: string;
  body: string;
}

export interface CreatePullRequestInput {
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  labels?: readonly string[] | undefined;
}

export interface UpdatePullRequestInput {
  title?: string | undefined;
  body?: string | undefined;
  draft?: boolean | undefined;
}

export interface Forge extends StatusForge {
  readonly kind: ForgeKind;
  /** Largest PR body the forge accepts, in UTF-16 code units (`string.length`); see `fitBody`. */
  readonly bodyLimit: number;
  /** The open pull request from `head` (in this repository, not a fork) into `base`, if any. */
  findOpenPr(head: string, base: string): Promise<PullRequest | undefined>;
  createPr(input: CreatePullRequestInput): Promise<PullRequest>;
  updatePr(number: number, input: UpdatePullRequestInput): Promise<PullRequest>;
  /** Adds labels that exist on the forge; unknown names are skipped where the forge cannot create them. */
  addLabels?(number: number, labels: readonly string[]): Promise<void>;
}

/** A commit status's result. Forgejo/Gitea also know `warning`, read as `success` with a note. */
export type CommitState = "pending" | "success" | "failure" | "error";

export interface CommitStatus {
  context: string;
  state: CommitState;
  description: string;
  targetUrl: string | undefined;
  /** ISO 8601, when the status was posted. */
  createdAt: string;
}

export interface CreateCommitStatusInput {
  state: CommitState;
  context: string;
  /** One line; cut to `COMMIT_STATUS_DESCRIPTION_LIMIT` by the adapters. */
  description: string;
  targetUrl?: string | undefined;
}

export interface CombinedStatus {
  /** `failure` if any context failed or errored, `pending` if any is pending (or none), else `success`. */
  state: CommitState;
  /** The newest status of each context. */
  statuses: CommitStatus[];
}

/** The part of the forge commit statuses need (`ternix upgrade --report-to-forge`, `ternix promote`). */
export interface StatusForge {
  readonly kind: ForgeKind;
  createCommitStatus(sha: string, input: CreateCommitStatusInput): Promise<CommitStatus>;
  /** Every status posted on the commit (several per context), newest first. */
  listCommitStatuses(sha: string): Promise<CommitStatus[]>;
  combinedStatus(sha: string): Promise<CombinedStatus>;
}
