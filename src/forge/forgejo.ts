import type { z } from "zod";
import { ForgeError } from "../errors.js";
import { ForgeHttpClient, parseForgeResponse, type ForgeClientOptions } from "./http.js";
import {
  ForgejoCombinedStatus,
  ForgejoCommitStatus,
  ForgejoCommitStatusList,
  ForgejoLabel,
  ForgejoLabelList,
  ForgejoPullRequest,
  ForgejoPullRequestList,
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

/**
 * Default PR body limit for Forgejo/Gitea. The servers set none: the body is stored in the issue's
 * `content` column, declared `LONGTEXT` (4 GiB on MySQL, unbounded TEXT on PostgreSQL/SQLite), and the
 * API does not check its length. What does bite is the reverse proxy in front of most instances
 * (nginx's default `client_max_body_size` is 1 MiB), and very long bodies render slowly; 200 000
 * characters keeps the JSON request under 1 MiB even for mostly multi-byte text. Configurable.
 */
export const FORGEJO_DEFAULT_BODY_LIMIT = 200_000;

/**
 * Gitea/Forgejo have no draft flag in the API: a PR whose title starts with one of
 * `[repository.pull-request] WORK_IN_PROGRESS_PREFIXES` (default `WIP:,[WIP]`, compared without case)
 * is a draft ("work in progress"). The first prefix is the one Ternix writes.
 */
export const FORGEJO_WIP_PREFIXES: readonly string[] = ["WIP:", "[WIP]"];

const PAGE_SIZE = 50;
const MAX_PAGES = 40;

export interface ForgejoForgeOptions extends ForgeClientOptions {
  owner: string;
  repo: string;
  /** API root, e.g. `https://codeberg.org/api/v1`. */
  apiUrl: string;
  bodyLimit?: number | undefined;
  /** The instance's WORK_IN_PROGRESS_PREFIXES, when changed from the default. */
  wipPrefixes?: readonly string[] | undefined;
}

/** Forgejo and Gitea API v1 (one implementation: Forgejo is a Gitea fork with the same pulls API). */
export class ForgejoForge implements Forge {
  readonly kind = "forgejo" as const;
  readonly bodyLimit: number;
  readonly owner: string;
  readonly repo: string;
  readonly #http: ForgeHttpClient;
  readonly #wipPrefixes: readonly string[];

  constructor(options: ForgejoForgeOptions) {
    const { owner, repo, apiUrl, bodyLimit, wipPrefixes, userAgent, ...http } = options;
    this.owner = owner;
    this.repo = repo;
    this.bodyLimit = bodyLimit ?? FORGEJO_DEFAULT_BODY_LIMIT;
    this.#wipPrefixes = wipPrefixes && wipPrefixes.length > 0 ? wipPrefixes : FORGEJO_WIP_PREFIXES;
    this.#http = new ForgeHttpClient({
      ...http,
      kind: "forgejo",
      baseUrl: apiUrl,
      authScheme: "token",
      headers: { "User-Agent": userAgent ?? "ternix" },
    });
  }

  /**
   * Lists open PRs and matches the head branch: the list endpoint cannot filter by head
   * (`base_branch` narrows it on servers that know it and is ignored by older ones).
   * `GET /pulls/{base}/{head}` exists on newer servers, but it may return a closed PR and cannot
   * address a base branch containing `/`, so it is not used.
   */
  async findOpenPr(head: string, base: string): Promise<PullRequest | undefined> {
    const query = { state: "open", base_branch: base, sort: "recentupdate" };
    // Recently updated first: Ternix's own PR is usually on the first page.
    for await (const page of this.#pages(this.#repoPath("/pulls"), ForgejoPullRequestList, query)) {
      const match = page.find(
        (pr) => pr.state === "open" && pr.head.ref === head && pr.base.ref === base && this.#fromThisRepo(pr),
      );
      if (match !== undefined) return this.#toPullRequest(match);
    }
    return undefined;
  }

  async createPr(input: CreatePullRequestInput): Promise<PullRequest> {
    const path = this.#repoPath("/pulls");
    let created: PullRequest;
    try {
      const response = await this.#http.request("POST", path, {
        body: {
          head: input.head,
          base: input.base,
          title: this.#title(input.title, input.draft),
          body: input.body,
        },
      });
      created = this.#toPullRequest(
        parseForgeResponse(this.#http, ForgejoPullRequest, response, { method: "POST", path }),
      );
    } catch (error) {
      // 409: an unmerged PR for head → base exists already (e.g. a retried POST); refresh it instead.
      if (!(error instanceof ForgeError) || error.status !== 409) throw error;
      const existing = await this.findOpenPr(input.head, input.base);
      if (existing === undefined) throw error;
      created = await this.updatePr(existing.number, {
        title: input.title,
        body: input.body,
        draft: input.draft,
      });
    }
    if (input.labels && input.labels.length > 0) await this.addLabels(created.number, input.labels);
    return created;
  }

  async updatePr(number: number, input: UpdatePullRequestInput): Promise<PullRequest> {
    const path = this.#repoPath(`/pulls/${number}`);
    // The draft state lives in the title, so changing one of them needs the current other.
    const current =
      (input.title === undefined) !== (input.draft === undefined) ? await this.#get(number) : undefined;
    const patch: Record<string, string> = {};
    if (input.title !== undefined || input.draft !== undefined) {
      const title = input.title ?? this.#stripWip(current?.title ?? "");
      const draft = input.draft ?? (current === undefined ? false : this.#isDraft(current));
      patch.title = this.#title(title, draft);
    }
    if (input.body !== undefined) patch.body = input.body;
    if (Object.keys(patch).length === 0) return this.#toPullRequest(current ?? (await this.#get(number)));
    const response = await this.#http.request("PATCH", path, { body: patch });
    return this.#toPullRequest(
      parseForgeResponse(this.#http, ForgejoPullRequest, response, { method: "PATCH", path }),
    );
  }

  /**
   * Label ids are looked up by name (older servers accept only ids). A name that exists neither in
   * the repository nor in its organization is created in the repository, as GitHub does when a
   * pull request gets an unknown label; when the forge refuses (e.g. 403: the token may not create
   * labels), the name is skipped.
   */
  async addLabels(number: number, labels: readonly string[]): Promise<void> {
    if (labels.length === 0) return;
    const known = await this.#all(this.#repoPath("/labels"), ForgejoLabelList);
    if (labels.some((name) => findLabel(known, name) === undefined)) {
      try {
        known.push(...(await this.#all(`/orgs/${encodeURIComponent(this.owner)}/labels`, ForgejoLabelList)));
      } catch (error) {
        // 404: the owner is a user, who has no organization labels.
        if (!(error instanceof ForgeError) || error.status !== 404) throw error;
      }
    }
    for (const name of new Set(labels)) {
      if (findLabel(known, name) !== undefined) continue;
      const created = await this.#createLabel(name);
      if (created !== undefined) known.push(created);
    }
    const ids = [...new Set(labels.map((name) => findLabel(known, name)).filter((id) => id !== undefined))];
    if (ids.length === 0) return;
    await this.#http.request("POST", this.#repoPath(`/issues/${number}/labels`), { body: { labels: ids } });
  }

  /** `POST /repos/{owner}/{repo}/statuses/{sha}` (swagger `repoCreateStatus`). */
  async createCommitStatus(sha: string, input: CreateCommitStatusInput): Promise<CommitStatus> {
    const path = this.#repoPath(`/statuses/${requireCommitSha(sha)}`);
    const response = await this.#http.request("POST", path, { body: commitStatusBody(input) });
    return fromForgejoStatus(
      parseForgeResponse(this.#http, ForgejoCommitStatus, response, { method: "POST", path }),
    );
  }

  /** `GET /repos/{owner}/{repo}/commits/{ref}/statuses` (`repoGetCommitStatusesByRef`), newest first. */
  async listCommitStatuses(sha: string): Promise<CommitStatus[]> {
    const path = this.#repoPath(`/commits/${requireCommitSha(sha)}/statuses`);
    const all: CommitStatus[] = [];
    for await (const page of this.#pages(path, ForgejoCommitStatusList, { sort: "newest" }))
      all.push(...page.map(fromForgejoStatus));
    return all.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  }

  /** `GET /repos/{owner}/{repo}/commits/{ref}/status` (`repoGetCombinedStatusByRef`). */
  async combinedStatus(sha: string): Promise<CombinedStatus> {
    const path = this.#repoPath(`/commits/${requireCommitSha(sha)}/status`);
    const response = await this.#http.request("GET", path, { query: { limit: PAGE_SIZE } });
    const combined = parseForgeResponse(this.#http, ForgejoCombinedStatus, response, { method: "GET", path });
    return combineStatuses((combined.statuses ?? []).map(fromForgejoStatus));
  }

  async #createLabel(name: string): Promise<ForgejoLabel | undefined> {
    const path = this.#repoPath("/labels");
    try {
      // `color` is required; GitHub's default grey for labels created on the fly.
      const response = await this.#http.request("POST", path, { body: { name, color: "#ededed" } });
      return parseForgeResponse(this.#http, ForgejoLabel, response, { method: "POST", path });
    } catch (error) {
      // The pull request exists by now; a label the forge refuses (no permission, a name it
      // rejects) is not worth failing the run for.
      if (
        error instanceof ForgeError &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500
      )
        return undefined;
      throw error;
    }
  }

  async #get(number: number): Promise<ForgejoPullRequest> {
    const path = this.#repoPath(`/pulls/${number}`);
    const response = await this.#http.request("GET", path);
    return parseForgeResponse(this.#http, ForgejoPullRequest, response, { method: "GET", path });
  }

  async #all<T>(path: string, schema: z.ZodType<T[]>): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.#pages(path, schema, {})) all.push(...page);
    return all;
  }

  async *#pages<T>(
    path: string,
    schema: z.ZodType<T[]>,
    query: Record<string, string | number | undefined>,
  ): AsyncGenerator<T[]> {
    let seen = 0;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const response = await this.#http.request("GET", path, { query: { ...query, limit: PAGE_SIZE, page } });
      const items = parseForgeResponse(this.#http, schema, response, { method: "GET", path });
      if (items.length === 0) return;
      yield items;
      seen += items.length;
      // Servers cap `limit` (MAX_RESPONSE_ITEMS), so a short page does not prove the end; the total does.
      const total = Number(response.headers.get("x-total-count"));
      if (Number.isFinite(total) && total > 0 && seen >= total) return;
    }
  }

  #fromThisRepo(pr: ForgejoPullRequest): boolean {
    const fullName = pr.head.repo?.full_name;
    if (fullName) return fullName.toLowerCase() === `${this.owner}/${this.repo}`.toLowerCase();
    // Without the head repository (deleted fork), a fork's label is `owner:branch`.
    return pr.head.label === undefined || !pr.head.label.includes(":");
  }

  #title(title: string, draft: boolean): string {
    const clean = this.#stripWip(title);
    return draft ? `${this.#wipPrefixes[0] ?? "WIP:"} ${clean}` : clean;
  }

  #wipPrefix(title: string): string | undefined {
    const lower = title.trimStart().toLowerCase();
    return this.#wipPrefixes.find((prefix) => lower.startsWith(prefix.toLowerCase()));
  }

  #stripWip(title: string): string {
    const prefix = this.#wipPrefix(title);
    return prefix === undefined ? title : title.trimStart().slice(prefix.length).trimStart();
  }

  #isDraft(pr: ForgejoPullRequest): boolean {
    return pr.draft ?? this.#wipPrefix(pr.title) !== undefined;
  }

  #toPullRequest(pr: ForgejoPullRequest): PullRequest {
    return {
      number: pr.number,
      url: pr.html_url,
      state: pr.state,
      draft: this.#isDraft(pr),
      head: pr.head.ref,
      base: pr.base.ref,
      title: this.#stripWip(pr.title),
      body: pr.body ?? "",
    };
  }

  #repoPath(suffix: string): string {
    return `/repos/${encodeURIComponent(this.owner)}/${encodeURIComponent(this.repo)}${suffix}`;
  }
}

function findLabel(labels: readonly { id: number; name: string }[], name: string): number | undefined {
  return (
    labels.find((l) => l.name === name) ?? labels.find((l) => l.name.toLowerCase() === name.toLowerCase())
  )?.id;
}

function fromForgejoStatus(s: ForgejoCommitStatus): CommitStatus {
  return {
    context: s.context ?? "default",
    state: toCommitState(s.status),
    description: s.description ?? "",
    targetUrl: s.target_url ?? undefined,
    createdAt: s.created_at,
  };
}
