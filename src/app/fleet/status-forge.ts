/**
 * `ternix status --from-forge`: the fleet's state without SSH, from the commit statuses the hosts post
 * (`ternix upgrade --report-to-forge`, docs/rollout.md). For every host of `[[rollout.waves]]` (or
 * `--hosts` following one branch): the newest commit of its wave's branch it reported on, the result,
 * how many commits it is behind the branch head, and whether its last report is older than
 * `[rollout] stale-after`.
 */
import { parseDuration, type Config } from "../../config/config.js";
import { UsageError } from "../../errors.js";
import { createForge, resolveForgeToken, type Fetch } from "../../forge/index.js";
import type { CommitState, CommitStatus, StatusForge } from "../../forge/types.js";
import type { Git } from "../../git/git.js";
import { fetchBranches, gitOk, redactRemoteUrl, type RepoContext } from "../../git/remote-branch.js";
import type { Effects } from "../effects.js";
import { forgeTargetFor, type ForgeTargetFlags } from "../forge-target.js";
import { hostStatusContext } from "../machine/forge-report.js";
import { selectHosts } from "./rollout.js";

/** Commits of a branch read, newest first; a host with no report among them has none "recently". */
export const DEFAULT_STATUS_DEPTH = 30;

export interface StatusFromForgeRequest {
  repoDir: string;
  config: Config;
  /** Only these hosts (default: every host of [[rollout.waves]]). */
  hosts?: readonly string[] | undefined;
  /** The branch `--hosts` outside any wave follow (default main). */
  branch?: string | undefined;
  staleAfter?: string | undefined;
  depth?: number | undefined;
  remote?: string | undefined;
  forge?: ForgeTargetFlags | undefined;
}

export interface StatusFromForgeDeps {
  git: Git;
  effects: Effects;
  fetch: Fetch;
  statusForge?: StatusForge | undefined;
}

export interface ForgeHostStatus {
  host: string;
  /** The branch the host follows. */
  branch: string;
  /** The newest commit of the branch the host reported on; undefined: none in the last `depth` commits. */
  commit: string | undefined;
  result: CommitState | undefined;
  description: string | undefined;
  reportedAt: string | undefined;
  /** Commits between `commit` and the branch head; undefined when there is no report. */
  behind: number | undefined;
  /** No report within stale-after (also when there is none at all). */
  stale: boolean;
}

export interface StatusFromForgeResult {
  heads: { branch: string; commit: string }[];
  staleAfter: string;
  depth: number;
  hosts: ForgeHostStatus[];
}

/** Which hosts follow which branch: the waves, narrowed to `hosts` when given. */
export function hostBranches(
  config: Config,
  hosts: readonly string[] | undefined,
  branch: string | undefined,
): { host: string; branch: string }[] {
  const fromWaves = config.rollout.waves.flatMap((w) =>
    selectHosts(w.hosts, config).map((host) => ({ host, branch: w.branch })),
  );
  if (hosts === undefined) {
    if (fromWaves.length === 0) {
      throw new UsageError("no hosts to show: [[rollout.waves]] lists none.", {
        hint: "Pass --hosts HOST… (with --branch if they do not follow main), or list the waves in ternix.toml (docs/rollout.md).",
      });
    }
    return fromWaves;
  }
  return selectHosts(hosts, config).map(
    (host) => fromWaves.find((w) => w.host === host) ?? { host, branch: branch ?? "main" },
  );
}

/** Pure: the host's row from the branch's commits (newest first) and their statuses. */
export function hostRow(
  host: string,
  branch: string,
  commits: readonly { commit: string; statuses: readonly CommitStatus[] }[],
  nowMs: number,
  staleMs: number,
): ForgeHostStatus {
  const context = hostStatusContext(host);
  for (const [behind, c] of commits.entries()) {
    const mine = c.statuses
      .filter((s) => s.context === context)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const newest = mine[0];
    if (newest === undefined) continue;
    return {
      host,
      branch,
      commit: c.commit,
      result: newest.state,
      description: newest.description,
      reportedAt: newest.createdAt,
      behind,
      stale: nowMs - Date.parse(newest.createdAt) > staleMs,
    };
  }
  return {
    host,
    branch,
    commit: undefined,
    result: undefined,
    description: undefined,
    reportedAt: undefined,
    behind: undefined,
    stale: true,
  };
}

export async function statusFromForge(
  request: StatusFromForgeRequest,
  deps: StatusFromForgeDeps,
): Promise<StatusFromForgeResult> {
  const { config } = request;
  const env = deps.effects.env;
  const remote = request.remote ?? config.forge.remote;
  const staleAfter = request.staleAfter ?? config.rollout["stale-after"];
  const staleMs = parseDuration(staleAfter);
  const depth = request.depth ?? DEFAULT_STATUS_DEPTH;
  const rows = hostBranches(config, request.hosts, request.branch);
  const secrets: string[] = [];
  const redact = (text: string) =>
    secrets.reduce((out, s) => out.split(s).join("***"), redactRemoteUrl(text));
  const ctx: RepoContext = { git: deps.git, repo: request.repoDir, env, redact };
  const forge = deps.statusForge ?? (await forgeFor(request, deps, remote, secrets));

  const branches = [...new Set(rows.map((r) => r.branch))];
  const fetched = await fetchBranches(ctx, remote, branches);
  const unregister = deps.effects.cleanup.add(() => fetched.remove());
  try {
    const history = new Map<string, { commit: string; statuses: CommitStatus[] }[]>();
    const cache = new Map<string, CommitStatus[]>();
    for (const branch of branches) {
      const head = fetched.commits.get(branch) as string;
      const list = (
        await gitOk(ctx, `listing the commits of ${branch} failed`, [
          "rev-list",
          "--first-parent",
          `--max-count=${depth}`,
          head,
        ])
      ).stdout
        .split("\n")
        .filter((l) => l !== "");
      const commits: { commit: string; statuses: CommitStatus[] }[] = [];
      const wanted = new Set(rows.filter((r) => r.branch === branch).map((r) => hostStatusContext(r.host)));
      for (const commit of list) {
        let statuses = cache.get(commit);
        if (statuses === undefined) {
          statuses = await forge.listCommitStatuses(commit);
          cache.set(commit, statuses);
        }
        commits.push({ commit, statuses });
        for (const s of statuses) wanted.delete(s.context);
        // Every host of the branch found: older commits cannot change a row.
        if (wanted.size === 0) break;
      }
      history.set(branch, commits);
    }
    const nowMs = deps.effects.now().getTime();
    return {
      heads: branches.map((branch) => ({ branch, commit: fetched.commits.get(branch) as string })),
      staleAfter,
      depth,
      hosts: rows.map((r) => hostRow(r.host, r.branch, history.get(r.branch) ?? [], nowMs, staleMs)),
    };
  } finally {
    unregister();
    await fetched.remove();
  }
}

async function forgeFor(
  request: StatusFromForgeRequest,
  deps: StatusFromForgeDeps,
  remote: string,
  secrets: string[],
): Promise<StatusForge> {
  const env = deps.effects.env;
  const url = await deps.git.call(["-C", request.repoDir, "remote", "get-url", remote], { env });
  if (url.exitCode !== 0) {
    throw new UsageError(
      `the git repository ${request.repoDir} has no remote named ${JSON.stringify(remote)}.`,
      {
        hint: "Pass --remote NAME (see `git remote -v`), or set [forge] remote in ternix.toml.",
      },
    );
  }
  const target = forgeTargetFor(request.config.forge, request.forge ?? {}, env, url.stdout.trim());
  const token = resolveForgeToken(target.kind, env);
  if (token !== undefined) secrets.push(token.token, encodeURIComponent(token.token));
  return createForge(target, { fetch: deps.fetch, token: token?.token });
}
