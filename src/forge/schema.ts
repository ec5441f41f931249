import { z } from "zod";

/**
 * The parts of the forges' answers Ternix reads. Unknown fields are dropped; missing optional ones
 * get defaults so older servers (GHES, old Gitea) still parse.
 */

/** GitHub REST `pull-request-simple` / `pull-request` (docs.github.com/rest/pulls/pulls). */
export const GitHubPullRequest = z.object({
  number: z.number().int(),
  node_id: z.string().optional(),
  html_url: z.string(),
  state: z.enum(["open", "closed"]),
  /** Absent on servers without draft support. */
  draft: z.boolean().optional(),
  title: z.string(),
  body: z.string().nullish(),
  head: z.object({ ref: z.string(), label: z.string().optional() }),
  base: z.object({ ref: z.string() }),
});
export type GitHubPullRequest = z.infer<typeof GitHubPullRequest>;

export const GitHubPullRequestList = z.array(GitHubPullRequest);

/** Answer of the `convertPullRequestToDraft` / `markPullRequestReadyForReview` mutations. */
export const GitHubDraftMutationResult = z.object({
  data: z
    .record(z.string(), z.object({ pullRequest: z.object({ isDraft: z.boolean() }) }).nullable())
    .nullish(),
  errors: z.array(z.object({ message: z.string() })).optional(),
});

/** Gitea/Forgejo API v1 `PullRequest` (swagger definition). */
export const ForgejoPullRequest = z.object({
  number: z.number().int(),
  html_url: z.string(),
  state: z.enum(["open", "closed"]),
  /** Newer servers report the WIP-prefix state; older ones do not send it. */
  draft: z.boolean().optional(),
  title: z.string(),
  body: z.string().nullish(),
  head: z.object({
    ref: z.string(),
    label: z.string().optional(),
    repo: z.object({ full_name: z.string() }).nullish(),
  }),
  base: z.object({ ref: z.string() }),
});
export type ForgejoPullRequest = z.infer<typeof ForgejoPullRequest>;

export const ForgejoPullRequestList = z.array(ForgejoPullRequest);

export const ForgejoLabel = z.object({ id: z.number().int(), name: z.string() });
export type ForgejoLabel = z.infer<typeof ForgejoLabel>;
export const ForgejoLabelList = z.array(ForgejoLabel);

/**
 * Commit statuses (`ternix upgrade --report-to-forge`, `ternix promote`). GitHub calls the result
 * `state` (docs.github.com/rest/commits/statuses); Gitea/Forgejo's `CommitStatus` calls it `status`
 * and knows one more value, `warning`. Timestamps are ISO 8601.
 */
export const GitHubCommitStatus = z.object({
  id: z.number().optional(),
  state: z.string(),
  context: z.string().nullish(),
  description: z.string().nullish(),
  target_url: z.string().nullish(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
});
export type GitHubCommitStatus = z.infer<typeof GitHubCommitStatus>;
export const GitHubCommitStatusList = z.array(GitHubCommitStatus);
export const GitHubCombinedStatus = z.object({
  state: z.string(),
  sha: z.string().optional(),
  total_count: z.number().optional(),
  statuses: z.array(GitHubCommitStatus),
});

export const ForgejoCommitStatus = z.object({
  id: z.number().optional(),
  status: z.string(),
  context: z.string().nullish(),
  description: z.string().nullish(),
  target_url: z.string().nullish(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
});
export type ForgejoCommitStatus = z.infer<typeof ForgejoCommitStatus>;
export const ForgejoCommitStatusList = z.array(ForgejoCommitStatus);
export const ForgejoCombinedStatus = z.object({
  /** Empty on old servers when the commit has no status. */
  state: z.string().nullish(),
  sha: z.string().optional(),
  total_count: z.number().optional(),
  statuses: z.array(ForgejoCommitStatus).nullish(),
});
