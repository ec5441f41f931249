import { afterEach, describe, expect, it } from "vitest";
import { ForgeError } from "../errors.js";
import { FORGEJO_DEFAULT_BODY_LIMIT, ForgejoForge } from "./forgejo.js";
import {
  recordingSleep,
  startTestServer,
  type RecordedRequest,
  type Reply,
  type TestServer,
} from "./test-server.test-support.js";

const TOKEN = "3f1e2d4c5b6a79880f1e2d4c5b6a798800aabbcc";
const OWNER = "acme";
const REPO = "infra";

interface FakePull {
  number: number;
  state: "open" | "closed";
  title: string;
  body: string;
  head: string;
  headRepo: string | null;
  base: string;
  labels: number[];
}

/**
 * A fake Gitea/Forgejo API v1 with the documented `PullRequest` shape. Like the real servers it caps
 * page sizes (here at `maxPageSize`) and sends `x-total-count`, and derives `draft` from the
 * WORK_IN_PROGRESS_PREFIXES (`sendDraft` off imitates servers that do not report it).
 */
class FakeForgejo {
  pulls: FakePull[] = [];
  next = 12;
  maxPageSize = 2;
  sendDraft = true;
  denyLabelCreation = false;
  repoLabels = [
    {
      id: 3,
      name: "dependencies",
      color: "0075ca",
      description: "",
      exclusive: false,
      is_archived: false,
      url: "",
    },
    { id: 5, name: "Nix", color: "7e7eff", description: "", exclusive: false, is_archived: false, url: "" },
  ];

  handle = (req: RecordedRequest): Reply => {
    if (req.headers.authorization !== `token ${TOKEN}`) {
      return { status: 401, body: { message: "user does not exist [uid: 0, name: ]", url: "" } };
    }
    if (req.path === `/api/v1/orgs/${OWNER}/labels`)
      return { status: 404, body: { message: "GetOrgByName", url: "" } };
    const repoPrefix = `/api/v1/repos/${OWNER}/${REPO}`;
    if (!req.path.startsWith(repoPrefix))
      return { status: 404, body: { message: "The target couldn't be found.", errors: [] } };
    const path = req.path.slice(repoPrefix.length);
    const body = (req.body ?? {}) as Record<string, unknown>;

    if (req.method === "GET" && path === "/pulls") {
      const state = req.query.get("state") ?? "open";
      const list = this.pulls.filter((p) => state === "all" || p.state === state);
      return this.page(
        req,
        list.map((p) => this.toJson(p)),
      );
    }
    if (req.method === "GET" && path === "/labels") return this.page(req, this.repoLabels);
    if (req.method === "POST" && path === "/labels") {
      if (this.denyLabelCreation)
        return {
          status: 403,
          body: { message: "token does not have at least one of required scope(s): [write:issue]", url: "" },
        };
      if (typeof body.name !== "string" || !/^#[0-9a-f]{6}$/i.test(String(body.color)))
        return { status: 422, body: { message: "[Color]: Color is not valid", url: "" } };
      const label = {
        id: 100 + this.repoLabels.length,
        name: body.name,
        color: String(body.color).slice(1),
        description: "",
        exclusive: false,
        is_archived: false,
        url: "",
      };
      this.repoLabels.push(label);
      return { status: 201, body: label };
    }
    if (req.method === "POST" && path === "/pulls") {
      const head = String(body.head);
      const base = String(body.base);
      if (
        this.pulls.some(
          (p) =>
            p.state === "open" && p.head === head && p.base === base && p.headRepo === `${OWNER}/${REPO}`,
        )
      ) {
        return {
          status: 409,
          body: {
            message: `pull request already exists for these targets [id: 1, issue_id: 2, head_repo_id: 3, base_repo_id: 3, head_branch: ${head}, base_branch: ${base}]`,
            url: "",
          },
        };
      }
      const pull: FakePull = {
        number: this.next++,
        state: "open",
        title: String(body.title),
        body: typeof body.body === "string" ? body.body : "",
        head,
        headRepo: `${OWNER}/${REPO}`,
        base,
        labels: [],
      };
      this.pulls.push(pull);
      return { status: 201, body: this.toJson(pull) };
    }
    const one = /^\/pulls\/(\d+)$/.exec(path);
    if (one) {
      const pull = this.pulls.find((p) => p.number === Number(one[1]));
      if (!pull) return { status: 404, body: { message: "The target couldn't be found.", errors: [] } };
      if (req.method === "GET") return { status: 200, body: this.toJson(pull) };
      if (req.method === "PATCH") {
        if (typeof body.title === "string") pull.title = body.title;
        if (typeof body.body === "string") pull.body = body.body;
        return { status: 201, body: this.toJson(pull) };
      }
    }
    const labels = /^\/issues\/(\d+)\/labels$/.exec(path);
    if (labels && req.method === "POST") {
      const pull = this.pulls.find((p) => p.number === Number(labels[1]));
      if (!pull) return { status: 404, body: { message: "not found" } };
      pull.labels.push(...(body.labels as number[]));
      return { status: 200, body: this.repoLabels.filter((l) => pull.labels.includes(l.id)) };
    }
    return { status: 404, body: { message: "The target couldn't be found.", errors: [] } };
  };

  page(req: RecordedRequest, items: unknown[]): Reply {
    const limit = Math.min(Number(req.query.get("limit") ?? 30), this.maxPageSize);
    const page = Number(req.query.get("page") ?? 1);
    return {
      status: 200,
      headers: { "x-total-count": String(items.length) },
      body: items.slice((page - 1) * limit, page * limit),
    };
  }

  toJson(p: FakePull) {
    const wip = /^\s*(wip:|\[wip\])/i.test(p.title);
    const repo = (fullName: string | null) =>
      fullName === null
        ? null
        : { id: fullName === `${OWNER}/${REPO}` ? 1 : 2, name: REPO, full_name: fullName };
    return {
      id: 100 + p.number,
      url: `https://forge.example/${OWNER}/${REPO}/pulls/${p.number}`,
      number: p.number,
      user: { id: 1, login: "ternix-bot", username: "ternix-bot" },
      title: p.title,
      body: p.body,
      labels: [],
      milestone: null,
      assignee: null,
      assignees: null,
      state: p.state,
      is_locked: false,
      comments: 0,
      html_url: `https://forge.example/${OWNER}/${REPO}/pulls/${p.number}`,
      diff_url: `https://forge.example/${OWNER}/${REPO}/pulls/${p.number}.diff`,
      patch_url: `https://forge.example/${OWNER}/${REPO}/pulls/${p.number}.patch`,
      mergeable: true,
      merged: false,
      merged_at: null,
      merge_commit_sha: null,
      base: { label: p.base, ref: p.base, sha: "a".repeat(40), repo_id: 1, repo: repo(`${OWNER}/${REPO}`) },
      head: {
        label: p.headRepo === `${OWNER}/${REPO}` ? p.head : `fork:${p.head}`,
        ref: p.head,
        sha: "b".repeat(40),
        repo_id: 2,
        repo: repo(p.headRepo),
      },
      merge_base: "c".repeat(40),
      ...(this.sendDraft ? { draft: wip } : {}),
      created_at: "2026-01-15T12:00:00Z",
      updated_at: "2026-01-15T12:00:00Z",
    };
  }
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(options: { bodyLimit?: number; wipPrefixes?: string[] } = {}) {
  const fake = new FakeForgejo();
  server = await startTestServer(fake.handle);
  const forge = new ForgejoForge({
    fetch,
    token: TOKEN,
    owner: OWNER,
    repo: REPO,
    apiUrl: `${server.url}/api/v1`,
    sleep: recordingSleep().sleep,
    ...options,
  });
  return { fake, forge, requests: server.requests };
}

function existing(fake: FakeForgejo, overrides: Partial<FakePull> = {}): FakePull {
  const pull: FakePull = {
    number: fake.next++,
    state: "open",
    title: "flake.lock: update",
    body: "old report",
    head: "ternix/update",
    headRepo: `${OWNER}/${REPO}`,
    base: "main",
    labels: [],
    ...overrides,
  };
  fake.pulls.push(pull);
  return pull;
}

describe("ForgejoForge", () => {
  it("has a configurable body limit", async () => {
    expect((await setup()).forge.bodyLimit).toBe(FORGEJO_DEFAULT_BODY_LIMIT);
    await server?.close();
    expect((await setup({ bodyLimit: 65_535 })).forge.bodyLimit).toBe(65_535);
  });

  it("finds the open PR of this repository across capped pages, skipping forks and closed PRs", async () => {
    const { fake, forge, requests } = await setup();
    existing(fake, { head: "other" });
    existing(fake, { headRepo: "mallory/infra" }); // a fork's branch with the same name
    existing(fake, { state: "closed" });
    existing(fake, { base: "release" });
    const wanted = existing(fake, { title: "WIP: flake.lock: update" });

    const pr = await forge.findOpenPr("ternix/update", "main");
    expect(pr).toEqual({
      number: wanted.number,
      url: `https://forge.example/${OWNER}/${REPO}/pulls/${wanted.number}`,
      state: "open",
      draft: true,
      head: "ternix/update",
      base: "main",
      title: "flake.lock: update",
      body: "old report",
    });
    // 4 open PRs, 2 per page although 50 were asked: the total header ends the walk.
    expect(requests.map((r) => r.query.get("page"))).toEqual(["1", "2"]);
    expect(Object.fromEntries(requests[0]?.query ?? [])).toEqual({
      state: "open",
      base_branch: "main",
      sort: "recentupdate",
      limit: "50",
      page: "1",
    });
    expect(requests[0]?.path).toBe(`/api/v1/repos/${OWNER}/${REPO}/pulls`);
    expect(requests[0]?.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it("stops paging once the PR is found", async () => {
    const { fake, forge, requests } = await setup();
    existing(fake);
    existing(fake, { head: "other" });
    existing(fake, { head: "third" });
    expect(await forge.findOpenPr("ternix/update", "main")).toMatchObject({ head: "ternix/update" });
    expect(requests).toHaveLength(1);
  });

  it("returns undefined when no PR matches", async () => {
    const { forge } = await setup();
    expect(await forge.findOpenPr("ternix/update", "main")).toBeUndefined();
  });

  it("creates a draft with the WIP: prefix and labels by id", async () => {
    const { fake, forge, requests } = await setup();
    const pr = await forge.createPr({
      head: "ternix/update",
      base: "main",
      title: "flake.lock: update",
      body: "## Report",
      draft: true,
      labels: ["dependencies", "nix", "missing"],
    });
    expect(pr).toMatchObject({
      number: 12,
      draft: true,
      title: "flake.lock: update",
      body: "## Report",
      state: "open",
    });
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/v1/repos/${OWNER}/${REPO}/pulls`,
      `GET /api/v1/repos/${OWNER}/${REPO}/labels`,
      `GET /api/v1/orgs/${OWNER}/labels`,
      `POST /api/v1/repos/${OWNER}/${REPO}/labels`,
      `POST /api/v1/repos/${OWNER}/${REPO}/issues/12/labels`,
    ]);
    expect(requests[0]?.body).toEqual({
      head: "ternix/update",
      base: "main",
      title: "WIP: flake.lock: update",
      body: "## Report",
    });
    // "nix" matches "Nix" without case; "missing" exists nowhere and is created, as GitHub would.
    expect(requests[3]?.body).toEqual({ name: "missing", color: "#ededed" });
    expect(requests[4]?.body).toEqual({ labels: [3, 5, 102] });
    expect(fake.pulls[0]?.labels).toEqual([3, 5, 102]);
  });

  it("skips a missing label when the token may not create labels", async () => {
    const { fake, forge, requests } = await setup();
    fake.denyLabelCreation = true;
    await forge.createPr({
      head: "ternix/update",
      base: "main",
      title: "flake.lock: update",
      body: "## Report",
      draft: false,
      labels: ["dependencies", "missing"],
    });
    expect(requests.at(-2)).toMatchObject({ method: "POST", path: `/api/v1/repos/${OWNER}/${REPO}/labels` });
    expect(requests.at(-1)?.body).toEqual({ labels: [3] });
    expect(fake.pulls[0]?.labels).toEqual([3]);
  });

  it("creates a ready PR without prefix and without label calls", async () => {
    const { forge, requests } = await setup();
    const pr = await forge.createPr({ head: "u", base: "main", title: "[WIP] t", body: "b", draft: false });
    expect(pr).toMatchObject({ draft: false, title: "t" });
    expect((requests[0]?.body as { title: string }).title).toBe("t");
    expect(requests).toHaveLength(1);
  });

  it("refreshes the existing PR on 409", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);
    const pr = await forge.createPr({
      head: old.head,
      base: old.base,
      title: "new",
      body: "fresh",
      draft: false,
    });
    expect(pr).toMatchObject({ number: old.number, title: "new", body: "fresh", draft: false });
    expect(requests.map((r) => r.method)).toEqual(["POST", "GET", "PATCH"]);
  });

  it("marks a draft ready by removing the prefix (reading the current title first)", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake, { title: "[wip] flake.lock: update" });
    const pr = await forge.updatePr(old.number, { draft: false });
    expect(pr).toMatchObject({ draft: false, title: "flake.lock: update" });
    expect(requests.map((r) => r.method)).toEqual(["GET", "PATCH"]);
    expect(requests[1]?.body).toEqual({ title: "flake.lock: update" });
  });

  it("keeps the draft state when only the title changes", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake, { title: "WIP: old" });
    const pr = await forge.updatePr(old.number, { title: "new title" });
    expect(pr).toMatchObject({ draft: true, title: "new title" });
    expect(requests[1]?.body).toEqual({ title: "WIP: new title" });
  });

  it("sends only the body when only the body changes", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);
    await forge.updatePr(old.number, { body: "new report" });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: "PATCH",
      path: `/api/v1/repos/${OWNER}/${REPO}/pulls/${old.number}`,
      body: { body: "new report" },
    });
  });

  it("sets title and draft together without reading first", async () => {
    const { fake, forge, requests } = await setup();
    const old = existing(fake);
    const pr = await forge.updatePr(old.number, { title: "t", body: "b", draft: true });
    expect(pr).toMatchObject({ title: "t", draft: true, body: "b" });
    expect(requests.map((r) => r.method)).toEqual(["PATCH"]);
  });

  it("derives draft from the title when the server does not report it, with custom prefixes", async () => {
    const { fake, forge, requests } = await setup({ wipPrefixes: ["DRAFT:", "WIP:"] });
    fake.sendDraft = false;
    existing(fake, { title: "draft: update" });
    const pr = await forge.findOpenPr("ternix/update", "main");
    expect(pr).toMatchObject({ draft: true, title: "update" });
    await forge.createPr({ head: "x", base: "main", title: "t", body: "", draft: true });
    expect((requests.at(-1)?.body as { title: string }).title).toBe("DRAFT: t");
  });

  it("reports a bad token as ForgeError without the token", async () => {
    const fake = new FakeForgejo();
    server = await startTestServer(fake.handle);
    const forge = new ForgejoForge({
      fetch,
      token: "wrong-token-value",
      owner: OWNER,
      repo: REPO,
      apiUrl: `${server.url}/api/v1`,
    });
    const error = (await forge.findOpenPr("a", "main").catch((e: unknown) => e)) as ForgeError;
    expect(error).toBeInstanceOf(ForgeError);
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/FORGEJO_TOKEN/);
    expect(JSON.stringify([error.message, error.hint, error.detail])).not.toContain("wrong-token-value");
  });

  it("explains a missing write scope on 403", async () => {
    server = await startTestServer(() => ({
      status: 403,
      body: { message: "token does not have at least one of required scope(s): [write:repository]", url: "" },
    }));
    const forge = new ForgejoForge({
      fetch,
      token: TOKEN,
      owner: OWNER,
      repo: REPO,
      apiUrl: `${server.url}/api/v1`,
    });
    const error = (await forge
      .createPr({ head: "a", base: "main", title: "t", body: "", draft: false })
      .catch((e: unknown) => e)) as ForgeError;
    expect(error.status).toBe(403);
    expect(error.message).toContain("required scope(s): [write:repository]");
    expect(error.hint).toMatch(/write:repository and write:issue/);
  });
});
