import type { ForgeTarget } from "./detect.js";
import { ForgejoForge } from "./forgejo.js";
import { GitHubForge } from "./github.js";
import type { ForgeClientOptions } from "./http.js";
import type { Forge } from "./types.js";

export type {
  CombinedStatus,
  CommitState,
  CommitStatus,
  CreateCommitStatusInput,
  CreatePullRequestInput,
  Forge,
  ForgeKind,
  PullRequest,
  StatusForge,
  UpdatePullRequestInput,
} from "./types.js";
export {
  COMMIT_STATUS_DESCRIPTION_LIMIT,
  combineStatuses,
  fitDescription,
  latestPerContext,
  toCommitState,
} from "./status.js";
export {
  detectForge,
  forgeTokenVariables,
  kindFromHost,
  parseRemoteUrl,
  requireForgeToken,
  resolveForgeToken,
} from "./detect.js";
export type { DetectForgeInput, Env, ForgeFlags, ForgeTarget, ForgeToken, RemoteLocation } from "./detect.js";
export { DEFAULT_FULL_REPORT_NOTE, SUMMARY_END_MARKER, fitBody } from "./body.js";
export type { FitBodyOptions, FittedBody } from "./body.js";
export { FORGEJO_DEFAULT_BODY_LIMIT, FORGEJO_WIP_PREFIXES, ForgejoForge } from "./forgejo.js";
export type { ForgejoForgeOptions } from "./forgejo.js";
export { GITHUB_API_URL, GITHUB_BODY_LIMIT, GitHubForge, githubGraphqlUrl } from "./github.js";
export type { GitHubForgeOptions } from "./github.js";
export type { Fetch, ForgeClientOptions, RetryEvent } from "./http.js";

export interface CreateForgeOptions extends ForgeClientOptions {
  /** Forgejo/Gitea only: overrides `FORGEJO_DEFAULT_BODY_LIMIT`. */
  bodyLimit?: number | undefined;
  /** Forgejo/Gitea only: the instance's WORK_IN_PROGRESS_PREFIXES. */
  wipPrefixes?: readonly string[] | undefined;
}

/** The adapter for a detected target. */
export function createForge(target: ForgeTarget, options: CreateForgeOptions): Forge {
  const { bodyLimit, wipPrefixes, ...client } = options;
  const where = { owner: target.owner, repo: target.repo, apiUrl: target.apiUrl };
  return target.kind === "github"
    ? new GitHubForge({ ...client, ...where })
    : new ForgejoForge({ ...client, ...where, bodyLimit, wipPrefixes });
}
