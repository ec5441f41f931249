import { afterEach, describe, expect, it } from "vitest";
import { ForgeError } from "../errors.js";
import { GITHUB_BODY_LIMIT, GitHubForge, githubGraphqlUrl } from "./github.js";
import {
  recordingSleep,
  startTestServer,
  type RecordedRequest,
  type Reply,
  type TestServer,
} from "./test-server.test-support.js";

const TOKEN = "ghs_installationTokenForTests0001";
const OWNER = "acme";
const REPO = "infra";

interface FakePull {
  number: number;
  node_id: string;
  state: "open" | "closed";
  draft: boolean;
  title: string;
  body: string | null;
  head: string;
  headOwner: string;
  base: string;
  labels: string[];
}

/**
 * A fake GitHub REST + GraphQL API serving documented response shapes, mounted under `prefix`
 * (`/api/v3` for GitHub Enterprise Server; GraphQL then lives at `/api/graphql`).
 */
class FakeGitHub {
  pulls: FakePull[] = [];
  draftsSupported = true;
  next = 41;

  constructor(readonly prefix: string) {}

  handle = (req: RecordedRequest): Reply => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return { status: 401, body: { message: "Bad credentials" } };
    const graphqlPath = this.prefix === "" ? "/graphql" : this.prefix.replace(/\/v3$/, "/graphql");
    if (req.method === "POST" && req.path === graphqlPath) return this.graphql(req);
    const repoPrefix = `${this.prefix}/repos/${OWNER}/${REPO}`;
    if (!req.path.startsWith(repoPrefix)) return { status: 404, body: { message: "Not Found" } };
    const path = req.path.slice(repoPrefix.length);
    const body = (req.body ?? {}) as Record<string, unknown>;

    if (req.method === "GET" && path === "/pulls") {
      const state = req.query.get("state") ?? "open";
      const head = req.query.get("head");
      const base = req.query.get("base");
      const list = this.pulls.filter(
        (p) =>
          (state === "all" || p.state === state) &&
          (head === null || `${p.headOwner}:${p.head}` === head) &&
          (base === null || p.base === base),
      );
      return { status: 200, body: list.map((p) => this.toJson(p)) };
    }
    if (req.method === "POST" && path === "/pulls") {
      const head = String(body.head);
      const base = String(body.base);
      if (this.pulls.some((p) => p.state === "open" && p.head === head && p.base === base)) {
        return {
          status: 422,
          body: {
            message: "Validation Failed",
            errors: [
              {
                resource: "PullRequest",
                code: "custom",
                message: `A pull request already exists for ${OWNER}:${head}.`,
              },
            ],
            documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            status: "422",
          },
        };
      }
      if (body.draft === true && !this.draftsSupported) {
        return {
          status: 422,
          body: {
            message: "Validation Failed",
            errors: [
              {
                resource: "PullRequest",
                code: "custom",
                message: "Draft pull requests are not supported in this repository.",
              },
            ],
          },
        };
      }
      const pull: FakePull = {
        number: this.next++,
        node_id: `PR_kwDOtest${this.next}`,
        state: "open",
        draft: body.draft === true,
        title: String(body.title),
        body: typeof body.body === "string" ? body.body : null,
        head,
        headOwner: OWNER,
        base,
        labels: [],
      };
      this.pulls.push(pull);
      return { status: 201, body: this.toJson(pull) };
    }
    const one = /^\/pulls\/(\d+)$/.exec(path);
    if (one) {
      const pull = this.pulls.find((p) => p.number === Number(one[1]));
      if (!pull) return { status: 404, body: { message: "Not Found" } };
      if (req.method === "GET") return { status: 200, body: this.toJson(pull) };
      if (req.method === "PATCH") {
        if (typeof body.title === "string") pull.title = body.title;
        if (typeof body.body === "string") pull.body = body.body;
        // Documented behaviour: `draft` is not an accepted field of "Update a pull request".
        return { status: 200, body: this.toJson(pull) };
      }
    }
    const labels = /^\/issues\/(\d+)\/labels$/.exec(path);
    if (labels && req.method === "POST") {
      const pull = this.pulls.find((p) => p.number === Number(labels[1]));
      if (!pull) return { status: 404, body: { message: "Not Found" } };
      pull.labels.push(...(body.labels as string[]));
      return { status: 200, body: pull.labels.map((name, i) => ({ id: i + 1, name, color: "ededed" })) };
    }
    return { status: 404, body: { message: "Not Found" } };
  };

  graphql(req: RecordedRequest): Reply {
    const { query, variables } = req.body as { query: string; variables: { id: string } };
    const mutation = /(convertPullRequestToDraft|markPullRequestReadyForReview)/.exec(query)?.[1];
    const pull = this.pulls.find((p) => p.node_id === variables.id);
    if (!mutation || !pull) {
      return {
        status: 200,
        body: {
          data: null,
          errors: [{ message: `Could not resolve to a node with the global id of '${variables.id}'` }],
        },
      };
    }
    pull.draft = mutation === "convertPullRequestToDraft";
    return { status: 200, body: { data: { [mutation]: { pullRequest: { isDraft: pull.draft } } } } };
  }

  toJson(p: FakePull) {
    const repo = { id: 1, name: REPO, full_name: `${p.headOwner}/${REPO}` };
    return {
      url: `https://api.github.com/repos/${OWNER}/${REPO}/pulls/${p.number}`,
      id: 1000 + p.number,
      node_id: p.node_id,
      html_url: `https://github.com/${OWNER}/${REPO}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: { login: "github-actions[bot]", id: 41898282 },
      body: p.body,
      labels: p.labels.map((name) => ({ name })),
      draft: p.draft,
      head: {
        label: `${p.headOwner}:${p.head}`,
        ref: p.head,
        sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        repo,
      },
      base: {
        label: `${OWNER}:${p.base}`,
        ref: p.base,
        sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        repo,
      },
      author_association: "NONE",
    };
  }
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(prefix = "/api/v3") {
  const fake = new FakeGitHub(prefix);
  server = await startTestServer(fake.handle);
  const forge = new GitHubForge({
    fetch,
    token: TOKEN,
    owner: OWNER,
    repo: REPO,
    apiUrl: `${server.url}${prefix}`,
    sleep: recordingSleep().sleep,
    userAgent: "ternix/test",
  });
  return { fake, forge, requests: server.requests };
}

function existing(fake: FakeGitHub, overrides: Partial<FakePull> = {}): FakePull {
  const pull: FakePull = {
    number: fake.next++,
    node_id: `PR_existing${fake.next}`,
    state: "open",
    draft: false,
    title: "flake.lock: update",
    body: "old report",
    head: "ternix/update",
    headOwner: OWNER,
    base: "main",
    labels: [],
    ...overrides,
  };
  fake.pulls.push(pull);
  return pull;
}

describe("GitHubForge", () => {
  it("has GitHub's body limit", async () => {
    const { forge } = await setup();
    expect(forge.kind).toBe("github");
    expect(forge.bodyLimit).toBe(GITHUB_BODY_LIMIT);
    expect(GITHUB_BODY_LIMIT).toBe(65_536);
  });

  it("finds the open PR by owner:head and base, with GitHub's headers", async () => {
    const { fake, forge, requests } = await setup();
    existing(fake, { headOwner: "someone-else", number: 7 });
    existing(fake, { state: "closed", number: 8 });
    const open = existing(fake, { number: 9, body: null });

    const pr = await forge.findOpenPr("ternix/update", "main");
    expect(pr).toEqual({
      number: open.number,
      url: `https://github.com/${OWNER}/${REPO}/pull/${open.number}`,
      state: "open",
      draft: false,
      head: "ternix/update",
      base: "main",
      title: "flake.lock: update",
      body: "",
    });
    const [request] = requests;
    expect(request?.method).toBe("GET");
    expect(request?.path).toBe(`/api/v3/repos/${OWNER}/${REPO}/pulls`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      state: "open",
      head: `${OWNER}:ternix/update`,
      base: "main",
      per_page: "100",
    });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      "user-agent": "ternix/test",
    });
  });

  it("returns undefined when there is no open PR", async () => {
    const { forge } = await setup();
    expect(await forge.findOpenPr("ternix/update", "main")).toBeUndefined();
  });

  it("creates a draft PR and adds labels through the issues endpoint", async () => {
    const { fake, forge, requests } = await setup();
    const pr = await forge.createPr({
      head: "ternix/update",
      base: "main",
      title: "flake.lock: update",
      body: "## Report",
      draft: true,
      labels: ["dependencies", "nix"],
    });
    expect(pr).toMatchObject({
      number: 41,
      state: "open",
      draft: true,
      title: "flake.lock: update",
      body: "## Report",
    });
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/v3/repos/${OWNER}/${REPO}/pulls`,
      `POST /api/v3/repos/${OWNER}/${REPO}/issues/41/labels`,
    ]);
    expect(requests[0]?.body).toEqual({
      title: "flake.lock: update",
      head: "ternix/update",
      base: "main",
      body: "## Report",
      draft: true,
    });
    expect(requests[1]?.body).toEqual({ labels: ["dependencies", "nix"] });
    expect(fake.pulls[0]?.labels).toEqual(["dependencies", "nix"]);
  });

  it("opens a normal PR when the repository has no drafts", async () => {
    const { fake, forge, requests } = await setup();
    fake.draftsSupported = false;
    const pr = await forge.createPr({ head: "u", base: "main", title: "t", body: "b", draft: true });
    expect(pr.draft).toBe(false);
    expect(requests.map((r) => (r.body as { draft?: boolean }).draft)).toEqual([true, false]);
  });

  it("refreshes the existing PR when GitHub says it already exists", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);
    const pr = await forge.createPr({
      head: old.head,
      base: old.base,
      title: "new title",
      body: "new",
      draft: false,
    });
    expect(pr).toMatchObject({ number: old.number, title: "new title", body: "new" });
    expect(requests.map((r) => r.method)).toEqual(["POST", "GET", "PATCH"]);
  });

  it("updates title and body with PATCH and never sends draft there", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);
    const pr = await forge.updatePr(old.number, { body: "fresh report", draft: false });
    expect(pr.body).toBe("fresh report");
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: "PATCH",
      path: `/api/v3/repos/${OWNER}/${REPO}/pulls/${old.number}`,
      body: { body: "fresh report" },
    });
  });

  it("converts to draft and back through GraphQL (REST cannot)", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);

    const draft = await forge.updatePr(old.number, { title: "t", draft: true });
    expect(draft.draft).toBe(true);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `PATCH /api/v3/repos/${OWNER}/${REPO}/pulls/${old.number}`,
      "POST /api/graphql",
    ]);
    const gql = requests[1]?.body as { query: string; variables: unknown };
    expect(gql.query).toContain("convertPullRequestToDraft");
    expect(gql.variables).toEqual({ id: old.node_id });
    expect(requests[1]?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    const ready = await forge.updatePr(old.number, { draft: false });
    expect(ready.draft).toBe(false);
    expect(requests.slice(2).map((r) => r.method)).toEqual(["GET", "POST"]);
    expect((requests[3]?.body as { query: string }).query).toContain("markPullRequestReadyForReview");
  });

  it("reports GraphQL errors as ForgeError", async () => {
    const { fake, forge } = await setup();
    const old = existing(fake);
    fake.graphql = () => ({
      status: 200,
      body: { data: null, errors: [{ message: "Resource not accessible by integration" }] },
    });
    const error = await forge.updatePr(old.number, { draft: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeError);
    expect((error as ForgeError).message).toContain(
      "convertPullRequestToDraft failed: Resource not accessible by integration",
    );
  });

  it("talks to api.github.com paths when mounted at the root", async () => {
    const { fake, forge, requests } = await setup("");
    existing(fake);
    await forge.updatePr(41, { draft: true });
    expect(requests.map((r) => r.path)).toEqual([`/repos/${OWNER}/${REPO}/pulls/41`, "/graphql"]);
  });

  it("explains a missing repository", async () => {
    const fake = new FakeGitHub("/api/v3");
    server = await startTestServer(fake.handle);
    const forge = new GitHubForge({
      fetch,
      token: TOKEN,
      owner: "nobody",
      repo: "nothing",
      apiUrl: `${server.url}/api/v3`,
    });
    const error = (await forge.findOpenPr("a", "b").catch((e: unknown) => e)) as ForgeError;
    expect(error).toBeInstanceOf(ForgeError);
    expect(error.status).toBe(404);
    expect(error.hint).toMatch(/Repository not found/);
  });
});

describe("githubGraphqlUrl", () => {
  it.each([
    ["https://api.github.com", "https://api.github.com/graphql"],
    ["https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"],
    ["https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"],
  ])("%s → %s", (api, graphql) => {
    expect(githubGraphqlUrl(api)).toBe(graphql);
  });
});
