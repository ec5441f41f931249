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
