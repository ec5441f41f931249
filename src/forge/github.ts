import { ForgeError } from "../errors.js";
import { ForgeHttpClient, parseForgeResponse, type ForgeClientOptions } from "./http.js";
import {
  GitHubCombinedStatus,
  GitHubCommitStatus,
  GitHubCommitStatusList,
  GitHubDraftMutationResult,
  GitHubPullRequest,
  GitHubPullRequestList,
} from "./schema.js";
import { combineStatuses, commitStatusBody, requireCommitSha, toCommitState } from "./status.js";
import type {
  CombinedStatus,
  CommitStatus,
  CreateCommitStatusInput,
  CreatePullRequestInput,
  Forge,
  PullRequest,
  UpdatePullRequestInput,
} from "./types.js";

/** GitHub keeps at most 1000 statuses per commit and context; 10 pages of 100 read them all. */
const STATUS_PAGES = 10;

/** GitHub rejects longer PR bodies with 422 "body is too long (maximum is 65536 characters)". */
export const GITHUB_BODY_LIMIT = 65_536;

export const GITHUB_API_URL = "https://api.github.com";

export interface GitHubForgeOptions extends ForgeClientOptions {
  owner: string;
  repo: string;
  /** `https://api.github.com` (default) or a GitHub Enterprise Server `https://HOST/api/v3`. */
  apiUrl?: string | undefined;
  /** Defaults to the GraphQL endpoint next to `apiUrl` (used only to change the draft state). */
  graphqlUrl?: string | undefined;
}

/**
 * GitHub REST v3 (github.com and GitHub Enterprise Server).
 *
 * Drafts: a PR can be created as a draft (`draft: true`), but `PATCH /pulls/{n}` silently ignores
 * `draft`; converting an existing PR to or from a draft is only possible with the GraphQL mutations
 * `convertPullRequestToDraft` / `markPullRequestReadyForReview`, which `updatePr` uses when asked.
 */
export class GitHubForge implements Forge {
  readonly kind = "github" as const;
  readonly bodyLimit = GITHUB_BODY_LIMIT;
  readonly owner: string;
  readonly repo: string;
  readonly #http: ForgeHttpClient;
  readonly #graphqlUrl: string;

  constructor(options: GitHubForgeOptions) {
    const { owner, repo, apiUrl, graphqlUrl, userAgent, ...http } = options;
    this.owner = owner;
    this.repo = repo;
    const baseUrl = (apiUrl ?? GITHUB_API_URL).replace(/\/+$/, "");
    this.#http = new ForgeHttpClient({
      ...http,
      kind: "github",
      baseUrl,
      authScheme: "Bearer",
      headers: {
        Accept: "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": userAgent ?? "ternix",
      },
    });
    this.#graphqlUrl = graphqlUrl ?? githubGraphqlUrl(baseUrl);
  }

  async findOpenPr(head: string, base: string): Promise<PullRequest | undefined> {
    const path = this.#repoPath("/pulls");
    // `head` must be `owner:branch`; the owner also excludes same-named branches of forks.
    const response = await this.#http.request("GET", path, {
      query: { state: "open", head: `${this.owner}:${head}`, base, per_page: 100 },
    });
    const pulls = parseForgeResponse(this.#http, GitHubPullRequestList, response, { method: "GET", path });
    const match = pulls.find((pr) => pr.head.ref === head && pr.base.ref === base && pr.state === "open");
    return match === undefined ? undefined : toPullRequest(match);
  }

  async createPr(input: CreatePullRequestInput): Promise<PullRequest> {
    let created: PullRequest;
    try {
      created = await this.#create(input, input.draft);
    } catch (error) {
      const recovered = await this.#recoverCreate(error, input);
      if (recovered === undefined) throw error;
      created = recovered;
    }
    if (input.labels && input.labels.length > 0) await this.addLabels(created.number, input.labels);
    return created;
  }

  async updatePr(number: number, input: UpdatePullRequestInput): Promise<PullRequest> {
    const path = this.#repoPath(`/pulls/${number}`);
    const patch: Record<string, string> = {};
    if (input.title !== undefined) patch.title = input.title;
    if (input.body !== undefined) patch.body = input.body;
    const method = Object.keys(patch).length > 0 ? "PATCH" : "GET";
    const response = await this.#http.request(method, path, method === "PATCH" ? { body: patch } : {});
    const pr = parseForgeResponse(this.#http, GitHubPullRequest, response, { method, path });
    if (input.draft === undefined || (pr.draft ?? false) === input.draft) return toPullRequest(pr);
    if (pr.node_id === undefined) {
      throw new ForgeError(
        `GitHub API ${method} ${path}: the pull request has no node_id, so its draft state cannot be changed`,
        { method, url: this.#http.url(path) },
        { hint: "Change the draft state in the web interface, or upgrade GitHub Enterprise Server." },
      );
    }
    const isDraft = await this.#setDraft(pr.node_id, input.draft);
    return { ...toPullRequest(pr), draft: isDraft };
  }

  /** GitHub creates labels that do not exist yet (grey, no description; see github/docs#35718). */
  async addLabels(number: number, labels: readonly string[]): Promise<void> {
    if (labels.length === 0) return;
    await this.#http.request("POST", this.#repoPath(`/issues/${number}/labels`), { body: { labels } });
  }

  /** `POST /repos/{owner}/{repo}/statuses/{sha}` (docs.github.com/rest/commits/statuses). */
  async createCommitStatus(sha: string, input: CreateCommitStatusInput): Promise<CommitStatus> {
    const path = this.#repoPath(`/statuses/${requireCommitSha(sha)}`);
    const response = await this.#http.request("POST", path, { body: commitStatusBody(input) });
    return fromGitHubStatus(
      parseForgeResponse(this.#http, GitHubCommitStatus, response, { method: "POST", path }),
    );
  }

  /** `GET /repos/{owner}/{repo}/commits/{ref}/statuses`: every status, newest first. */
  async listCommitStatuses(sha: string): Promise<CommitStatus[]> {
    const path = this.#repoPath(`/commits/${requireCommitSha(sha)}/statuses`);
    const all: CommitStatus[] = [];
    for (let page = 1; page <= STATUS_PAGES; page++) {
      const response = await this.#http.request("GET", path, { query: { per_page: 100, page } });
      const items = parseForgeResponse(this.#http, GitHubCommitStatusList, response, { method: "GET", path });
      all.push(...items.map(fromGitHubStatus));
      if (items.length < 100) break;
    }
    return all;
  }

  /** `GET /repos/{owner}/{repo}/commits/{ref}/status`: the newest status of each context. */
  async combinedStatus(sha: string): Promise<CombinedStatus> {
    const path = this.#repoPath(`/commits/${requireCommitSha(sha)}/status`);
    const response = await this.#http.request("GET", path, { query: { per_page: 100 } });
    const combined = parseForgeResponse(this.#http, GitHubCombinedStatus, response, { method: "GET", path });
    return combineStatuses(combined.statuses.map(fromGitHubStatus));
  }

  async #create(input: CreatePullRequestInput, draft: boolean): Promise<PullRequest> {
    const path = this.#repoPath("/pulls");
    const response = await this.#http.request("POST", path, {
      body: { title: input.title, head: input.head, base: input.base, body: input.body, draft },
    });
    return toPullRequest(
      parseForgeResponse(this.#http, GitHubPullRequest, response, { method: "POST", path }),
    );
  }

  /**
   * Two 422s have a safe way out: the PR already exists (e.g. a retried POST whose first attempt
   * reached GitHub), so refresh it; or the repository's plan has no drafts, so open a normal PR.
   */
  async #recoverCreate(error: unknown, input: CreatePullRequestInput): Promise<PullRequest | undefined> {
    if (!(error instanceof ForgeError) || error.status !== 422) return undefined;
    if (/already exists/i.test(error.message)) {
      const existing = await this.findOpenPr(input.head, input.base);
      if (existing === undefined) return undefined;
      return this.updatePr(existing.number, { title: input.title, body: input.body, draft: input.draft });
    }
    if (input.draft && /draft/i.test(error.message)) return this.#create(input, false);
    return undefined;
  }

  async #setDraft(nodeId: string, draft: boolean): Promise<boolean> {
    const mutation = draft ? "convertPullRequestToDraft" : "markPullRequestReadyForReview";
    const query = `mutation($id: ID!) { ${mutation}(input: { pullRequestId: $id }) { pullRequest { isDraft } } }`;
    const response = await this.#http.request("POST", this.#graphqlUrl, {
      body: { query, variables: { id: nodeId } },
    });
    const result = parseForgeResponse(this.#http, GitHubDraftMutationResult, response, {
      method: "POST",
      path: this.#graphqlUrl,
    });
    const isDraft = result.data?.[mutation]?.pullRequest.isDraft;
    if (result.errors?.length || isDraft === undefined) {
      const messages = result.errors?.map((e) => e.message).join("; ") ?? "no result";
      throw new ForgeError(
        this.#http.redact(`GitHub GraphQL ${mutation} failed: ${messages}`),
        { method: "POST", url: this.#graphqlUrl, status: response.status },
        {
          hint: "Changing the draft state needs GraphQL access with pull-request write permission, and draft pull requests must be available for the repository's plan.",
        },
      );
    }
    return isDraft;
  }

  #repoPath(suffix: string): string {
    return `/repos/${encodeURIComponent(this.owner)}/${encodeURIComponent(this.repo)}${suffix}`;
  }
}

/** github.com: `https://api.github.com/graphql`; GitHub Enterprise Server: `https://HOST/api/graphql`. */
export function githubGraphqlUrl(apiUrl: string): string {
  const base = apiUrl.replace(/\/+$/, "");
  return /\/api\/v3$/.test(base) ? base.replace(/\/v3$/, "/graphql") : `${base}/graphql`;
}

function toPullRequest(pr: GitHubPullRequest): PullRequest {
  return {
    number: pr.number,
    url: pr.html_url,
    state: pr.state,
    draft: pr.draft ?? false,
    head: pr.head.ref,
    base: pr.base.ref,
    title: pr.title,
    body: pr.body ?? "",
  };
}

function fromGitHubStatus(s: GitHubCommitStatus): CommitStatus {
  return {
    context: s.context ?? "default",
    state: toCommitState(s.state),
    description: s.description ?? "",
    targetUrl: s.target_url ?? undefined,
    createdAt: s.created_at,
  };
}
