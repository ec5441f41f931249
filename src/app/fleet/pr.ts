/**
 * `ternix pr`: one reviewed pull request per update. Plans the update (or reads a saved plan
 * report), and when the update changes a host (or breaks one), puts the new flake.lock as ONE
 * commit on the update branch, rebuilt from the base every run and pushed with a lease, then opens
 * the pull request or refreshes its title and body with the plan's report.
 *
 * The user's checkout is left alone: the commit is made with git plumbing and a temporary index,
 * and when Ternix ran the plan itself the working tree's flake.lock is put back as it was.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../../config/config.js";
import { ExitCode, InputError, UsageError } from "../../errors.js";
import {
  FORGEJO_DEFAULT_BODY_LIMIT,
  GITHUB_BODY_LIMIT,
  createForge,
  detectForge,
  fitBody,
  requireForgeToken,
  resolveForgeToken,
  type CreateForgeOptions,
  type Fetch,
  type Forge,
  type ForgeFlags,
  type ForgeKind,
  type ForgeTarget,
  type PullRequest,
} from "../../forge/index.js";
import type { Git } from "../../git/git.js";
import {
  commitFileOnto,
  fetchBranches,
  fileAt,
  foreignCommits,
  isSameCommit,
  lsRemote,
  pushWithLease,
  redactRemoteUrl,
  type RepoContext,
} from "../../git/remote-branch.js";
import { changedInputs, diffLocks, lockCommitMessage, prTitle, type LockDiff } from "../../lock/diff.js";
import { lockInputs, type LockedInput } from "../../lock/graph.js";
import { parseFlakeLock } from "../../lock/parse.js";
import type { FlakeLock } from "../../lock/schema.js";
import { ensureFileContent, readUserFile } from "../../proc/files.js";
import { renderPlanMarkdown, renderPlanText, toPlanJson } from "../../report/plan.js";
import type { Effects } from "../effects.js";
import { readLockText, type FlakeLocation } from "../flake.js";
import { planExitCode, type PlanOutcome, type PlanResult } from "./plan-model.js";
import type { PlanRequest } from "./plan.js";
import { parsePlanJson } from "./plan-report.js";
import { manifestPathInRepo } from "./plan-cache.js";
import { renderManifest } from "../manifest.js";
import { sourceTreeId } from "../../git/source-tree.js";

export const DEFAULT_UPDATE_BRANCH = "ternix/flake-update";

/** The report files `--report-dir` receives. */
export const REPORT_FILES = { markdown: "report.md", json: "report.json", text: "report.txt" } as const;

export type PrPlanSource =
  | {
      kind: "plan";
      /** Inputs to update (empty: all). */
      inputs: readonly string[];
      hosts?: readonly string[] | undefined;
      exclude?: string | undefined;
      jobs?: number | undefined;
      /** Commit the host manifest (`ternix-hosts.json` next to flake.nix) with the lock. */
      manifest?: boolean | undefined;
      /** Copy the built after-systems to this binary cache (plan's --push-to). */
      pushTo?: string | undefined;
      signKey?: string | undefined;
    }
  | { kind: "report"; file: string };

export interface PrRequest {
  flake: FlakeLocation;
  config: Config;
  source: PrPlanSource;
  /** `gitea` is the Forgejo/Gitea adapter. Each field overrides `[forge]` in ternix.toml. */
  forge?: (Omit<ForgeFlags, "forge"> & { kind?: ForgeKind | "gitea" | undefined }) | undefined;
  branch?: string | undefined;
  base?: string | undefined;
  remote?: string | undefined;
  labels?: readonly string[] | undefined;
  draftOnBreak?: boolean | undefined;
  /** Absolute directory for report.md, report.json, report.txt (the CI artifact). */
  reportDir?: string | undefined;
  /** Plan and build the commit, but push nothing and do not call the forge (no token needed). */
  dryRun?: boolean | undefined;
}

export interface PrDeps {
  git: Git;
  effects: Effects;
  fetch: Fetch;
  /** Runs `plan` (the CLI gives it Nix); called only without `--report`. */
  runPlan: (request: PlanRequest) => Promise<PlanResult>;
  /** Forge client settings besides the token (tests: no retry waits). */
  forgeClient?: Partial<Omit<CreateForgeOptions, "token" | "fetch">> | undefined;
}

export type PrAction =
  /** Exit 2/3: nothing to review; nothing pushed, an open PR left as it is. */
  | "nothing-to-review"
  /** The base already has this flake.lock. */
  | "base-up-to-date"
  /** --dry-run: the commit was built locally; nothing pushed, no forge call. */
  | "dry-run"
  | "opened"
  | "updated";

export interface PrResult {
  outcome: PlanOutcome;
  exitCode: number;
  action: PrAction;
  plan: PlanResult;
  target: ForgeTarget;
  remote: string;
  base: string;
  branch: string;
  reportFiles: string[];
  /** Title and body as sent (or as they would be, on a dry run). */
  title?: string | undefined;
  body?: string | undefined;
  bodyTruncated?: boolean | undefined;
  commit?: { sha: string; message: string; pushed: boolean } | undefined;
  pullRequest?: PullRequest | undefined;
}

export async function pr(request: PrRequest, deps: PrDeps): Promise<PrResult> {
  const { effects } = deps;
  const phase = (message: string) => effects.onEvent({ type: "phase", message });
  const info = (message: string) => effects.onEvent({ type: "log", level: "info", message });
  const warn = (message: string) => effects.onEvent({ type: "log", level: "warn", message });

  // Everything cheap that can fail comes first: a missing token or remote must not cost a plan.
  const setup = await preflight(request, deps);
  const { ctx, target, base, branch, remote, lockPath, remoteBranch } = setup;
  const manifestPath = manifestPathInRepo(request.flake);
  const dryRun = request.dryRun ?? false;

  // The base comes first: the plan compares the update with the base's lock, which is what the
  // pull request changes, even when the working tree's lock was already updated by hand.
  phase(`Fetching ${base}${remoteBranch === undefined ? "" : ` and ${branch}`} from ${remote}…`);
  const fetched = await fetchBranches(ctx, remote, remoteBranch === undefined ? [base] : [base, branch]);
  const unregister = effects.cleanup.add(() => fetched.remove());
  try {
    const baseCommit = fetched.commits.get(base) as string;
    const branchCommit = remoteBranch === undefined ? undefined : fetched.commits.get(branch);
    const baseLockText = await fileAt(ctx, baseCommit, lockPath);
    if (baseLockText === undefined) {
      throw new InputError(`${base} on ${remote} has no ${lockPath}.`, {
        hint: `Commit flake.lock to ${base} first; Ternix reviews changes to an existing lock.`,
      });
    }

    const { plan: result, afterText, reportJson } = await obtainPlan(request, deps, baseLockText);
    const exitCode = planExitCode(result);
    const reportFiles =
      request.reportDir === undefined ? [] : await writeReports(request.reportDir, result, reportJson);
    const done: Omit<PrResult, "action"> = {
      outcome: result.outcome,
      exitCode,
      plan: result,
      target,
      remote,
      base,
      branch,
      reportFiles,
    };

    if (result.outcome === "lock-unchanged" || result.outcome === "no-host-changed") {
      info(
        result.outcome === "lock-unchanged"
          ? "flake.lock did not change: nothing to push; an open pull request is left as it is."
          : "flake.lock changed, but no host's system differs: nothing to push; an open pull request is left as it is.",
      );
      return { ...done, action: "nothing-to-review" };
    }

    const after = parseFlakeLock(afterText, `${lockPath} (updated)`);
    // The commit's own change: base → updated lock. Normally the plan's lock diff exactly.
    const commitDiff = diffLocks(parseFlakeLock(baseLockText, `${base}:${lockPath}`), after);
    if (!commitDiff.changed) {
      info(`${base} on ${remote} already has this flake.lock: nothing to push.`);
      return { ...done, exitCode: ExitCode.lockUnchanged, action: "base-up-to-date" };
    }
    if (changeKey(commitDiff) !== changeKey(result.lockDiff)) {
      warn(
        `the plan compared against a flake.lock that differs from ${base}'s; the pull request changes ${base}'s lock, so its lock diff may differ from the report.`,
      );
    }

    const title = prTitle(commitDiff);
    const message = lockCommitMessage(commitDiff);
    const manifest = result.manifest;
    const built = await commitFileOnto(ctx, {
      parent: baseCommit,
      path: lockPath,
      content: afterText,
      message,
      also: manifest === undefined ? [] : [{ path: manifestPath, content: renderManifest(manifest) }],
    });
    if (built.commit === undefined) {
      info(`${base} on ${remote} already has this flake.lock: nothing to push.`);
      return { ...done, exitCode: ExitCode.lockUnchanged, action: "base-up-to-date" };
    }
    const sha = built.commit;
    if (manifest !== undefined) {
      // The manifest names the tree the plan evaluated (the checkout); hosts use it only when the
      // branch holds exactly that tree.
      const tree = await sourceTreeId(ctx, { commit: sha }, { without: manifestPath });
      if (tree !== manifest.source.tree) {
        warn(
          `the checkout differs from ${base} beyond flake.lock, so ${manifestPath} on the branch is stale: hosts with --prebuilt will evaluate instead. Run \`ternix pr\` in a clean checkout of ${base}.`,
        );
      } else info(`${manifestPath}: ${Object.keys(manifest.hosts).length} host(s), committed with the lock.`);
    }

    let pushed = false;
    if (branchCommit !== undefined) {
      const foreign = await foreignCommits(ctx, baseCommit, branchCommit, [lockPath, manifestPath]);
      if (foreign.length > 0) {
        throw new InputError(
          `${branch} on ${remote} has ${foreign.length} commit${foreign.length === 1 ? "" : "s"} that change more than ${lockPath} (${foreign.map((c) => c.slice(0, 12)).join(", ")}); Ternix rebuilds the branch every run and would drop them.`,
          {
            hint: `Move that work to another branch (or merge the pull request), then delete ${branch} on ${remote}; or give Ternix another branch with --branch.`,
          },
        );
      }
    }
    const upToDate =
      branchCommit !== undefined &&
      (await isSameCommit(ctx, branchCommit, { parent: baseCommit, tree: built.tree, message }));

    const limit = bodyLimit(request.config, setup.forgeKind, setup.forge);
    const fitted = fitBody(renderPlanMarkdown(result, { budget: limit }), limit);
    const shortened = fitted.truncated || fitted.body !== renderPlanMarkdown(result, { budget: Infinity });
    if (shortened) {
      warn(
        `the report was shortened to fit the forge's ${limit}-character body limit; ${request.reportDir === undefined ? "use --report-dir to keep the full report" : `the full report is in ${request.reportDir}`}.`,
      );
    }
    const broken = result.outcome === "host-broken";
    const draftOnBreak = request.draftOnBreak ?? request.config.forge["draft-on-break"];
    const body = { title, body: fitted.body, bodyTruncated: shortened };

    if (dryRun) {
      info(
        upToDate
          ? `Dry run: ${branch} on ${remote} already holds this update; nothing would be pushed.`
          : `Dry run: would push ${sha.slice(0, 12)} to ${branch} on ${remote} (based on ${base} ${baseCommit.slice(0, 12)}).`,
      );
      const head = upToDate && branchCommit !== undefined ? branchCommit : sha;
      return { ...done, ...body, action: "dry-run", commit: { sha: head, message, pushed: false } };
    }

    if (upToDate) info(`${branch} on ${remote} already holds this update; not pushing.`);
    else {
      phase(`Pushing ${branch} to ${remote}…`);
      await pushWithLease(ctx, remote, sha, branch, branchCommit);
      pushed = true;
    }

    const forge = setup.forge as Forge;
    phase(`Opening or updating the pull request ${branch} → ${base}…`);
    const existing = await forge.findOpenPr(branch, base);
    let pullRequest: PullRequest;
    if (existing !== undefined) {
      pullRequest = await forge.updatePr(existing.number, {
        title,
        body: fitted.body,
        // With --draft-on-break the draft state follows the outcome; otherwise it is the reviewer's.
        draft: draftOnBreak ? broken : undefined,
      });
    } else {
      pullRequest = await forge.createPr({
        head: branch,
        base,
        title,
        body: fitted.body,
        draft: draftOnBreak && broken,
        labels: request.labels ?? request.config.forge.labels,
      });
    }
    return {
      ...done,
      ...body,
      action: existing === undefined ? "opened" : "updated",
      commit: { sha: pushed ? sha : (branchCommit as string), message, pushed },
      pullRequest,
    };
  } finally {
    unregister();
    await fetched.remove();
  }
}

interface Setup {
  ctx: RepoContext;
  target: ForgeTarget;
  forgeKind: ForgeKind;
  forge: Forge | undefined;
  remote: string;
  base: string;
  branch: string;
  /** flake.lock relative to the repository root, `/`-separated. */
  lockPath: string;
  /** The update branch's commit on the remote when it exists (checked again by the lease). */
  remoteBranch: string | undefined;
}

async function preflight(request: PrRequest, deps: PrDeps): Promise<Setup> {
  const { flake, config } = request;
  const env = deps.effects.env;
  if (flake.gitRoot === undefined || flake.lockPathInRepo === undefined) {
    throw new InputError(`${flake.dir} is not in a git repository, and \`ternix pr\` pushes a branch.`, {
      hint: "Run it in a clone of the repository the pull request is for.",
    });
  }
  const lockPath = flake.lockPathInRepo.split("\\").join("/");
  const remote = request.remote ?? config.forge.remote;
  const branch = request.branch ?? config.forge.branch;
  const secrets: string[] = [];
  const redact = (text: string) => {
    let out = redactRemoteUrl(text);
    for (const secret of secrets) out = out.split(secret).join("***");
    return out;
  };
  const ctx: RepoContext = { git: deps.git, repo: flake.gitRoot, env, redact };

  await checkBranchName(ctx, branch, "--branch");
  const remoteUrl = await deps.git.call(["-C", flake.gitRoot, "remote", "get-url", remote], { env });
  if (remoteUrl.exitCode !== 0) {
    throw new UsageError(
      `the git repository ${flake.gitRoot} has no remote named ${JSON.stringify(remote)}.`,
      {
        hint: "Pass --remote NAME (see `git remote -v`), or set [forge] remote in ternix.toml.",
      },
    );
  }

  const flags = request.forge ?? {};
  const configUrl = config.forge.url;
  const configIsApi =
    configUrl !== undefined && /\/api\/v[13]\/?$|^https?:\/\/api\.github\.com/.test(configUrl);
  const kind = flags.kind ?? config.forge.kind;
  const target = detectForge({
    flags: {
      forge: kind === "gitea" ? "forgejo" : kind,
      apiUrl: flags.apiUrl ?? (configIsApi ? configUrl : undefined),
      serverUrl: flags.serverUrl ?? (configIsApi ? undefined : configUrl),
      repository: flags.repository ?? config.forge.repository,
    },
    env,
    remoteUrl: remoteUrl.stdout.trim(),
  });
  const token = request.dryRun ? resolveForgeToken(target.kind, env) : requireForgeToken(target.kind, env);
  if (token !== undefined) secrets.push(token.token, encodeURIComponent(token.token));
  const forge =
    request.dryRun || token === undefined
      ? undefined
      : createForge(target, {
          ...deps.forgeClient,
          fetch: deps.fetch,
          token: token.token,
          bodyLimit: config.forge["body-limit"],
          onRetry: (e) =>
            deps.effects.onEvent({
              type: "log",
              level: "warn",
              message: `${e.method} ${e.url}: ${e.reason}; retrying in ${Math.ceil(e.delayMs / 1000)}s (attempt ${e.attempt + 1})`,
            }),
        });

  const explicitBase = request.base ?? config.forge.base;
  if (explicitBase !== undefined) await checkBranchName(ctx, explicitBase, "--base");
  const heads = await lsRemote(ctx, remote, [
    `refs/heads/${branch}`,
    ...(explicitBase === undefined ? [] : [`refs/heads/${explicitBase}`]),
  ]);
  const headTarget = heads.symrefs.get("HEAD");
  const base =
    explicitBase ??
    (headTarget?.startsWith("refs/heads/") ? headTarget.slice("refs/heads/".length) : undefined);
  if (base === undefined) {
    throw new UsageError(`cannot tell the default branch of ${remote} (its HEAD is not a symbolic ref).`, {
      hint: "Pass --base BRANCH, or set [forge] base in ternix.toml.",
    });
  }
  if (base === branch) {
    throw new UsageError(`the update branch and the base are both ${JSON.stringify(base)}.`, {
      hint: `Ternix force-pushes the update branch; give it its own with --branch (default ${DEFAULT_UPDATE_BRANCH}).`,
    });
  }
  if (!heads.refs.has(`refs/heads/${base}`) && explicitBase !== undefined) {
    throw new InputError(`${remote} has no branch ${JSON.stringify(base)}.`, {
      hint: "Check --base (or [forge] base in ternix.toml).",
    });
  }
  return {
    ctx,
    target,
    forgeKind: target.kind,
    forge,
    remote,
    base,
    branch,
    lockPath,
    remoteBranch: heads.refs.get(`refs/heads/${branch}`),
  };
}

async function checkBranchName(ctx: RepoContext, name: string, flag: string): Promise<void> {
  const result = await ctx.git.call(["check-ref-format", `refs/heads/${name}`], { env: ctx.env });
  if (result.exitCode !== 0 || name.startsWith("-")) {
    throw new UsageError(`${flag} ${JSON.stringify(name)} is not a valid branch name.`, {
      hint: "Use a name git accepts, e.g. ternix/flake-update (see `git check-ref-format`).",
    });
  }
}

interface ObtainedPlan {
  plan: PlanResult;
  /** The updated flake.lock's text. */
  afterText: string;
  /** report.json's content. */
  reportJson: string;
}

async function obtainPlan(request: PrRequest, deps: PrDeps, baseLockText: string): Promise<ObtainedPlan> {
  const { flake, source } = request;
  if (source.kind === "report") {
    const reportHint = "Pass the file `ternix plan --format json --output FILE` wrote.";
    const text = await readUserFile(source.file, { hint: reportHint });
    if (text === undefined) {
      throw new InputError(`cannot read the plan report ${source.file}: ENOENT`, { hint: reportHint });
    }
    const plan = parsePlanJson(text, source.file);
    const afterText = await readLockText(flake);
    if (plan.outcome === "changed" || plan.outcome === "host-broken") {
      const mismatch = reportMismatch(plan.lockDiff, parseFlakeLock(afterText, flake.lockPath));
      if (mismatch !== undefined) {
        throw new InputError(
          `${flake.lockPath} is not the updated lock ${source.file} was made with (${mismatch}).`,
          {
            hint: "Run `ternix pr --report` in the checkout where `ternix plan` ran, without --restore-lock; or let `ternix pr` run the plan.",
          },
        );
      }
    }
    return { plan, afterText, reportJson: text.endsWith("\n") ? text : `${text}\n` };
  }

  const originalText = await readLockText(flake);
  // The plan restores the lock when it fails; this covers the moment after it returns.
  const restore = () => ensureFileContent(flake.lockPath, originalText);
  const unregister = deps.effects.cleanup.add(restore);
  const asJson = (plan: PlanResult) => `${JSON.stringify(toPlanJson(plan), null, 2)}\n`;
  try {
    const plan = await deps.runPlan({
      flake,
      config: request.config,
      inputs: source.inputs,
      skipUpdate: false,
      baseline: baseLockText,
      hosts: source.hosts,
      exclude: source.exclude,
      restoreLock: false,
      jobs: source.jobs,
      manifest: source.manifest,
      pushTo: source.pushTo,
      signKey: source.signKey,
    });
    if (plan.lockState !== "updated") return { plan, afterText: originalText, reportJson: asJson(plan) };
    const afterText = await readLockText(flake);
    // The update goes to the branch; the user's checkout keeps its lock.
    await restore();
    const restored: PlanResult = { ...plan, lockState: "restored" };
    return { plan: restored, afterText, reportJson: asJson(restored) };
  } finally {
    unregister();
  }
}

/** What differs between the report's updated lock and `lock`, or undefined when they agree. */
export function reportMismatch(diff: LockDiff, lock: FlakeLock): string | undefined {
  const actual = new Map(lockInputs(lock).map((i) => [i.id, pinKey(i)]));
  const expected = new Map<string, string>();
  for (const input of diff.inputs) if (input.after !== undefined) expected.set(input.id, pinKey(input.after));
  for (const [id, key] of expected) {
    if (!actual.has(id)) return `input ${id} is missing`;
    if (actual.get(id) !== key) return `input ${id} is locked differently`;
  }
  for (const id of actual.keys()) if (!expected.has(id)) return `input ${id} is not in the report`;
  return undefined;
}

function pinKey(input: LockedInput): string {
  if (input.followsTarget !== undefined) return `follows ${input.followsTarget}`;
  return [input.type, input.location, input.rev ?? "", input.narHash ?? ""].join(" ");
}

/** The lock change as a comparable string: each changed input and its pins. */
function changeKey(diff: LockDiff): string {
  return changedInputs(diff)
    .map((i) => `${i.id}:${i.status}:${i.before ? pinKey(i.before) : "-"}>${i.after ? pinKey(i.after) : "-"}`)
    .join("\n");
}

function bodyLimit(config: Config, kind: ForgeKind, forge: Forge | undefined): number {
  const configured = config.forge["body-limit"];
  // Without a forge (dry run) use the adapter's documented limit.
  const forgeLimit =
    forge?.bodyLimit ?? (kind === "github" ? GITHUB_BODY_LIMIT : (configured ?? FORGEJO_DEFAULT_BODY_LIMIT));
  return Math.min(forgeLimit, configured ?? forgeLimit);
}

async function writeReports(dir: string, plan: PlanResult, json: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    // The full report: no budget, nothing shortened.
    [REPORT_FILES.markdown, renderPlanMarkdown(plan, { budget: Infinity })],
    [REPORT_FILES.json, json],
    [REPORT_FILES.text, renderPlanText(plan, { color: false })],
  ];
  const written: string[] = [];
  for (const [name, content] of files) {
    const path = join(dir, name);
    await writeFile(path, content);
    written.push(path);
  }
  return written;
}
