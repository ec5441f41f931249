/**
 * `ternix upgrade [HOST]`: a host converges on the reviewed commit by itself (docs/upgrade.md).
 * Fetch one branch into Ternix's own clone, trust it (fast-forward of the deployed commit, signed if
 * asked), skip a quarantined commit, build exactly that commit, activate it through the engine
 * (two-phase, health-gated), reboot only when needed and allowed, and report every run in the state
 * file and the metrics file.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { ClosureDiff } from "../../closure/model.js";
import { parseConfig } from "../../config/config.js";
import { InputError, InterruptedError } from "../../errors.js";
import type { StatusForge } from "../../forge/types.js";
import { isInterruption } from "../../proc/run.js";
import type { Git } from "../../git/git.js";
import { gitRevisionFlakeRef } from "../../nix/args.js";
import type { Nix } from "../../nix/nix.js";
import { writeFileAtomic } from "../../proc/files.js";
import { renderUpgradeMetrics } from "../../report/metrics.js";
import type { CheckReport, CheckResult, CheckSpec } from "../../system/checks.js";
import { inRebootWindow, rebootReason, type RebootWindow } from "../../system/reboot.js";
import {
  emptyUpgradeState,
  type SystemState,
  type UpgradeResult,
  type UpgradeState,
} from "../../system/state.js";
import type { Effects } from "../effects.js";
import { requireNixosSystem } from "./activation.js";
import { compareSystems } from "./apply.js";
import { acquireApplyLock } from "./apply-lock.js";
import { checkSpecsFromConfig } from "./checks.js";
import { postCommitStatus, upgradeCommitStatus } from "./forge-report.js";
import { localTarget, runActivation, type EngineOperation } from "./engine.js";
import { bootFilesOf, readProfile, storePathOfLink } from "./profile.js";
import { loadState, updateState } from "./state-file.js";
import { realisePrebuilt } from "./prebuilt.js";
import { buildHostSystem } from "./system-build.js";
import type { SystemEffects } from "./system-effects.js";
import { lockFilePath, requireSystemAccess, type SystemPaths } from "./system-paths.js";

export interface UpgradeRequest {
  /** Already checked with resolveHostName. */
  host: string;
  /** Any URL git can fetch, or a path (made absolute by the caller). */
  repo: string;
  branch: string;
  /** The flake's directory inside the repository ("" = root). */
  flakeDir: string;
  operation: EngineOperation;
  allowReboot: boolean;
  rebootWindow: RebootWindow | undefined;
  /** `[system] reboot`. */
  rebootCommand: readonly string[];
  /** An allowed-signers file: the commit must carry a valid SSH signature by one of its keys. */
  requireSigned: string | undefined;
  metricsFile: string | undefined;
  dryRun: boolean;
  /** Try a quarantined commit again. */
  retry: boolean;
  /**
   * Take the system from the binary caches when the commit's host manifest matches its files
   * (prebuilt.ts); otherwise evaluate and build as usual.
   */
  prebuilt?: boolean | undefined;
  wait: boolean;
  paths: SystemPaths;
  /** The host config's `[[checks]]`; the flake's ternix.toml at the commit adds its own. */
  hostChecks: readonly CheckSpec[];
  argv?: readonly string[] | undefined;
}

export interface UpgradeDeps {
  nix: Nix;
  git: Git;
  effects: Effects;
  system: SystemEffects;
  onCheck?: ((result: CheckResult) => void) | undefined;
  /** `--report-to-forge`: post each run's verdict as the commit status `ternix/host/<HOST>`. */
  statusForge?: StatusForge | undefined;
}

export interface UpgradeReport {
  result: UpgradeResult;
  host: string;
  /** The newest commit of the branch (undefined when the fetch failed). */
  commit: string | undefined;
  /** One line: what happened. */
  message: string;
  dryRun: boolean;
  storePath?: string | undefined;
  generation?: number | undefined;
  diff?: ClosureDiff | undefined;
  checks?: CheckReport | undefined;
  /** With `--prebuilt`: whether the manifest's system was substituted, and if not, why. */
  prebuilt?: { used: boolean; reason?: string | undefined } | undefined;
  /** After a successful run: whether a reboot is needed and what was done about it. */
  reboot?:
    { needed: boolean; reason?: string | undefined; action: "none" | "rebooting" | "pending" } | undefined;
}

/** Ternix's own clone of the repository, under the state directory. */
export const clonePath = (paths: SystemPaths) => join(paths.stateDir, "upgrade", "repo.git");

const short = (sha: string) => sha.slice(0, 12);

/** A repository argument: URLs and scp-like `host:path` stay as they are; a local path becomes absolute. */
export function resolveRepo(repo: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+:/.test(repo) || isAbsolute(repo)) return repo;
  return resolve(cwd, repo);
}

export async function upgradeSystem(request: UpgradeRequest, deps: UpgradeDeps): Promise<UpgradeReport> {
  const { paths } = request;
  await requireSystemAccess(paths, deps.system, "upgrade", request.argv);
  // Read and validate what the run needs before anything changes.
  await loadState(paths);
  if (request.requireSigned !== undefined) await requireFile(request.requireSigned, "--require-signed");
  const lock = await acquireApplyLock(
    { path: lockFilePath(paths), command: `upgrade ${request.host}`, wait: request.wait },
    deps,
  );
  let commit: string | undefined;
  try {
    const state = await loadState(paths);
    const upgrade = state.upgrade ?? emptyUpgradeState();
    commit = await fetchBranch(request, deps);
    const report = await upgradeTo(commit, upgrade, request, deps);
    return report;
  } catch (error) {
    // Also an interrupt is a run to report (the engine's restore runs after this, from the cleanup).
    if (!request.dryRun) {
      const message = error instanceof Error ? error.message : String(error);
      const interrupted = error instanceof InterruptedError || isInterruption(error);
      await finish(request, deps, { result: "error", commit, message, interrupted }).catch(() => undefined);
    }
    throw error;
  } finally {
    await lock.release();
  }
}

async function upgradeTo(
  commit: string,
  upgrade: UpgradeState,
  request: UpgradeRequest,
  deps: UpgradeDeps,
): Promise<UpgradeReport> {
  const { host, dryRun } = request;
  const log = (message: string) =>
    deps.effects.onEvent({ type: "log", level: "info", message: `upgrade: ${message}` });
  const base = { host, commit, dryRun };

  // Trust.
  const refusal = await trustProblem(commit, upgrade, request, deps);
  if (refusal !== undefined) {
    const message = `refused ${short(commit)}: ${refusal}`;
    log(`${message}; nothing built or activated`);
    if (!dryRun) await finish(request, deps, { result: "refused", commit, message });
    return { ...base, result: "refused", message };
  }
  log(
    upgrade.deployed === null
      ? `trusted ${short(commit)} (first run: recorded as the base of later fast-forwards)`
      : upgrade.deployed.commit === commit
        ? `trusted ${short(commit)} (the deployed commit)`
        : `trusted ${short(commit)} (descends from the deployed ${short(upgrade.deployed.commit)})`,
  );

  // Quarantine.
  const quarantined = upgrade.quarantined.find((q) => q.commit === commit);
  if (quarantined !== undefined && !request.retry) {
    const message = `${short(commit)} is quarantined since ${quarantined.at} (${quarantined.reason}); waiting for a newer commit or --retry`;
    log(message);
    if (!dryRun) await finish(request, deps, { result: "quarantined", commit, message });
    return { ...base, result: "quarantined", message };
  }

  // Build exactly that commit, never touching its lock.
  const clone = clonePath(request.paths);
  const checks = [...request.hostChecks, ...(await flakeChecks(clone, commit, request, deps.git))];
  let prebuilt: UpgradeReport["prebuilt"];
  let built: { storePath: string; release: () => Promise<void> } | undefined;
  if (request.prebuilt) {
    const outcome = await realisePrebuilt(
      { clone, commit, flakeDir: request.flakeDir, host },
      { nix: deps.nix, git: deps.git, effects: deps.effects },
    );
    if (outcome.ok) {
      built = outcome;
      prebuilt = { used: true };
      log(
        `prebuilt: substituted ${outcome.storePath} (the manifest matches ${short(commit)}); nothing evaluated`,
      );
    } else {
      prebuilt = { used: false, reason: outcome.reason };
      log(`prebuilt: not used: ${outcome.reason}; evaluating and building instead`);
    }
  }
  built ??= await buildHostSystem(
    deps.nix,
    {
      flakeRef: gitRevisionFlakeRef(clone, request.branch, commit, request.flakeDir),
      cwd: clone,
      label: `${request.repo} at ${short(commit)}`,
    },
    host,
    deps.effects,
  );
  const withPrebuilt = prebuilt === undefined ? {} : { prebuilt };
  try {
    await requireNixosSystem(built.storePath);
    log(`${prebuilt?.used ? "substituted" : "built"} ${host} at ${short(commit)}: ${built.storePath}`);
    const running = await storePathOfLink(request.paths.currentSystem);
    const profile = await readProfile(request.paths.profile);
    const bootDefault = profile.generations.find((g) => g.number === profile.current);
    const upToDate =
      request.operation === "boot"
        ? bootDefault?.storePath === built.storePath
        : running === built.storePath &&
          (request.operation === "test" || bootDefault?.storePath === built.storePath);
    if (upToDate) {
      const message = `${host} already runs ${short(commit)}`;
      log(`up to date: ${message}`);
      const reboot = dryRun ? undefined : await rebootStep(built.storePath, request, deps, log);
      if (!dryRun) {
        await finish(request, deps, {
          result: "up_to_date",
          commit,
          message,
          deployed: { storePath: built.storePath, generation: bootDefault?.number ?? null, checked: true },
          reboot,
        });
        await runReboot(reboot, request, deps, log);
      }
      return {
        ...base,
        ...withPrebuilt,
        result: "up_to_date",
        message,
        storePath: built.storePath,
        generation: bootDefault?.number,
        reboot: reboot?.report,
      };
    }

    const diff =
      running === undefined
        ? undefined
        : (await compareSystems(deps.nix, deps.effects, running, built.storePath)).diff;
    log(`diff: ${diff === undefined ? "(no running system to compare with)" : diffSummary(diff)}`);
    if (dryRun) {
      const message = `would ${request.operation} ${host} to ${short(commit)} (${built.storePath})`;
      log(message);
      return { ...base, ...withPrebuilt, result: "upgraded", message, storePath: built.storePath, diff };
    }

    log(`activating ${short(commit)} (${request.operation})`);
    const { onCheck } = deps;
    const outcome = await runActivation(
      {
        storePath: built.storePath,
        operation: request.operation,
        host,
        command: "upgrade",
        checks,
        rollback: true,
        onCheck: (r) => {
          log(`check ${r.name}: ${r.status} (${r.detail})`);
          onCheck?.(r);
        },
      },
      {
        target: localTarget(deps.nix, deps.effects.run, request.paths),
        effects: deps.effects,
        system: deps.system,
      },
    );

    if (outcome.outcome === "rolled-back" || outcome.outcome === "checks-failed") {
      const failed = outcome.checks?.results.find((r) => r.status === "failed");
      const reason = failed ? `${failed.name}: ${failed.detail}` : "a check failed";
      const back = outcome.rolledBackTo?.storePath ?? running ?? "(nothing was running)";
      const message = `checks failed for ${short(commit)} (${reason}); re-activated ${back}, boot default unchanged; commit quarantined`;
      log(message);
      await finish(request, deps, { result: "checks_failed", commit, message, quarantine: reason });
      return {
        ...base,
        ...withPrebuilt,
        result: "checks_failed",
        message,
        storePath: built.storePath,
        diff,
        checks: outcome.checks,
      };
    }

    const checked = outcome.outcome !== "boot-default";
    const message =
      outcome.outcome === "boot-default"
        ? `${short(commit)} is the boot default as generation ${outcome.generation ?? "?"} (unchecked: --operation boot)`
        : outcome.outcome === "tested"
          ? `${short(commit)} is active and its checks passed; the boot default is unchanged (--operation test)`
          : `upgraded to ${short(commit)}: generation ${outcome.generation ?? "?"}, checks passed, known good`;
    log(message);
    const reboot =
      outcome.outcome === "tested" ? undefined : await rebootStep(built.storePath, request, deps, log);
    await finish(request, deps, {
      result: "upgraded",
      commit,
      message,
      deployed: { storePath: built.storePath, generation: outcome.generation ?? null, checked },
      reboot,
    });
    await runReboot(reboot, request, deps, log);
    return {
      ...base,
      ...withPrebuilt,
      result: "upgraded",
      message,
      storePath: built.storePath,
      generation: outcome.generation,
      diff,
      checks: outcome.checks,
      reboot: reboot?.report,
    };
  } finally {
    await built.release();
  }
}

/** `git fetch` of the one branch into the clone (created on first use); returns its commit. */
async function fetchBranch(request: UpgradeRequest, deps: UpgradeDeps): Promise<string> {
  const clone = clonePath(request.paths);
  const { git } = deps;
  deps.effects.onEvent({ type: "phase", message: `Fetching ${request.branch} from ${request.repo}…` });
  if (!(await isDirectory(clone))) {
    await mkdir(clone, { recursive: true, mode: 0o700 });
    await git.check("creating Ternix's clone failed", ["init", "--quiet", "--bare", clone]);
  }
  const ref = `refs/heads/${request.branch}`;
  await git.check(`fetching ${request.branch} from ${request.repo} failed`, [
    "-C",
    clone,
    "fetch",
    "--quiet",
    "--no-tags",
    "--force",
    "--update-head-ok",
    "--",
    request.repo,
    `+${ref}:${ref}`,
  ]);
  await git.check("setting the clone's branch failed", ["-C", clone, "symbolic-ref", "HEAD", ref]);
  const sha = (
    await git.check("reading the fetched commit failed", [
      "-C",
      clone,
      "rev-parse",
      "--verify",
      `${ref}^{commit}`,
    ])
  ).stdout.trim();
  deps.effects.onEvent({
    type: "log",
    level: "info",
    message: `upgrade: fetched ${request.branch} from ${request.repo}: ${sha}`,
  });
  return sha;
}

/** Why the commit is not trusted, or undefined when it is. */
async function trustProblem(
  commit: string,
  upgrade: UpgradeState,
  request: UpgradeRequest,
  deps: UpgradeDeps,
): Promise<string | undefined> {
  const clone = clonePath(request.paths);
  const deployed = upgrade.deployed?.commit;
  if (deployed !== undefined && deployed !== commit) {
    const result = await deps.git.call(["-C", clone, "merge-base", "--is-ancestor", deployed, commit]);
    if (result.exitCode === 1) {
      return `it does not descend from the deployed commit ${short(deployed)} (was ${request.branch} force-pushed?)`;
    }
    if (result.exitCode !== 0) {
      return `cannot tell whether it descends from the deployed commit ${short(deployed)}: ${firstLine(result.stderr)}`;
    }
  }
  if (request.requireSigned !== undefined) {
    const result = await deps.git.call([
      "-C",
      clone,
      "-c",
      `gpg.ssh.allowedSignersFile=${request.requireSigned}`,
      "verify-commit",
      "--",
      commit,
    ]);
    if (result.exitCode !== 0) {
      return `it has no valid signature by a key in ${request.requireSigned} (${firstLine(result.stderr) || "unsigned"})`;
    }
  }
  return undefined;
}

/** The `[[checks]]` of the flake's ternix.toml at the commit (none when it has none). */
async function flakeChecks(
  clone: string,
  commit: string,
  request: UpgradeRequest,
  git: Git,
): Promise<CheckSpec[]> {
  const sub = request.flakeDir.replace(/^\/+|\/+$/g, "");
  const path = sub === "" ? "ternix.toml" : `${sub}/ternix.toml`;
  const text = await git.showFile(clone, commit, path);
  if (text === undefined) return [];
  return checkSpecsFromConfig(parseConfig(text, `${path} at ${short(commit)}`).checks);
}

interface RebootStep {
  storePath: string;
  report: NonNullable<UpgradeReport["reboot"]>;
  pending: { since: string; storePath: string; reason: string } | null;
}

/** Whether the new boot default needs a reboot (kernel, initrd, modules), and whether it may happen now. */
async function rebootStep(
  storePath: string,
  request: UpgradeRequest,
  deps: UpgradeDeps,
  log: (message: string) => void,
): Promise<RebootStep> {
  const bootedPath = await storePathOfLink(request.paths.bootedSystem);
  const booted = bootedPath === undefined ? undefined : await bootFilesOf(bootedPath);
  const reason = rebootReason(booted, await bootFilesOf(storePath));
  if (reason === undefined) return { storePath, report: { needed: false, action: "none" }, pending: null };
  const now = deps.effects.now();
  const inside = inRebootWindow(request.rebootWindow, now.getHours() * 60 + now.getMinutes());
  if (request.allowReboot && inside) {
    log(`reboot needed (${reason}); rebooting with ${request.rebootCommand.join(" ")}`);
    return { storePath, report: { needed: true, reason, action: "rebooting" }, pending: null };
  }
  const why = request.allowReboot
    ? `outside the reboot window ${request.rebootWindow?.text ?? ""}`
    : "--allow-reboot not given";
  log(`reboot needed (${reason}); pending: ${why}`);
  return {
    storePath,
    report: { needed: true, reason, action: "pending" },
    pending: { since: now.toISOString(), storePath, reason },
  };
}

async function runReboot(
  reboot: RebootStep | undefined,
  request: UpgradeRequest,
  deps: UpgradeDeps,
  log: (message: string) => void,
): Promise<void> {
  if (reboot?.report.action !== "rebooting") return;
  const [command, ...args] = request.rebootCommand as [string, ...string[]];
  const result = await deps.effects.run(command, args, { env: deps.effects.env });
  if (result.exitCode !== 0) {
    const message = `the reboot command failed (exit ${result.exitCode ?? result.signal}): ${firstLine(result.stderr)}`;
    log(message);
    reboot.report.action = "pending";
    await updateState(request.paths, (state) => ({
      ...state,
      upgrade: {
        ...(state.upgrade ?? emptyUpgradeState()),
        rebootPending: {
          since: deps.effects.now().toISOString(),
          storePath: reboot.storePath,
          reason: message,
        },
      },
    }));
    await writeMetrics(request, deps, await currentUpgradeState(request.paths));
  }
}

interface Finish {
  result: UpgradeResult;
  commit: string | undefined;
  message: string;
  deployed?: { storePath: string; generation: number | null; checked: boolean } | undefined;
  reboot?: RebootStep | undefined;
  /** Quarantine the commit, for this reason. */
  quarantine?: string | undefined;
  /** The run was interrupted: no verdict to report to the forge. */
  interrupted?: boolean | undefined;
}

/** Record the run in the state file and the metrics file (every run, success or not). */
async function finish(request: UpgradeRequest, deps: UpgradeDeps, f: Finish): Promise<void> {
  const at = deps.effects.now().toISOString();
  const success = f.result === "up_to_date" || f.result === "upgraded";
  // Before the state and metrics are written (they record how the report went) and before a reboot.
  const status =
    deps.statusForge === undefined || f.commit === undefined
      ? undefined
      : upgradeCommitStatus({
          result: f.result,
          message: f.message,
          checked: f.deployed?.checked,
          rebootPending: f.reboot?.report.action === "pending",
          rebooting: f.reboot?.report.action === "rebooting",
          interrupted: f.interrupted,
        });
  const forgeReport =
    status === undefined || deps.statusForge === undefined || f.commit === undefined
      ? undefined
      : await postCommitStatus(deps.statusForge, request.host, f.commit, status, at, deps.effects.onEvent);
  const next = await updateState(request.paths, (state: SystemState) => {
    const upgrade = state.upgrade ?? emptyUpgradeState();
    // A commit leaves quarantine when it succeeds (--retry) and is re-entered when it fails again.
    const quarantined = upgrade.quarantined.filter(
      (q) => !(q.commit === f.commit && (success || f.quarantine !== undefined)),
    );
    if (f.quarantine !== undefined && f.commit !== undefined) {
      quarantined.push({ commit: f.commit, at, reason: f.quarantine });
    }
    return {
      ...state,
      upgrade: {
        ...upgrade,
        lastRun: { at, result: f.result, commit: f.commit ?? null, message: f.message },
        lastSuccessAt: success ? at : upgrade.lastSuccessAt,
        deployed:
          f.deployed !== undefined && f.commit !== undefined
            ? { commit: f.commit, ...f.deployed, at }
            : upgrade.deployed,
        quarantined: quarantined.slice(-50),
        rebootPending: f.reboot !== undefined ? f.reboot.pending : upgrade.rebootPending,
        forgeReport: forgeReport ?? upgrade.forgeReport,
      },
    };
  });
  deps.effects.onEvent({ type: "log", level: "info", message: `upgrade: result ${f.result}` });
  await writeMetrics(request, deps, next.upgrade ?? emptyUpgradeState());
}

async function currentUpgradeState(paths: SystemPaths): Promise<UpgradeState> {
  return (await loadState(paths)).upgrade ?? emptyUpgradeState();
}

/** The metrics file; a failure to write it is a warning: the run's result stands. */
async function writeMetrics(
  request: UpgradeRequest,
  deps: UpgradeDeps,
  upgrade: UpgradeState,
): Promise<void> {
  const file = request.metricsFile;
  if (file === undefined) return;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFileAtomic(file, await renderUpgradeMetrics(upgrade));
  } catch (error) {
    deps.effects.onEvent({
      type: "log",
      level: "warn",
      message: `could not write the metrics file ${file}: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

/** `ternix upgrade --status`: what the state file says (read-only, no lock). */
export async function upgradeStatus(paths: SystemPaths): Promise<UpgradeState> {
  return currentUpgradeState(paths);
}

export function diffSummary(diff: ClosureDiff): string {
  const c = diff.counts;
  const parts = [
    `${c.upgraded} upgraded`,
    `${c.downgraded} downgraded`,
    `${c.added} added`,
    `${c.removed} removed`,
    `${c.changed + c.rebuilt} changed or rebuilt`,
  ];
  const risks = diff.risks.map((r) => `[${r.severity}] ${r.title}`);
  return `${parts.join(", ")}; risks: ${risks.length === 0 ? "none" : risks.join("; ")}`;
}

function firstLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .find((l) => l.trim() !== "") ?? ""
  ).trim();
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function requireFile(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new InputError(`${what}: ${path} is not a readable file.`, {
      hint: "Give an allowed-signers file (one `PRINCIPAL KEY` line per signer; see ssh-keygen(1) ALLOWED SIGNERS).",
    });
  }
}
