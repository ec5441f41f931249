/**
 * `ternix deploy`: build every selected host in one `nix build` (as `plan` does), compare each with
 * what it runs now (read over SSH), ask once, copy the closures (`nix copy --to ssh-ng://`), and
 * activate each host with THE activation engine on an SSH target, guarded by a dead man's switch:
 * a timer on the host that re-activates the previous system unless Ternix disarms it over a NEW
 * connection after the checks passed. Hosts run through the one fleet map (canaries first and
 * alone, at most N at once, a failure threshold). Every host ends in one state (docs/deploy.md).
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ClosureDiff } from "../../closure/model.js";
import type { Config } from "../../config/config.js";
import { ExitCode, InputError, TernixError, UsageError } from "../../errors.js";
import { remoteRealiseArgs } from "../../nix/args.js";
import { parseBuildFailures } from "../../nix/messages.js";
import type { Nix } from "../../nix/nix.js";
import { pathExists } from "../../proc/files.js";
import { isInterruption } from "../../proc/run.js";
import { copyClosure } from "../../remote/copy.js";
import { isSshDestination, NEW_CONNECTION, sshExitArgs, sshRun, SSH_FAILURE_EXIT } from "../../remote/ssh.js";
import {
  deadMansSwitchArmArgs,
  deadMansSwitchDisarmArgs,
  deadMansSwitchUnit,
} from "../../system/activation-command.js";
import type { CheckReport, CheckResult } from "../../system/checks.js";
import { Cleanup } from "../cleanup.js";
import type { Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { requireNixosSystem } from "../machine/activation.js";
import { compareSystems } from "../machine/apply.js";
import { checkSpecsFromConfig } from "../machine/checks.js";
import { runActivation, type ActivationTarget, type EngineOperation } from "../machine/engine.js";
import type { ApplyLock } from "../machine/apply-lock.js";
import { acquireRemoteApplyLock } from "../machine/remote-apply-lock.js";
import { connectSshTarget, UnreachableError } from "../machine/ssh-target.js";
import { lockFilePath } from "../machine/system-paths.js";
import type { SystemEffects } from "../machine/system-effects.js";
import { fleetMap } from "./fleet-map.js";
import { buildToplevels, discoverHosts, evalToplevels } from "./hosts.js";
import {
  canaryHosts,
  confirmTimeoutSeconds,
  remoteHost,
  selectFleet,
  type RemoteHost,
} from "./remote-hosts.js";

export type DeployState = "deployed" | "unchanged" | "rolled-back" | "failed" | "skipped" | "unreachable";
export type DeployStage = "build" | "copy" | "phase1" | "checks" | "phase2";

export interface DeployRequest {
  flake: FlakeLocation;
  config: Config;
  /** Host names and `@tag`s; empty: every host. */
  selectors: readonly string[];
  exclude?: string | undefined;
  operation: EngineOperation;
  dryRun: boolean;
  parallel?: number | undefined;
  canary?: readonly string[] | undefined;
  maxFailures?: number | undefined;
  sshOptions?: readonly string[] | undefined;
  /** `--trust-config`: ssh options in ternix.toml may run commands. */
  trustConfig?: boolean | undefined;
  confirmTimeout?: string | undefined;
  /** Concurrent evaluations (default: cores). */
  jobs?: number | undefined;
}

export interface DeployPreviewHost {
  host: string;
  /** The ssh destination. */
  target: string;
  canary: boolean;
  status: "changed" | "unchanged" | "unreachable" | "build-failed";
  /** What the host runs now. */
  running?: string | undefined;
  /** The system the flake builds for it. */
  toplevel?: string | undefined;
  /** build-on = "target": its derivation, copied to the host and built there. */
  drvPath?: string | undefined;
  diff?: ClosureDiff | undefined;
  diffNote?: string | undefined;
  error?: string | undefined;
}

export interface HostDeploy {
  host: string;
  target: string;
  state: DeployState;
  /** failed: where it stopped. */
  stage?: DeployStage | undefined;
  /** One line: why it failed, was skipped or rolled back. */
  reason?: string | undefined;
  before?: { storePath?: string | undefined; generation?: number | undefined } | undefined;
  after?: { storePath?: string | undefined; generation?: number | undefined } | undefined;
  durationMs?: number | undefined;
  needsReboot?: boolean | undefined;
  checks?: CheckReport | undefined;
  /**
   * The dead man's switch: disarmed after the checks, or left armed (Ternix stopped; the host goes
   * back to `before` when it fires).
   */
  deadMansSwitch?: { unit: string; state: "disarmed" | "left-armed" } | undefined;
}

export interface DeployResult {
  operation: EngineOperation;
  dryRun: boolean;
  /** The review said no. */
  aborted: boolean;
  /** Ctrl-C: no new host started. */
  interrupted: boolean;
  canaries: string[];
  preview: DeployPreviewHost[];
  /** Empty with --dry-run or when aborted. */
  hosts: HostDeploy[];
  /** Hosts the exclude pattern left out. */
  excluded: string[];
}

export interface DeployDeps {
  nix: Nix;
  effects: Effects;
  system: SystemEffects;
  /** Shown the preview; false stops before anything changes. */
  review(preview: DeployPreviewHost[], canaries: readonly string[]): Promise<boolean>;
  onCheck?: ((host: string, result: CheckResult) => void) | undefined;
  /** Told when a host reaches its end state. */
  onHostDone?: ((result: HostDeploy) => void) | undefined;
  /** How a host is reached (tests pass their own); default connectSshTarget. */
  connect?: ((host: RemoteHost) => Promise<ActivationTarget>) | undefined;
}

export function deployExitCode(result: DeployResult): number {
  if (result.aborted) return ExitCode.error;
  if (result.dryRun)
    return result.preview.every((h) => h.status === "changed" || h.status === "unchanged")
      ? ExitCode.ok
      : ExitCode.error;
  if (result.hosts.some((h) => h.state === "rolled-back")) return ExitCode.checkFailed;
  return result.hosts.every((h) => h.state === "deployed" || h.state === "unchanged")
    ? ExitCode.ok
    : ExitCode.error;
}

export async function deploy(request: DeployRequest, deps: DeployDeps): Promise<DeployResult> {
  const { config, flake } = request;
  const { nix, effects } = deps;
  const phase = (message: string) => effects.onEvent({ type: "phase", message });
  const parallel = request.parallel ?? config.deploy.parallel;
  const maxFailures = request.maxFailures ?? config.deploy["max-failures"];
  const timeout = confirmTimeoutSeconds(config, request.confirmTimeout);

  const all = await discoverHosts(nix, flake.dir);
  const { selected, skipped: excluded } = selectFleet(all, config, {
    selectors: request.selectors,
    exclude: request.exclude,
  });
  if (selected.length === 0) {
    throw new InputError("no hosts left to deploy after filtering.", {
      hint: `Hosts: ${all.map((h) => JSON.stringify(h)).join(", ")}; check the arguments and ternix.toml [hosts] exclude.`,
    });
  }
  const remotes = new Map(
    selected.map(
      (h) =>
        [
          h,
          remoteHost(h, config, { sshOptions: request.sshOptions, trustConfig: request.trustConfig }),
        ] as const,
    ),
  );
  // Names from the flake reach ssh only as a configured destination: refuse before building.
  const badTargets = selected.filter((h) => !isSshDestination(remotes.get(h)?.ssh.destination ?? ""));
  if (badTargets.length > 0) {
    throw new UsageError(
      `no ssh target for ${badTargets.map((h) => JSON.stringify(h)).join(", ")}: the host name is not an address.`,
      { hint: 'Set target = "user@address" in ternix.toml [deploy.hosts."NAME"] (docs/deploy.md).' },
    );
  }
  const canaries = canaryHosts(selected, config, request.canary ?? config.deploy.canary);

  // 1. Evaluate and build every host in one `nix build`.
  const rootDir = await mkdtemp(join(tmpdir(), "ternix-deploy-"));
  const controlPath = sharedControlPath(rootDir);
  if (controlPath !== undefined) {
    await mkdir(dirname(controlPath), { mode: 0o700 });
    for (const [h, remote] of remotes) remotes.set(h, { ...remote, ssh: { ...remote.ssh, controlPath } });
  }
  const closeShared = () => closeSharedConnections([...remotes.values()], effects);
  const unregisterRoots = effects.cleanup.add(async () => {
    await closeShared();
    await rm(rootDir, { recursive: true, force: true });
  });
  try {
    phase(`Building ${selected.length} host${selected.length === 1 ? "" : "s"}…`);
    const evals = await evalToplevels(nix, flake.dir, selected, {
      jobs: request.jobs,
      onEvent: effects.onEvent,
    });
    // build-on = "target": evaluated here (the .drv files are all the target needs), built there.
    const buildsOnTarget = (h: string) => remotes.get(h)?.buildOn === "target";
    const builds = await buildToplevels(nix, new Map([...evals].filter(([h]) => !buildsOnTarget(h))), {
      rootDir,
      onEvent: effects.onEvent,
    });
    for (const [h, e] of evals) {
      if (!buildsOnTarget(h)) continue;
      builds.set(
        h,
        e.ok
          ? { host: h, ok: true, drvPath: e.drvPath, toplevel: e.outPath }
          : { host: h, ok: false, stage: "eval", error: e.error, logTail: e.detail },
      );
    }

    // 2. Ask every host what it runs (in parallel), and compare.
    phase("Asking the hosts what they run…");
    const connect = deps.connect ?? ((host: RemoteHost) => connectSshTarget(host, { env: effects.env }));
    const targets = new Map<string, ActivationTarget>();
    const preview: DeployPreviewHost[] = [];
    const previewEntries = await fleetMap(
      selected,
      async (host): Promise<DeployPreviewHost> => {
        const remote = remotes.get(host) as RemoteHost;
        const base = { host, target: remote.ssh.destination, canary: canaries.includes(host) };
        const build = builds.get(host);
        if (!build?.ok) return { ...base, status: "build-failed", error: build?.error ?? "not built" };
        const onTarget = remote.buildOn === "target";
        // A system built on the target is checked there, after its build.
        if (!onTarget) await requireNixosSystem(build.toplevel);
        let target: ActivationTarget;
        try {
          target = await connect(remote);
        } catch (error) {
          if (error instanceof UnreachableError)
            return { ...base, status: "unreachable", toplevel: build.toplevel, error: error.message };
          throw error;
        }
        targets.set(host, target);
        const running = await target.storePathOfLink(remote.paths.currentSystem);
        const built = { toplevel: build.toplevel, ...(onTarget ? { drvPath: build.drvPath } : {}) };
        if (running === build.toplevel) return { ...base, status: "unchanged", running, ...built };
        const compared =
          running === undefined
            ? { diff: undefined, diffNote: `${remote.paths.currentSystem} does not exist on the host` }
            : !(await pathExists(running))
              ? {
                  diff: undefined,
                  diffNote: "the running system is not in the local store (no package diff)",
                }
              : onTarget && !(await pathExists(build.toplevel))
                ? {
                    diff: undefined,
                    diffNote: 'build-on = "target": the new system is built on the host (no package diff)',
                  }
                : await compareSystems(nix, effects, running, build.toplevel);
        return { ...base, status: "changed", running, ...built, ...compared };
      },
      { parallel: Math.max(parallel, 1), maxFailures: Infinity, isFailure: () => false },
    );
    for (const entry of previewEntries) {
      if (entry.started && "result" in entry) preview.push(entry.result);
      else if (entry.started) throw entry.error;
    }

    const result: DeployResult = {
      operation: request.operation,
      dryRun: request.dryRun,
      aborted: false,
      interrupted: false,
      canaries,
      preview,
      hosts: [],
      excluded,
    };
    // The review shows the preview (also for --dry-run, which then stops).
    const approved = await deps.review(preview, canaries);
    if (request.dryRun) return result;
    if (!approved) return { ...result, aborted: true };

    // 3–5. Copy and activate, host by host through the fleet map.
    const toDeploy = preview.filter((p) => p.status === "changed").map((p) => p.host);
    const controller = new AbortController();
    const jobs = new Map<string, HostDeploy>();
    const entries = await fleetMap(
      toDeploy,
      async (host) => {
        const p = preview.find((x) => x.host === host) as DeployPreviewHost;
        const outcome = await deployHost(
          p,
          remotes.get(host) as RemoteHost,
          targets.get(host) as ActivationTarget,
          {
            ...deps,
            operation: request.operation,
            timeoutSeconds: timeout,
            onInterrupt: () => controller.abort(),
          },
        );
        jobs.set(host, outcome);
        deps.onHostDone?.(outcome);
        return outcome;
      },
      {
        canaries,
        parallel,
        maxFailures,
        isFailure: (r) => r.state !== "deployed",
        signal: controller.signal,
        onStart: (host) => effects.onEvent({ type: "phase", message: `Deploying ${host}…` }),
      },
    );
    const hosts: HostDeploy[] = [];
    for (const p of preview) {
      const base = { host: p.host, target: p.target };
      if (p.status === "unchanged")
        hosts.push({ ...base, state: "unchanged", before: { storePath: p.running } });
      else if (p.status === "unreachable") hosts.push({ ...base, state: "unreachable", reason: p.error });
      else if (p.status === "build-failed")
        hosts.push({ ...base, state: "failed", stage: "build", reason: p.error });
      else {
        const entry = entries.find((e) => e.host === p.host);
        if (entry === undefined || !entry.started) {
          const why =
            entry?.reason === "canary-failed"
              ? "a canary failed"
              : entry?.reason === "aborted"
                ? "interrupted before it started"
                : `more than ${maxFailures} host${maxFailures === 1 ? "" : "s"} failed`;
          hosts.push({ ...base, state: "skipped", reason: why, before: { storePath: p.running } });
        } else if ("result" in entry) hosts.push(entry.result);
        else hosts.push({ ...base, state: "failed", stage: "phase1", reason: messageOf(entry.error) });
      }
    }
    const interrupted = controller.signal.aborted;
    if (interrupted) {
      const left = hosts.filter((h) => h.deadMansSwitch?.state === "left-armed").map((h) => h.host);
      effects.onEvent({
        type: "log",
        level: "warn",
        message:
          left.length === 0
            ? "interrupted: no new host started."
            : `interrupted: no new host started; left to their dead man's switch (back to the previous system within ${timeout}s unless confirmed): ${left.join(", ")}`,
      });
    }
    return { ...result, hosts, interrupted };
  } finally {
    unregisterRoots();
    await closeShared();
    await rm(rootDir, { recursive: true, force: true });
  }
}

/**
 * Where the shared ssh connections' sockets go: `DIR/ssh/%C` (%C: a hash of host, port and user).
 * A Unix socket path is limited to ~104 bytes and ssh adds a 17-byte suffix while it sets one up, so
 * with a long TMPDIR every command opens its own connection instead.
 */
function sharedControlPath(rootDir: string): string | undefined {
  const path = join(rootDir, "ssh", "%C");
  return path.length - 2 + 40 + 17 < 100 ? path : undefined;
}

/** `ssh -O exit` for every host whose connection is shared (also after an interrupt). */
async function closeSharedConnections(remotes: readonly RemoteHost[], effects: Effects): Promise<void> {
  await Promise.all(
    remotes.map(async (remote) => {
      const args = sshExitArgs(remote.ssh);
      if (args === undefined) return;
      await effects.run("ssh", args, { env: effects.env, cleanup: true }).catch(() => undefined);
    }),
  );
}

interface HostDeps extends DeployDeps {
  operation: EngineOperation;
  timeoutSeconds: number;
  onInterrupt: () => void;
}

/** One host: copy, arm, activate with the engine (confirm = disarm over a new connection), report. */
async function deployHost(
  p: DeployPreviewHost,
  remote: RemoteHost,
  target: ActivationTarget,
  deps: HostDeps,
): Promise<HostDeploy> {
  const { effects } = deps;
  const started = effects.now().getTime();
  const toplevel = p.toplevel as string;
  const base = {
    host: p.host,
    target: p.target,
    before: { storePath: p.running },
    after: { storePath: toplevel },
    needsReboot: p.diff?.needsReboot,
  };
  const done = (r: Omit<HostDeploy, "host" | "target" | "durationMs">): HostDeploy => ({
    ...base,
    ...r,
    durationMs: effects.now().getTime() - started,
  });
  let stage: DeployStage = "copy";
  let armed: string | undefined;
  let disarmed = false;
  let lock: ApplyLock | undefined;
  try {
    // build-on = "target": the derivation closure goes over, and the host builds it (stage build).
    const copied = await copyClosure(deps.nix, remote.ssh, [p.drvPath ?? toplevel], {
      remoteStore: remote.remoteStore,
      env: effects.env,
      derivation: p.drvPath !== undefined,
    });
    if (!copied.ok) {
      const why = (copied.stderr.trim().split("\n").pop() ?? "").trim();
      return done({ state: "failed", stage: "copy", reason: `nix copy failed${why ? `: ${why}` : ""}` });
    }
    if (p.drvPath !== undefined) {
      stage = "build";
      const failure = await buildOnTarget(target, p.drvPath, toplevel, remote.remoteStore);
      if (failure !== undefined) return done({ state: "failed", stage: "build", reason: failure });
    }
    stage = "phase1";
    // The host's apply lock, as `ternix switch`/`upgrade` there take it: never two at once.
    const locked = await acquireRemoteApplyLock(
      target.run,
      { path: lockFilePath(remote.paths), command: `deploy ${p.host}`, host: p.host },
      effects,
    );
    if (!locked.ok) return done({ state: "failed", stage, reason: `${locked.reason}; nothing was changed` });
    lock = locked.lock;
    if (deps.operation !== "boot" && p.running !== undefined) {
      const systemdRun = remote.paths.systemdRun;
      if (systemdRun === undefined) {
        return done({
          state: "failed",
          stage,
          reason:
            "no systemd-run on the host ([system] systemd-run is empty): the dead man's switch cannot be armed",
        });
      }
      const unit = deadMansSwitchUnit(effects.now().getTime(), randomBytes(4).toString("hex"));
      const arm = await target.run(systemdRun, deadMansSwitchArmArgs(unit, deps.timeoutSeconds, p.running));
      if (arm.exitCode !== 0) {
        const why = (arm.stderr.trim().split("\n").pop() ?? "").trim();
        return done({
          state: "failed",
          stage,
          reason: `arming the dead man's switch failed (nothing was changed)${why ? `: ${why}` : ""}`,
        });
      }
      armed = unit;
    }
    // The engine's interrupt restore would race the dead man's switch over a link that may be gone:
    // on the target, the switch is the one that puts the previous system back.
    const engineEffects: Effects = { ...effects, cleanup: new Cleanup() };
    const fresh = sshRun(remote.ssh, { env: effects.env, sudo: remote.sudo, extra: NEW_CONNECTION });
    const result = await runActivation(
      {
        storePath: toplevel,
        operation: deps.operation,
        host: p.host,
        command: "deploy",
        checks: checkSpecsFromConfig(remote.checks),
        rollback: true,
        onCheck: (r) => {
          stage = "checks";
          deps.onCheck?.(p.host, r);
        },
        confirm:
          armed === undefined
            ? undefined
            : async (): Promise<CheckResult> => {
                const t0 = effects.now().getTime();
                const r = await fresh(remote.paths.systemctl, deadMansSwitchDisarmArgs(armed as string));
                const ok = r.exitCode === 0;
                if (ok) {
                  disarmed = true;
                  stage = "phase2";
                }
                const why = (r.stderr.trim().split("\n").pop() ?? "").trim();
                return {
                  name: "dead man's switch disarmed over a new ssh connection",
                  kind: "confirm",
                  status: ok ? "passed" : "failed",
                  attempts: 1,
                  detail: ok
                    ? "connected and disarmed"
                    : r.exitCode === SSH_FAILURE_EXIT
                      ? `no new ssh connection${why ? `: ${why}` : ""}`
                      : `exit ${r.exitCode ?? "by signal"}${why ? `: ${why}` : ""} (did it fire already?)`,
                  durationMs: effects.now().getTime() - t0,
                };
              },
      },
      { target, effects: engineEffects, system: deps.system },
    );
    if (armed !== undefined && !disarmed) {
      // The engine already re-activated the previous system; the switch has nothing left to do.
      await fresh(remote.paths.systemctl, deadMansSwitchDisarmArgs(armed)).catch(() => undefined);
      disarmed = true;
    }
    const after = { storePath: toplevel, generation: result.generation };
    const before = { storePath: p.running, generation: result.previousGeneration };
    switch (result.outcome) {
      case "switched":
      case "tested":
      case "boot-default":
        return done({
          state: "deployed",
          before,
          after,
          checks: result.checks,
          ...switchState(armed, disarmed),
        });
      case "rolled-back":
        return done({
          state: "rolled-back",
          stage: "checks",
          reason: firstFailure(result.checks),
          before,
          after,
          checks: result.checks,
          ...switchState(armed, disarmed),
        });
      case "checks-failed":
        return done({
          state: "failed",
          stage: "checks",
          reason: firstFailure(result.checks),
          before,
          after,
          checks: result.checks,
          ...switchState(armed, disarmed),
        });
    }
    // TypeScript does not see that the switch above returns on every outcome once there is a finally.
    throw new Error("internal: unknown activation outcome");
  } catch (error) {
    if (isInterruption(error)) deps.onInterrupt();
    const left = armed !== undefined && !disarmed;
    return done({
      state: "failed",
      stage,
      reason: `${messageOf(error)}${left ? `; the dead man's switch will re-activate ${p.running ?? "the previous system"}` : ""}`,
      ...switchState(armed, disarmed),
    });
  } finally {
    await lock?.release();
  }
}

/**
 * Build `drvPath` on the target (`nix-store --realise` over ssh, the target's own Nix, builders and
 * substituters), then check the result is a NixOS system there. Returns why it failed, if it did.
 */
async function buildOnTarget(
  target: ActivationTarget,
  drvPath: string,
  toplevel: string,
  remoteStore: string | undefined,
): Promise<string | undefined> {
  const r = await target.run("nix-store", remoteRealiseArgs(drvPath, remoteStore));
  if (r.exitCode !== 0) {
    const failed = parseBuildFailures(r.stderr)[0];
    const last = (r.stderr.trim().split("\n").pop() ?? "").trim();
    const why = failed
      ? `${failed.drvPath.replace(/^\/nix\/store\/[a-z0-9]{32}-/, "")} failed to build${failed.log.length > 0 ? `: ${failed.log.at(-1) ?? ""}` : ""}`
      : last;
    return `the build on the host failed${r.exitCode === SSH_FAILURE_EXIT ? " (ssh)" : ""}${why ? `: ${why}` : ""}`;
  }
  if (!r.stdout.split("\n").includes(toplevel)) return `the build on the host did not produce ${toplevel}`;
  const check = await target.run("test", ["-x", `${toplevel}/bin/switch-to-configuration`]);
  if (check.exitCode !== 0)
    return `${toplevel} is not a NixOS system on the host: it has no bin/switch-to-configuration`;
  return undefined;
}

function switchState(armed: string | undefined, disarmed: boolean): Pick<HostDeploy, "deadMansSwitch"> {
  return armed === undefined
    ? {}
    : { deadMansSwitch: { unit: armed, state: disarmed ? "disarmed" : "left-armed" } };
}

function firstFailure(checks: CheckReport | undefined): string {
  const failed = checks?.results.find((r) => r.status === "failed");
  return failed ? `check failed: ${failed.name}: ${failed.detail}` : "a check failed";
}

function messageOf(error: unknown): string {
  return error instanceof TernixError || error instanceof Error ? error.message : String(error);
}
