/**
 * `ternix status`: what every host runs, compared with what the flake builds for it. Per host ONE
 * read-only round trip over SSH (the probe, src/system/status-probe.ts), all hosts in parallel
 * through the fleet map; meanwhile ONE batched evaluation of every selected host's toplevel (as
 * plan does: evaluation only, nothing is built). The verdict comes from the rules in
 * src/system/host-status.ts. `behind` hosts get the package diff when both systems are in the
 * local store.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { diffClosures } from "../../closure/diff.js";
import type { ClosureDiff } from "../../closure/model.js";
import type { Config } from "../../config/config.js";
import { InputError, TernixError } from "../../errors.js";
import type { Git } from "../../git/git.js";
import type { Nix } from "../../nix/nix.js";
import type { StoreDatabase } from "../../nix/store-db-reader.js";
import { pathExists } from "../../proc/files.js";
import { isInterruption, type Run } from "../../proc/run.js";
import { sshRun, SSH_FAILURE_EXIT } from "../../remote/ssh.js";
import { assessHost, type Finding, type HostFacts, type HostState } from "../../system/host-status.js";
import { parseProbeOutput, probeArgv, type HostProbe, type ProbePaths } from "../../system/status-probe.js";
import { loadClosures } from "../closure-load.js";
import type { Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { fleetMap } from "./fleet-map.js";
import { discoverHosts, evalToplevels } from "./hosts.js";
import { remoteHost, selectFleet, type RemoteHost } from "./remote-hosts.js";

/** Hosts probed at once unless `--parallel` says otherwise: reads are cheap, connections are the wait. */
export const DEFAULT_STATUS_PARALLEL = 16;
/** The file system whose free space is reported. */
export const NIX_DIR = "/nix";

export interface StatusRequest {
  flake: FlakeLocation;
  config: Config;
  /** Host names and `@tag`s; empty: every host (minus the exclude pattern). */
  selectors: readonly string[];
  exclude?: string | undefined;
  /** Compare with the flake at this git revision instead of the checkout. */
  ref?: string | undefined;
  sshOptions?: readonly string[] | undefined;
  /** `--trust-config`: `[deploy] ssh-options` may hold options that run commands (ProxyCommand, …). */
  trustConfig?: boolean | undefined;
  connectTimeout?: number | undefined;
  parallel?: number | undefined;
  /** Concurrent `nix eval` processes (default: cores). */
  jobs?: number | undefined;
}

export interface StatusDeps {
  nix: Nix;
  git: Git;
  effects: Effects;
  database?: StoreDatabase | undefined;
  /** How commands reach a host (default: the system ssh, sshRun). */
  remote?: ((host: RemoteHost) => Run) | undefined;
}

export interface HostStatus {
  host: string;
  /** The ssh destination (`user@address`) and port. */
  target: string;
  port: number | undefined;
  state: HostState;
  findings: Finding[];
  /** The system the flake evaluates to for this host, when it evaluates. */
  expected: string | undefined;
  probe: HostProbe | undefined;
  /** `behind` hosts with both systems in the local store: what activating the flake's changes. */
  diff: ClosureDiff | undefined;
  /** Why there is no diff for a behind host (one of the systems is not in the local store). */
  diffUnavailable: string | undefined;
  durationMs: number;
}

export interface StatusResult {
  flakeDir: string;
  /** `--ref` as given, and the commit it named; undefined: the checkout as it is. */
  ref: string | undefined;
  revision: string | undefined;
  hosts: HostStatus[];
  /** Hosts the exclude pattern left out. */
  skippedHosts: string[];
  checkedAt: Date;
}

export async function status(request: StatusRequest, deps: StatusDeps): Promise<StatusResult> {
  const { flake, config } = request;
  const { nix, effects } = deps;
  const phase = (message: string) => effects.onEvent({ type: "phase", message });
  const checkedAt = effects.now();

  const at = request.ref === undefined ? undefined : await checkoutRevision(flake, request.ref, deps);
  try {
    const evalDir = at?.dir ?? flake.dir;
    const all = await discoverHosts(nix, evalDir);
    const { selected, skipped } = selectFleet(all, config, {
      selectors: request.selectors,
      exclude: request.exclude,
    });
    if (selected.length === 0) {
      throw new InputError("no hosts left to check after filtering.", {
        hint: `Hosts: ${all.map((h) => JSON.stringify(h)).join(", ") || "(none)"}; check the names, @tags and ternix.toml [hosts] exclude.`,
      });
    }
    // Config errors (a relative path, a bad --ssh-option) stop the command before any connection.
    const remotes = new Map(
      selected.map((h) => [
        h,
        remoteHost(h, config, {
          sshOptions: request.sshOptions,
          connectTimeout: request.connectTimeout,
          trustConfig: request.trustConfig,
        }),
      ]),
    );
    const n = selected.length;
    phase(`Checking ${n} host${n === 1 ? "" : "s"}: evaluating the flake and probing over SSH…`);
    const remoteRun =
      deps.remote ?? ((host: RemoteHost) => sshRun(host.ssh, { env: effects.env, run: effects.run }));
    const [evals, probes] = await Promise.all([
      evalToplevels(nix, evalDir, selected, { jobs: request.jobs }),
      fleetMap(
        selected,
        async (host) => {
          const remote = remotes.get(host) as RemoteHost;
          const start = performance.now();
          const probe = await probeHost(remote, remoteRun(remote));
          effects.onEvent({ type: "log", level: "debug", message: `probed ${JSON.stringify(host)}` });
          return { probe, durationMs: Math.round(performance.now() - start) };
        },
        {
          parallel: request.parallel ?? DEFAULT_STATUS_PARALLEL,
          maxFailures: Number.POSITIVE_INFINITY,
          isFailure: () => false,
        },
      ),
    ]);

    const hosts: HostStatus[] = [];
    for (const entry of probes) {
      const remote = remotes.get(entry.host) as RemoteHost;
      const probed =
        entry.started && "result" in entry
          ? entry.result
          : {
              probe: {
                ok: false as const,
                reason: entry.started ? messageOf(entry.error) : `not probed (${entry.reason})`,
              },
              durationMs: 0,
            };
      if (entry.started && "error" in entry && isInterruption(entry.error)) throw entry.error;
      const e = evals.get(entry.host);
      const facts: HostFacts = {
        probe: probed.probe,
        expected: e?.ok
          ? { ok: true, outPath: e.outPath }
          : { ok: false, error: e?.error ?? "not evaluated" },
      };
      const verdict = assessHost(facts);
      hosts.push({
        host: entry.host,
        target: remote.ssh.destination,
        port: remote.ssh.port,
        state: verdict.state,
        findings: verdict.findings,
        expected: facts.expected.ok ? facts.expected.outPath : undefined,
        probe: probed.probe.ok ? probed.probe.probe : undefined,
        diff: undefined,
        diffUnavailable: undefined,
        durationMs: probed.durationMs,
      });
    }
    await addDiffs(hosts, deps);
    return {
      flakeDir: flake.dir,
      ref: request.ref,
      revision: at?.revision,
      hosts,
      skippedHosts: skipped,
      checkedAt,
    };
  } finally {
    await at?.remove();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}

/** The probe's paths on a host: its `[system]` paths and the store's file system. */
export function probePaths(host: RemoteHost): ProbePaths {
  return { ...host.paths, nixDir: NIX_DIR };
}

/** One round trip: run the probe on the host and parse what came back. */
export async function probeHost(host: RemoteHost, run: Run): Promise<HostFacts["probe"]> {
  const nonce = randomBytes(16).toString("hex");
  const [command, ...args] = probeArgv(probePaths(host), nonce);
  let result;
  try {
    result = await run(command as string, args);
  } catch (error) {
    if (isInterruption(error) || !(error instanceof TernixError)) throw error;
    // An ssh destination that is not one (a host name with spaces and no `target`), ssh missing.
    return { ok: false, reason: messageOf(error) };
  }
  if (result.exitCode === SSH_FAILURE_EXIT) {
    const why = result.stderr.trim().split("\n").filter(Boolean).at(-1) ?? "no message";
    return { ok: false, reason: `ssh failed: ${why}` };
  }
  return parseProbeOutput(result.stdout, nonce, probePaths(host));
}

/** The package diff of each behind host whose running and expected systems are both in the local store. */
async function addDiffs(hosts: HostStatus[], deps: StatusDeps): Promise<void> {
  const behind = hosts.filter((h) => h.state === "behind" || h.findings.some((f) => f.state === "behind"));
  const pairs: { host: HostStatus; before: string; after: string }[] = [];
  for (const h of behind) {
    const before = h.probe?.currentSystem;
    const after = h.expected;
    if (before === undefined || after === undefined) continue;
    const missing = [];
    if (!(await pathExists(before))) missing.push("the running system");
    if (!(await pathExists(after))) missing.push("the flake's system (not built here)");
    if (missing.length > 0) h.diffUnavailable = `${missing.join(" and ")} not in the local store`;
    else pairs.push({ host: h, before, after });
  }
  if (pairs.length === 0) return;
  try {
    const closures = await loadClosures(
      deps.nix,
      pairs.flatMap((p) => [p.before, p.after]),
      deps.effects.closureCache,
      deps.database,
    );
    for (const p of pairs) {
      const before = closures.get(p.before);
      const after = closures.get(p.after);
      if (before && after) p.host.diff = diffClosures(before, after);
    }
  } catch (error) {
    if (isInterruption(error)) throw error;
    for (const p of pairs) p.host.diffUnavailable = `the closures could not be read: ${messageOf(error)}`;
  }
}

/**
 * The flake at a git revision, checked out in a temporary clone that shares the repository's
 * objects (`git clone --shared`): the user's work tree and refs are not touched.
 */
async function checkoutRevision(
  flake: FlakeLocation,
  ref: string,
  deps: StatusDeps,
): Promise<{ dir: string; revision: string; remove(): Promise<void> }> {
  const { git, effects } = deps;
  if (flake.gitRoot === undefined) {
    throw new InputError(`--ref ${ref} needs the flake in a git repository; ${flake.dir} is not in one.`, {
      hint: "Leave out --ref to compare with the flake as it is.",
    });
  }
  const resolved = await git.call([
    "-C",
    flake.gitRoot,
    "rev-parse",
    "--verify",
    "--quiet",
    `${ref}^{commit}`,
  ]);
  const revision = resolved.stdout.trim();
  if (resolved.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(revision)) {
    throw new InputError(`--ref ${JSON.stringify(ref)} names no commit in ${flake.gitRoot}.`, {
      hint: "Pass a branch, tag or commit of the flake's repository (`git log --oneline`).",
    });
  }
  const root = await mkdtemp(join(tmpdir(), "ternix-status-"));
  const remove = () => rm(root, { recursive: true, force: true });
  const unregister = effects.cleanup.add(remove);
  try {
    const repo = join(root, "repo");
    await git.check("checking out --ref failed", [
      "clone",
      "--quiet",
      "--shared",
      "--no-checkout",
      flake.gitRoot,
      repo,
    ]);
    await git.check("checking out --ref failed", ["-C", repo, "checkout", "--quiet", "--detach", revision]);
    return {
      dir: join(repo, relative(flake.gitRoot, flake.dir)),
      revision,
      remove: async () => {
        unregister();
        await remove();
      },
    };
  } catch (error) {
    unregister();
    await remove();
    throw error;
  }
}
