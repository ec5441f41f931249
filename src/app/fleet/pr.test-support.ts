/**
 * Test support for `ternix pr` (not shipped code): a repository with a local bare remote, lock
 * files, synthetic plan results, and fake GitHub and Forgejo servers that keep pull requests in
 * memory and answer with the shapes the real APIs document.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffClosures } from "../../closure/diff.js";
import { fakeClosure, fakeStorePath, type FakePackage } from "../../closure/testing.js";
import { defaultConfig, type Config } from "../../config/config.js";
import { createGit, type Git } from "../../git/git.js";
import { diffLocks } from "../../lock/diff.js";
import { parseFlakeLock } from "../../lock/parse.js";
import { run, type RunOptions } from "../../proc/run.js";
import {
  startTestServer,
  type RecordedRequest,
  type Reply,
  type TestServer,
} from "../../forge/test-server.test-support.js";
import { FakeStatuses } from "../../forge/fake-statuses.test-support.js";
import { Cleanup } from "../cleanup.js";
import type { AppEvent, Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import type { HostBuild } from "./hosts.js";
import type { HostPlan, PlanOutcome, PlanResult } from "./plan-model.js";
import { orderHosts } from "./plan.js";

// ---------------------------------------------------------------------------------------------
// Locks

const unix = (iso: string) => Date.parse(iso) / 1000;

export interface LockPin {
  rev: string;
  date: string;
  ref?: string;
}

/** A flake.lock with nixpkgs and home-manager (following nixpkgs), as `nix flake lock` writes it. */
export function lockText(nixpkgs: LockPin, home: LockPin = HOME_1): string {
  const node = (owner: string, repo: string, pin: LockPin, inputs?: Record<string, unknown>) => ({
    ...(inputs ? { inputs } : {}),
    locked: {
      lastModified: unix(pin.date),
      narHash: `sha256-${pin.rev.slice(0, 43)}=`,
      owner,
      repo,
      rev: pin.rev,
      type: "github",
    },
    original: { owner, ...(pin.ref ? { ref: pin.ref } : {}), repo, type: "github" },
  });
  const lock = {
    nodes: {
      "home-manager": node("nix-community", "home-manager", home, { nixpkgs: ["nixpkgs"] }),
      nixpkgs: node("NixOS", "nixpkgs", nixpkgs),
      root: { inputs: { "home-manager": "home-manager", nixpkgs: "nixpkgs" } },
    },
    root: "root",
    version: 7,
  };
  return `${JSON.stringify(lock, null, 2)}\n`;
}

export const NIXPKGS_1: LockPin = {
  rev: "5e4fbfb6b3de1aa2872b76d49fafc942626e2add",
  date: "2024-12-01T08:10:00Z",
  ref: "nixos-24.11",
};
export const NIXPKGS_2: LockPin = {
  rev: "d3f2baba8f425779026c6ec04021b2e927f61e31",
  date: "2024-12-15T10:00:00Z",
  ref: "nixos-24.11",
};
export const NIXPKGS_3: LockPin = {
  rev: "c1fee8d4a60b89cae12b288ba9dbc608ff298163",
  date: "2025-01-05T10:00:00Z",
  ref: "nixos-24.11",
};
export const HOME_1: LockPin = {
  rev: "80a4d7f13492d916e47d6195be23acae8001985a",
  date: "2024-12-01T20:38:04Z",
  ref: "release-24.11",
};

// ---------------------------------------------------------------------------------------------
// Plans

export interface FakeHost {
  name: string;
  status: HostPlan["status"];
  /** Extra packages whose version moves, to make big diffs. */
  extraPackages?: number;
  /** A toplevel without `sw` (selected packages come from the root's references). */
  noSw?: boolean;
}

function build(host: string, side: string, ok: boolean): HostBuild {
  return ok
    ? {
        host,
        ok: true,
        drvPath: fakeStorePath(`nixos-system-${host}.drv`, side),
        toplevel: fakeStorePath(`nixos-system-${host}`, side),
      }
    : {
        host,
        ok: false,
        stage: "build",
        error: `builder for nixos-system-${host} failed`,
        logTail: `error: ${host} does not build after the update`,
      };
}

function hostPlan(spec: FakeHost): HostPlan {
  const { name, status } = spec;
  const before = build(name, "before", status !== "fixed" && status !== "failing");
  const after = build(name, "after", status !== "broken" && status !== "failing");
  if (status !== "changed") return { host: name, status, before, after };
  const extras = Array.from(
    { length: spec.extraPackages ?? 0 },
    (_, i) => `pkg${String(i).padStart(4, "0")}-${name}`,
  );
  const side = (version: string): FakePackage[] => [
    { name: `curl-8.${version}`, selected: true },
    { name: "glibc-2.40-36" },
    // Same version, another build: a rebuilt package.
    { name: "etc-hosts", build: version },
    ...extras.map((p) => ({ name: `${p}-1.${version}` })),
  ];
  const sw = spec.noSw !== true;
  const system = (version: string) => ({ nixosVersion: `24.11.${version}`, kernelParams: "loglevel=4" });
  const diff = diffClosures(
    fakeClosure({
      root: `nixos-system-${name}-24.11.20241201.5e4fbfb`,
      packages: side("10.0"),
      sw,
      system: system("20241201.5e4fbfb"),
    }),
    fakeClosure({
      root: `nixos-system-${name}-24.11.20241215.d3f2bab`,
      packages: side("11.0"),
      sw,
      system: system("20241215.d3f2bab"),
    }),
  );
  return { host: name, status, before, after, diff };
}

/** A plan result for the lock change `before` → `after` with the given hosts. */
export function fakePlan(options: {
  before: string;
  after: string;
  hosts: FakeHost[];
  flakeDir?: string;
}): PlanResult {
  const lockDiff = diffLocks(
    parseFlakeLock(options.before, "before"),
    parseFlakeLock(options.after, "after"),
  );
  const hosts = options.hosts.map(hostPlan);
  const outcome: PlanOutcome = !lockDiff.changed
    ? "lock-unchanged"
    : hosts.some((h) => h.status === "broken")
      ? "host-broken"
      : hosts.some((h) => h.status === "changed" || h.status === "fixed")
        ? "changed"
        : "no-host-changed";
  return {
    outcome,
    flakeDir: options.flakeDir ?? "/flake",
    mode: "update",
    basis: "build",
    inputs: [],
    lockDiff,
    hosts: lockDiff.changed ? orderHosts(hosts) : [],
    skippedHosts: [],
    lockState: lockDiff.changed ? "updated" : "untouched",
    timings: {},
  };
}

// ---------------------------------------------------------------------------------------------
// Git repositories

/** Git isolated from the machine's and the user's configuration; no identity (as on a CI runner). */
export function gitTestEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"])
    if (process.env[key] !== undefined) env[key] = process.env[key];
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_COUNT: "3",
    GIT_CONFIG_KEY_0: "init.defaultBranch",
    GIT_CONFIG_VALUE_0: "main",
    GIT_CONFIG_KEY_1: "commit.gpgsign",
    GIT_CONFIG_VALUE_1: "false",
    GIT_CONFIG_KEY_2: "protocol.file.allow",
    GIT_CONFIG_VALUE_2: "always",
    ...extra,
  };
}

export interface RepoWorld {
  dir: string;
  /** The bare repository the clone pushes to (remote "origin"). */
  remote: string;
  /** The user's clone; the flake is at its root. */
  work: string;
  env: NodeJS.ProcessEnv;
  git: Git;
  flake: FlakeLocation;
  /** Runs git in `cwd` (default the clone) and returns stdout; throws on failure. */
  sh(args: readonly string[], options?: RunOptions & { cwd?: string }): Promise<string>;
  /** Commits files on the remote's main from a second clone (someone else's work). */
  pushToRemote(
    branch: string,
    files: Record<string, string>,
    message: string,
    options?: { force?: boolean; from?: string },
  ): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createRepoWorld(initialLock: string): Promise<RepoWorld> {
  const dir = await mkdtemp(join(tmpdir(), "ternix-pr-"));
  const remote = join(dir, "remote.git");
  const work = join(dir, "work");
  const env = gitTestEnv();
  const git = createGit(run, env);
  const setupIdentity = ["-c", "user.name=Setup", "-c", "user.email=setup@example.invalid"];
  const sh = async (args: readonly string[], options: RunOptions & { cwd?: string } = {}) => {
    const result = await run("git", [...setupIdentity, ...args], {
      env,
      ...options,
      cwd: options.cwd ?? work,
    });
    if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  };
  await sh(["init", "--quiet", "--bare", remote], { cwd: dir });
  await sh(["clone", "--quiet", remote, work], { cwd: dir });
  await writeFile(join(work, "flake.nix"), "{ outputs = _: { }; }\n");
  await writeFile(join(work, "flake.lock"), initialLock);
  await sh(["add", "flake.nix", "flake.lock"]);
  await sh(["commit", "--quiet", "-m", "Initial flake"]);
  await sh(["push", "--quiet", "origin", "main"]);

  let clones = 0;
  const pushToRemote: RepoWorld["pushToRemote"] = async (branch, files, message, options = {}) => {
    const other = join(dir, `other-${clones++}`);
    await sh(["clone", "--quiet", remote, other], { cwd: dir });
    const from = options.from ?? branch;
    await sh(["checkout", "--quiet", "-B", branch, `origin/${from}`], { cwd: other });
    for (const [name, content] of Object.entries(files)) await writeFile(join(other, name), content);
    await sh(["add", "--", ...Object.keys(files)], { cwd: other });
    await sh(["commit", "--quiet", "--allow-empty", "-m", message], { cwd: other });
    await sh(
      ["push", "--quiet", ...(options.force ? ["--force"] : []), "origin", `HEAD:refs/heads/${branch}`],
      { cwd: other },
    );
    const sha = (await sh(["rev-parse", "HEAD"], { cwd: other })).trim();
    await rm(other, { recursive: true, force: true });
    return sha;
  };

  return {
    dir,
    remote,
    work,
    env,
    git,
    flake: { dir: work, lockPath: join(work, "flake.lock"), gitRoot: work, lockPathInRepo: "flake.lock" },
    sh,
    pushToRemote,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// Effects

export function testEffects(env: NodeJS.ProcessEnv): Effects & { events: AppEvent[] } {
  const events: AppEvent[] = [];
  return {
    run,
    now: () => new Date("2025-01-01T00:00:00Z"),
    onEvent: (e) => events.push(e),
    env,
    cleanup: new Cleanup(),
    events,
  };
}

export function testConfig(forge: Partial<Config["forge"]> = {}): Config {
  const config = defaultConfig();
  config.forge = { ...config.forge, ...forge };
  return config;
}

// ---------------------------------------------------------------------------------------------
// Fake forges

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: "open" | "closed";
  draft: boolean;
  labels: string[];
}

export interface FakeForge {
  server: TestServer;
  /** API root to pass as --api-url. */
  apiUrl: string;
  pulls: FakePull[];
  /** Commit statuses (`/statuses/{sha}`, `/commits/{sha}/status(es)`). */
  statuses: FakeStatuses;
  requests: RecordedRequest[];
  /** Requests that changed something (not GET). */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

export const OWNER = "fleet-admins";
export const REPO = "infra";

/**
 * GitHub REST (docs.github.com/rest/pulls) and the two GraphQL draft mutations. `echoToken`: a
 * hostile or broken server that puts the request's bearer token into the URLs it returns.
 */
export async function startFakeGitHub(options: { echoToken?: boolean } = {}): Promise<FakeForge> {
  const pulls: FakePull[] = [];
  const base = `/repos/${OWNER}/${REPO}`;
  let lastToken = "";
  const echo = () => (options.echoToken ? `?token=${lastToken}` : "");
  const toJson = (p: FakePull) => ({
    url: `http://api.invalid${base}/pulls/${p.number}`,
    id: 1000 + p.number,
    node_id: `PR_node${p.number}`,
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${p.number}${echo()}`,
    number: p.number,
    state: p.state,
    locked: false,
    title: p.title,
    user: { login: "github-actions[bot]", id: 41898282, type: "Bot" },
    body: p.body,
    labels: p.labels.map((name, i) => ({ id: i + 1, name, color: "ededed", default: false })),
    draft: p.draft,
    head: {
      label: `${OWNER}:${p.head}`,
      ref: p.head,
      sha: "0".repeat(40),
      repo: { full_name: `${OWNER}/${REPO}` },
    },
    base: {
      label: `${OWNER}:${p.base}`,
      ref: p.base,
      sha: "1".repeat(40),
      repo: { full_name: `${OWNER}/${REPO}` },
    },
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
  });
  const find = (path: string) => pulls.find((p) => path === `${base}/pulls/${p.number}`);
  const statuses = new FakeStatuses("github");
  const server = await startTestServer((req): Reply => {
    lastToken = (req.headers.authorization ?? "").replace(/^(Bearer|token)\s+/i, "");
    const status = req.path.startsWith(base) ? statuses.handle(req, req.path.slice(base.length)) : undefined;
    if (status !== undefined) return status;
    if (req.method === "GET" && req.path === `${base}/pulls`) {
      const head = req.query.get("head");
      const state = req.query.get("state") ?? "open";
      const list = pulls.filter(
        (p) => (state === "all" || p.state === state) && (head === null || `${OWNER}:${p.head}` === head),
      );
      return { status: 200, body: list.map(toJson) };
    }
    if (req.method === "POST" && req.path === `${base}/pulls`) {
      const b = req.body as { title: string; head: string; base: string; body: string; draft?: boolean };
      if (pulls.some((p) => p.state === "open" && p.head === b.head && p.base === b.base)) {
        return {
          status: 422,
          body: {
            message: "Validation Failed",
            errors: [{ message: `A pull request already exists for ${OWNER}:${b.head}.` }],
          },
        };
      }
      const p: FakePull = {
        number: pulls.length + 1,
        title: b.title,
        body: b.body,
        head: b.head,
        base: b.base,
        state: "open",
        draft: b.draft ?? false,
        labels: [],
      };
      pulls.push(p);
      return { status: 201, body: toJson(p) };
    }
    if (req.method === "PATCH" && find(req.path)) {
      const p = find(req.path) as FakePull;
      const b = req.body as { title?: string; body?: string };
      if (b.title !== undefined) p.title = b.title;
      if (b.body !== undefined) p.body = b.body;
      return { status: 200, body: toJson(p) };
    }
    const labels = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/labels$/.exec(req.path);
    if (req.method === "POST" && labels) {
      const p = pulls.find((x) => x.number === Number(labels[1]));
      if (!p) return { status: 404, body: { message: "Not Found" } };
      p.labels.push(...(req.body as { labels: string[] }).labels);
      return { status: 200, body: p.labels.map((name, i) => ({ id: i + 1, name })) };
    }
    if (req.method === "POST" && req.path === "/graphql") {
      const b = req.body as { query: string; variables: { id: string } };
      const p = pulls.find((x) => `PR_node${x.number}` === b.variables.id);
      if (!p) return { status: 200, body: { errors: [{ message: "Could not resolve to a node" }] } };
      const mutation = b.query.includes("convertPullRequestToDraft")
        ? "convertPullRequestToDraft"
        : "markPullRequestReadyForReview";
      p.draft = mutation === "convertPullRequestToDraft";
      return { status: 200, body: { data: { [mutation]: { pullRequest: { isDraft: p.draft } } } } };
    }
    return { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } };
  });
  return fakeForge(server, server.url, pulls, statuses);
}

/** Forgejo/Gitea API v1 (swagger `PullRequest`); drafts are `WIP:` title prefixes. */
export async function startFakeForgejo(): Promise<FakeForge> {
  const pulls: FakePull[] = [];
  const base = `/api/v1/repos/${OWNER}/${REPO}`;
  const repoJson = { id: 1, name: REPO, full_name: `${OWNER}/${REPO}`, owner: { login: OWNER } };
  const isWip = (title: string) => /^\s*(WIP:|\[WIP\])/i.test(title);
  const toJson = (p: FakePull) => ({
    id: 2000 + p.number,
    url: `https://forge.invalid/${OWNER}/${REPO}/pulls/${p.number}`,
    number: p.number,
    user: { id: 1, login: "ternix-bot" },
    title: p.title,
    body: p.body,
    labels: p.labels.map((name, i) => ({ id: i + 1, name, color: "ededed" })),
    state: p.state,
    draft: isWip(p.title),
    html_url: `https://forge.invalid/${OWNER}/${REPO}/pulls/${p.number}`,
    mergeable: true,
    merged: false,
    base: { label: p.base, ref: p.base, sha: "1".repeat(40), repo_id: 1, repo: repoJson },
    head: { label: p.head, ref: p.head, sha: "0".repeat(40), repo_id: 1, repo: repoJson },
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
  });
  const find = (path: string) => pulls.find((p) => path === `${base}/pulls/${p.number}`);
  const repoLabels = [
    { id: 7, name: "dependencies", color: "0366d6", description: "", url: "" },
    { id: 8, name: "nix", color: "7e7eff", description: "", url: "" },
  ];
  const statuses = new FakeStatuses("forgejo");
  const server = await startTestServer((req): Reply => {
    const status = req.path.startsWith(base) ? statuses.handle(req, req.path.slice(base.length)) : undefined;
    if (status !== undefined) return status;
    if (req.method === "GET" && req.path === `${base}/pulls`) {
      const state = req.query.get("state") ?? "open";
      const list = pulls.filter((p) => state === "all" || p.state === state);
      const page = Number(req.query.get("page") ?? "1");
      const limit = Number(req.query.get("limit") ?? "30");
      const slice = list.slice((page - 1) * limit, page * limit);
      return { status: 200, body: slice.map(toJson), headers: { "x-total-count": String(list.length) } };
    }
    if (req.method === "POST" && req.path === `${base}/pulls`) {
      const b = req.body as { title: string; head: string; base: string; body: string };
      if (pulls.some((p) => p.state === "open" && p.head === b.head && p.base === b.base)) {
        return { status: 409, body: { message: "pull request already exists for these targets" } };
      }
      const p: FakePull = {
        number: pulls.length + 1,
        title: b.title,
        body: b.body,
        head: b.head,
        base: b.base,
        state: "open",
        draft: isWip(b.title),
        labels: [],
      };
      pulls.push(p);
      return { status: 201, body: toJson(p) };
    }
    if (req.method === "GET" && find(req.path))
      return { status: 200, body: toJson(find(req.path) as FakePull) };
    if (req.method === "PATCH" && find(req.path)) {
      const p = find(req.path) as FakePull;
      const b = req.body as { title?: string; body?: string };
      if (b.title !== undefined) p.title = b.title;
      if (b.body !== undefined) p.body = b.body;
      p.draft = isWip(p.title);
      return { status: 201, body: toJson(p) };
    }
    if (req.method === "GET" && req.path === `${base}/labels`)
      return { status: 200, body: repoLabels, headers: { "x-total-count": String(repoLabels.length) } };
    if (req.method === "POST" && req.path === `${base}/labels`) {
      const { name, color } = req.body as { name: string; color: string };
      const label = { id: 100 + repoLabels.length, name, color: color.slice(1), description: "", url: "" };
      repoLabels.push(label);
      return { status: 201, body: label };
    }
    if (req.method === "GET" && req.path === `/api/v1/orgs/${OWNER}/labels`)
      return { status: 200, body: [], headers: { "x-total-count": "0" } };
    const labels = /^\/api\/v1\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/labels$/.exec(req.path);
    if (req.method === "POST" && labels) {
      const p = pulls.find((x) => x.number === Number(labels[1]));
      if (!p) return { status: 404, body: { message: "not found" } };
      const ids = (req.body as { labels: number[] }).labels;
      p.labels.push(...repoLabels.filter((l) => ids.includes(l.id)).map((l) => l.name));
      return { status: 200, body: repoLabels.filter((l) => p.labels.includes(l.name)) };
    }
    return { status: 404, body: { message: "not found", url: "https://forge.invalid/api/swagger" } };
  });
  return fakeForge(server, `${server.url}/api/v1`, pulls, statuses);
}

function fakeForge(server: TestServer, apiUrl: string, pulls: FakePull[], statuses: FakeStatuses): FakeForge {
  return {
    server,
    apiUrl,
    pulls,
    statuses,
    requests: server.requests,
    writes: () => server.requests.filter((r) => r.method !== "GET"),
    close: () => server.close(),
  };
}
