/**
 * `ternix promote --to BRANCH`: fast-forward a wave's branch to the commit the previous wave has
 * proven healthy (docs/rollout.md). Reads the hosts' commit statuses (`ternix/host/<HOST>`, posted
 * by `ternix upgrade --report-to-forge`), never force-pushes, and pushes with a lease on the branch
 * head it read, so a concurrent push is never overwritten.
 */
import type { Config } from "../../config/config.js";
import { GitError, InputError, UsageError } from "../../errors.js";
import { createForge, resolveForgeToken, type CreateForgeOptions, type Fetch } from "../../forge/index.js";
import type { StatusForge } from "../../forge/types.js";
import type { Git } from "../../git/git.js";
import {
  fetchBranches,
  gitOk,
  LeaseError,
  lsRemote,
  pushWithLease,
  redactRemoteUrl,
  type RepoContext,
} from "../../git/remote-branch.js";
import type { Effects } from "../effects.js";
import { forgeTargetFor, type ForgeTargetFlags } from "../forge-target.js";
import {
  decide,
  isCommitId,
  judgeHost,
  planPromotion,
  type CommitReports,
  type HostVerdict,
  type WavePlan,
} from "./rollout.js";

/** Descendants of the candidate whose reports are read (newest first); older ones add little. */
const MAX_DESCENDANTS = 20;

export interface PromoteRequest {
  /** The repository's top-level directory (a clone with the remote). */
  repoDir: string;
  config: Config;
  to: string;
  from?: string | undefined;
  hosts?: readonly string[] | undefined;
  minAge?: string | undefined;
  remote?: string | undefined;
  forge?: ForgeTargetFlags | undefined;
  dryRun: boolean;
}

export interface PromoteDeps {
  git: Git;
  effects: Effects;
  fetch: Fetch;
  forgeClient?: Partial<Omit<CreateForgeOptions, "token" | "fetch">> | undefined;
  /** Tests: a forge instead of one built from the target. */
  statusForge?: StatusForge | undefined;
}

export type PromoteOutcome =
  "promoted" | "would-promote" | "up-to-date" | "not-yet" | "canary-failed" | "not-fast-forward";

export interface PromoteResult {
  outcome: PromoteOutcome;
  to: string;
  from: string;
  remote: string;
  /** The commit that is (or would be) promoted. */
  commit: string;
  /** The branch's head before (undefined: the branch did not exist). */
  previous: string | undefined;
  minAge: string | undefined;
  hosts: HostVerdict[];
  dryRun: boolean;
}

export async function promote(request: PromoteRequest, deps: PromoteDeps): Promise<PromoteResult> {
  const { config } = request;
  const env = deps.effects.env;
  const remote = request.remote ?? config.forge.remote;
  const secrets: string[] = [];
  const redact = (text: string) =>
    secrets.reduce((out, s) => out.split(s).join("***"), redactRemoteUrl(text));
  const ctx: RepoContext = { git: deps.git, repo: request.repoDir, env, redact };
  await checkBranchName(ctx, request.to, "--to");
  const plan = planPromotion(config, request.to, {
    from: request.from,
    hosts: request.hosts,
    minAge: request.minAge,
  });
  const fromIsCommit = isCommitId(plan.from) && plan.from !== plan.sourceBranch;
  await checkBranchName(ctx, plan.sourceBranch, "--from");

  const remoteUrl = await deps.git.call(["-C", request.repoDir, "remote", "get-url", remote], { env });
  if (remoteUrl.exitCode !== 0) {
    throw new UsageError(
      `the git repository ${request.repoDir} has no remote named ${JSON.stringify(remote)}.`,
      {
        hint: "Pass --remote NAME (see `git remote -v`), or set [forge] remote in ternix.toml.",
      },
    );
  }
  const forge = deps.statusForge ?? statusForge(request, deps, remoteUrl.stdout.trim(), secrets);

  const heads = await lsRemote(ctx, remote, [`refs/heads/${request.to}`, `refs/heads/${plan.sourceBranch}`]);
  if (!heads.refs.has(`refs/heads/${plan.sourceBranch}`)) {
    throw new InputError(`${remote} has no branch ${JSON.stringify(plan.sourceBranch)} to promote from.`, {
      hint: "Check --from (or the previous wave's branch in [[rollout.waves]]).",
    });
  }
  const targetExists = heads.refs.has(`refs/heads/${request.to}`);
  const fetched = await fetchBranches(
    ctx,
    remote,
    targetExists ? [plan.sourceBranch, request.to] : [plan.sourceBranch],
  );
  const unregister = deps.effects.cleanup.add(() => fetched.remove());
  try {
    const sourceHead = fetched.commits.get(plan.sourceBranch) as string;
    const previous = targetExists ? fetched.commits.get(request.to) : undefined;
    const commit = fromIsCommit ? await commitOf(ctx, plan.from, plan.sourceBranch) : sourceHead;
    const base = {
      to: request.to,
      from: plan.from,
      remote,
      commit,
      previous,
      minAge: plan.minAge,
      dryRun: request.dryRun,
    };
    if (previous === commit) return { ...base, outcome: "up-to-date", hosts: [] };
    if (previous !== undefined && !(await isAncestor(ctx, previous, commit))) {
      return { ...base, outcome: "not-fast-forward", hosts: [] };
    }

    const hosts = await judgeHosts(ctx, forge, plan, commit, sourceHead, deps.effects.now().getTime());
    const decision = decide(hosts);
    if (decision !== "ready") return { ...base, outcome: decision, hosts };
    if (request.dryRun) return { ...base, outcome: "would-promote", hosts };
    try {
      await pushWithLease(ctx, remote, commit, request.to, previous);
    } catch (error) {
      if (!(error instanceof LeaseError)) throw error;
      throw new GitError(
        redact(
          `${request.to} on ${remote} changed while Ternix was checking it (someone else pushed); nothing was pushed`,
        ),
        error.argv,
        error.commandExitCode,
        error.stderrTail,
        { hint: `Run \`ternix promote --to ${request.to}\` again: it re-reads the branch and the reports.` },
      );
    }
    return { ...base, outcome: "promoted", hosts };
  } finally {
    unregister();
    await fetched.remove();
  }
}

function statusForge(
  request: PromoteRequest,
  deps: PromoteDeps,
  remoteUrl: string,
  secrets: string[],
): StatusForge {
  const env = deps.effects.env;
  const target = forgeTargetFor(request.config.forge, request.forge ?? {}, env, remoteUrl);
  // Reading statuses of a public repository needs no token; a private one answers 404 without.
  const token = resolveForgeToken(target.kind, env);
  if (token !== undefined) secrets.push(token.token, encodeURIComponent(token.token));
  return createForge(target, {
    ...deps.forgeClient,
    fetch: deps.fetch,
    token: token?.token,
    onRetry: (e) =>
      deps.effects.onEvent({
        type: "log",
        level: "warn",
        message: `${e.method} ${e.url}: ${e.reason}; retrying in ${Math.ceil(e.delayMs / 1000)}s (attempt ${e.attempt + 1})`,
      }),
  });
}

async function judgeHosts(
  ctx: RepoContext,
  forge: StatusForge,
  plan: WavePlan,
  commit: string,
  sourceHead: string,
  nowMs: number,
): Promise<HostVerdict[]> {
  const descendants =
    commit === sourceHead
      ? []
      : (
          await gitOk(ctx, "listing the commits after the candidate failed", [
            "rev-list",
            "--ancestry-path",
            `--max-count=${MAX_DESCENDANTS}`,
            `${commit}..${sourceHead}`,
          ])
        ).stdout
          .split("\n")
          .filter((l) => l !== "");
  const reports: CommitReports[] = [];
  for (const sha of [commit, ...descendants])
    reports.push({ commit: sha, statuses: await forge.listCommitStatuses(sha) });
  const [candidate, ...rest] = reports as [CommitReports, ...CommitReports[]];
  return plan.hosts.map((host) =>
    judgeHost({ host, candidate, descendants: rest, nowMs, minAgeMs: plan.minAgeMs }),
  );
}

async function commitOf(ctx: RepoContext, ref: string, sourceBranch: string): Promise<string> {
  const result = await ctx.git.call(["-C", ctx.repo, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
    env: ctx.env,
  });
  if (result.exitCode !== 0) {
    throw new InputError(`--from ${ref} is not a commit in this repository.`, {
      hint: `Give a branch of the remote or a commit of ${sourceBranch} (\`git fetch\` first).`,
    });
  }
  return result.stdout.trim();
}

async function isAncestor(ctx: RepoContext, ancestor: string, descendant: string): Promise<boolean> {
  const result = await ctx.git.call(["-C", ctx.repo, "merge-base", "--is-ancestor", ancestor, descendant], {
    env: ctx.env,
  });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw new GitError(
    `cannot tell whether ${ancestor.slice(0, 12)} is an ancestor of ${descendant.slice(0, 12)}`,
    result.argv,
    result.exitCode,
    result.stderr,
  );
}

async function checkBranchName(ctx: RepoContext, name: string, flag: string): Promise<void> {
  const result = await ctx.git.call(["check-ref-format", `refs/heads/${name}`], { env: ctx.env });
  if (result.exitCode !== 0 || name.startsWith("-")) {
    throw new UsageError(`${flag} ${JSON.stringify(name)} is not a valid branch name.`, {
      hint: "Use a branch name git accepts, e.g. deploy/stable (see `git check-ref-format`).",
    });
  }
}
