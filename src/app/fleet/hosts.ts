/**
 * Hosts of a fleet flake: discover them, evaluate every host's toplevel in a few batched `nix eval`
 * calls (one per core), and build them all in ONE `nix build`, attributing failures to hosts.
 * Host names never reach a shell or an attribute path: they travel as quoted Nix strings.
 */
import { mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { InputError, NixError, UsageError } from "../../errors.js";
import { evalJsonArgs, nixStoreRequisitesArgs } from "../../nix/args.js";
import type { Derivation } from "../../nix/derivation.js";
import type { DryRun } from "../../nix/dry-run.js";
import { evalErrorLine, parseBuildFailures, type BuildFailure } from "../../nix/messages.js";
import { nixStringList } from "../../nix/nix-string.js";
import type { Nix } from "../../nix/nix.js";
import { pathExists } from "../../proc/files.js";
import { isInterruption } from "../../proc/run.js";
import { createBuildTracker, reportBuildProgress, type BuildTarget } from "../build-progress.js";
import type { AppEvent } from "../effects.js";
import { dryRunHosts } from "./plan-cost.js";

export type HostEval =
  | {
      host: string;
      ok: true;
      drvPath: string;
      outPath: string;
      /** The output already exists: nothing to build (and with a read-only evaluation, no .drv was written). */
      prebuilt?: boolean | undefined;
    }
  | { host: string; ok: false; error: string; detail?: string | undefined };

export type HostBuild =
  | { host: string; ok: true; drvPath: string; toplevel: string }
  | {
      host: string;
      ok: false;
      stage: "eval" | "build";
      error: string;
      logTail?: string | undefined;
      drvPath?: string | undefined;
    };

export interface HostSelection {
  include?: readonly string[] | undefined;
  exclude?: string | undefined;
}

/** The installable for a flake directory's attribute. */
export function flakeAttr(flakeDir: string, attr: string): string {
  if (/[#?]/.test(flakeDir)) {
    throw new InputError(`the flake path ${flakeDir} contains '#' or '?', which Nix reads as URL syntax.`, {
      hint: "Move or link the flake to a path without those characters.",
    });
  }
  return `${flakeDir}#${attr}`;
}

/** Names of `nixosConfigurations`, without evaluating any of them. */
export async function discoverHosts(
  nix: Nix,
  flakeDir: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const result = await nix.call(
    evalJsonArgs(flakeAttr(flakeDir, "nixosConfigurations"), "builtins.attrNames", { noWriteLockFile: true }),
    { cwd: flakeDir, signal: options.signal },
  );
  if (result.exitCode !== 0) {
    if (
      /does not provide attribute|nixosConfigurations/.test(result.stderr) &&
      /attribute/.test(result.stderr)
    ) {
      throw new InputError(`the flake in ${flakeDir} has no nixosConfigurations.`, {
        hint: "Ternix works on flakes that define nixosConfigurations.<host>.",
      });
    }
    throw new NixError("listing the flake's hosts failed", result.argv, result.exitCode, result.stderr, {
      hint: "Check that the flake evaluates: `nix flake show`. Run with --verbose for Nix's output.",
    });
  }
  const names = JSON.parse(result.stdout) as unknown;
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
    throw new InputError("nixosConfigurations did not evaluate to an attribute set of hosts.");
  }
  return names;
}

/** Hosts to work on: the include list (all when empty), minus names matching the exclude pattern. */
export function selectHosts(
  all: readonly string[],
  selection: HostSelection,
): { selected: string[]; skipped: string[] } {
  const include = selection.include ?? [];
  const unknown = include.filter((h) => !all.includes(h));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown host${unknown.length > 1 ? "s" : ""}: ${unknown.map((h) => JSON.stringify(h)).join(", ")}`,
      {
        hint: `Hosts in nixosConfigurations: ${all.map((h) => JSON.stringify(h)).join(", ") || "(none)"}.`,
      },
    );
  }
  const pattern = selection.exclude ? parseExcludePattern(selection.exclude) : undefined;
  const selected: string[] = [];
  const skipped: string[] = [];
  for (const host of include.length > 0 ? include : all) {
    // An explicitly named host is built even if it matches the exclude pattern.
    if (include.length === 0 && pattern?.test(host)) skipped.push(host);
    else selected.push(host);
  }
  return { selected, skipped };
}

/** An exclude pattern (--exclude or ternix.toml [hosts] exclude) as a RegExp, or a usage error. */
export function parseExcludePattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    const why = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, "") : "";
    throw new UsageError(
      `the exclude pattern ${JSON.stringify(source)} is not a valid regular expression${why ? ` (${why})` : ""}.`,
      {
        hint: "Use a JavaScript regular expression matched against host names, e.g. --exclude '-minimal$'; escape literal ( [ . * + ? with a backslash.",
      },
    );
  }
}

/** Names must survive a round trip through a Nix string and a file name. */
export function checkHostName(host: string): void {
  // eslint-disable-next-line no-control-regex
  if (host.length === 0 || /[\u0000-\u001f\u007f]/.test(host)) {
    throw new InputError(`host name ${JSON.stringify(host)} contains control characters.`, {
      hint: "Rename the host in nixosConfigurations.",
    });
  }
}

/** The Nix function applied to nixosConfigurations: each named host's toplevel drv and out path. */
export function toplevelsExpression(hosts: readonly string[]): string {
  return (
    `cfgs: builtins.listToAttrs (map (name: { inherit name; value = ` +
    `let t = cfgs.\${name}.config.system.build.toplevel; ` +
    `r = builtins.tryEval (builtins.seq t.drvPath { drv = t.drvPath; out = t.outPath; }); ` +
    `in if r.success then r.value else { error = true; }; }) ${nixStringList(hosts)})`
  );
}

function shard<T>(items: readonly T[], count: number): T[][] {
  const shards: T[][] = Array.from({ length: Math.max(1, Math.min(count, items.length)) }, () => []);
  items.forEach((item, i) => shards[i % shards.length]?.push(item));
  return shards.filter((s) => s.length > 0);
}

export interface EvalOptions {
  /** Concurrent `nix eval` processes (default: the number of cores). */
  jobs?: number | undefined;
  /** Evaluate without writing .drv files (`--read-only`); only useful for outputs that exist. */
  readOnly?: boolean | undefined;
  onEvent?: ((event: AppEvent) => void) | undefined;
  side?: "before" | "after" | undefined;
}

/**
 * Evaluate the toplevels of `hosts` in `jobs` concurrent `nix eval` calls. A host whose evaluation
 * throws is caught by tryEval; an uncatchable error fails its whole batch, which is then retried host
 * by host to find and report the culprit.
 */
export async function evalToplevels(
  nix: Nix,
  flakeDir: string,
  hosts: readonly string[],
  options: EvalOptions = {},
): Promise<Map<string, HostEval>> {
  hosts.forEach(checkHostName);
  const result = new Map<string, HostEval>();
  const installable = flakeAttr(flakeDir, "nixosConfigurations");
  const evalBatch = async (batch: readonly string[]): Promise<void> => {
    for (const host of batch)
      options.onEvent?.({ type: "host", host, state: "evaluating", side: options.side });
    const run = await nix.call(
      evalJsonArgs(installable, toplevelsExpression(batch), {
        readOnly: options.readOnly,
        noWriteLockFile: true,
      }),
      { cwd: flakeDir },
    );
    if (run.exitCode === 0) {
      const data = JSON.parse(run.stdout) as Record<string, { drv?: string; out?: string; error?: boolean }>;
      const caught: string[] = [];
      for (const host of batch) {
        const entry = data[host];
        if (entry?.drv && entry.out)
          result.set(host, { host, ok: true, drvPath: entry.drv, outPath: entry.out });
        else caught.push(host);
      }
      // tryEval hides the message; evaluate the failed ones alone to get it.
      for (const host of caught) result.set(host, await evalAlone(host));
      return;
    }
    if (batch.length === 1) {
      const host = batch[0] as string;
      result.set(host, { host, ok: false, error: evalErrorLine(run.stderr), detail: run.stderr });
      return;
    }
    for (const host of batch) result.set(host, await evalAlone(host));
  };
  const evalAlone = async (host: string): Promise<HostEval> => {
    const run = await nix.call(
      evalJsonArgs(
        installable,
        toplevelsExpression([host]).replace("builtins.tryEval", "(x: { success = true; value = x; })"),
        { readOnly: options.readOnly, noWriteLockFile: true },
      ),
      { cwd: flakeDir },
    );
    if (run.exitCode === 0) {
      const entry = (JSON.parse(run.stdout) as Record<string, { drv?: string; out?: string }>)[host];
      if (entry?.drv && entry.out) return { host, ok: true, drvPath: entry.drv, outPath: entry.out };
    }
    return { host, ok: false, error: evalErrorLine(run.stderr), detail: run.stderr };
  };
  await Promise.all(shard(hosts, options.jobs ?? availableParallelism()).map(evalBatch));
  return result;
}

/**
 * Evaluate toplevels whose outputs probably exist already (the lock a fleet runs now): one host is
 * evaluated read-only first; if its system exists, the others are too, and every host whose output
 * exists needs neither .drv files nor a build. Hosts whose output is missing (or when the probe's
 * is) get the full evaluation. The probe costs one read-only host evaluation when nothing is built.
 */
export async function evalToplevelsReusing(
  nix: Nix,
  flakeDir: string,
  hosts: readonly string[],
  options: EvalOptions = {},
): Promise<Map<string, HostEval>> {
  const result = new Map<string, HostEval>();
  const probe = hosts.slice(0, 1);
  const probed = await evalToplevels(nix, flakeDir, probe, { ...options, readOnly: true });
  const probeEval = probed.get(probe[0] as string);
  const reusable = probeEval?.ok === true && (await pathExists(probeEval.outPath));
  const readOnly = reusable
    ? new Map([
        ...probed,
        ...(await evalToplevels(nix, flakeDir, hosts.slice(1), { ...options, readOnly: true })),
      ])
    : new Map<string, HostEval>();
  const needFull: string[] = [];
  for (const host of hosts) {
    const e = readOnly.get(host);
    if (e?.ok && (await pathExists(e.outPath))) result.set(host, { ...e, prebuilt: true });
    else needFull.push(host);
  }
  for (const [host, e] of await evalToplevels(nix, flakeDir, needFull, { ...options, readOnly: false })) {
    result.set(host, e);
  }
  return result;
}

export interface BuildOptions {
  /** Directory for the GC roots that keep the results alive during the run. */
  rootDir: string;
  onEvent?: ((event: AppEvent) => void) | undefined;
  side?: "before" | "after" | undefined;
  /**
   * What Nix said it would build and fetch per host, when already asked (plan's cost estimate);
   * otherwise it is asked here, for the progress report, when there is an `onEvent`.
   */
  dryRuns?: ReadonlyMap<string, DryRun> | undefined;
}

/**
 * Build every evaluated host in ONE `nix build --keep-going`, rooted under `rootDir`. Hosts whose
 * toplevel did not appear get the log tail of the failed derivations in their closure.
 */
export async function buildToplevels(
  nix: Nix,
  evals: ReadonlyMap<string, HostEval>,
  options: BuildOptions,
): Promise<Map<string, HostBuild>> {
  const result = new Map<string, HostBuild>();
  const toBuild: Extract<HostEval, { ok: true }>[] = [];
  for (const e of evals.values()) {
    if (e.ok) toBuild.push(e);
    else result.set(e.host, { host: e.host, ok: false, stage: "eval", error: e.error, logTail: e.detail });
  }
  if (toBuild.length === 0) return result;
  await mkdir(options.rootDir, { recursive: true });
  for (const e of toBuild)
    options.onEvent?.({ type: "host", host: e.host, state: "building", side: options.side });
  // An existing output is named directly (its .drv may not even be written): Nix only roots it.
  const installables = [
    ...new Set(toBuild.map((e) => (e.prebuilt ? e.outPath : nix.drvInstallable(e.drvPath)))),
  ];
  const onLog = options.onEvent
    ? reportBuildProgress(
        createBuildTracker(await buildTargets(nix, toBuild, options.dryRuns)),
        options.onEvent,
        options.side,
      )
    : undefined;
  const outcome = await nix.build(installables, {
    keepGoing: true,
    outLink: join(options.rootDir, "result"),
    onLog,
  });

  const built = await Promise.all(toBuild.map(async (e) => ({ e, ok: await pathExists(e.outPath) })));
  const failedBlocks = outcome.ok ? [] : parseBuildFailures(outcome.stderr);
  const failedHosts = built.filter((b) => !b.ok).map((b) => b.e);
  if (!outcome.ok && built.some((b) => b.ok)) {
    // A failed `nix build` links nothing; root what did build so it survives until the diff.
    await nix.build(
      built.filter((b) => b.ok).map((b) => b.e.outPath),
      { outLink: join(options.rootDir, "built") },
    );
  }
  const requisites = await Promise.all(
    failedHosts.map(async (e) => {
      // nix-store, not `nix path-info`: before Nix 2.15 a bare .drv installable meant its outputs.
      const r = await nix
        .nixStore("querying the host's derivations failed", nixStoreRequisitesArgs([e.drvPath]))
        .catch((error: unknown) => {
          // Without the requisites the failure is blamed less precisely; an interrupt still stops us.
          if (isInterruption(error)) throw error;
          return undefined;
        });
      return new Set((r?.stdout ?? "").split("\n").filter(Boolean));
    }),
  );
  // Nix 2.8 prints only the first failure of a `--keep-going` build (recorded: two failing toplevels,
  // one `builder for` block), so a host with no reported block in its closure gets its own failed
  // derivations from its derivation closure and their logs from `nix log`, never another host's.
  const unreported = failedHosts.filter(
    (e, i) =>
      !failedBlocks.some((b) => (requisites[i] ?? new Set()).has(b.drvPath) || b.drvPath === e.drvPath),
  );
  const ownFailures = await failuresFromStore(nix, unreported);
  for (const { e, ok } of built) {
    if (ok) {
      result.set(e.host, { host: e.host, ok: true, drvPath: e.drvPath, toplevel: e.outPath });
      options.onEvent?.({ type: "host", host: e.host, state: "built", side: options.side });
      continue;
    }
    const inClosure = requisites[failedHosts.indexOf(e)] ?? new Set<string>();
    const mine = failedBlocks.filter((b) => inClosure.has(b.drvPath) || b.drvPath === e.drvPath);
    const blocks = mine.length > 0 ? mine : (ownFailures.get(e.host) ?? []);
    const first = blocks[0];
    const error = first
      ? `${first.drvPath.replace(/^\/nix\/store\/[a-z0-9]{32}-/, "")} failed to build`
      : "build failed";
    const logTail =
      blocks.length > 0
        ? blocks.map((b) => [b.header, ...b.log].join("\n")).join("\n")
        : outcome.stderr.split("\n").slice(-20).join("\n");
    result.set(e.host, { host: e.host, ok: false, stage: "build", error, logTail, drvPath: e.drvPath });
    options.onEvent?.({ type: "host", host: e.host, state: "failed", side: options.side, detail: error });
  }
  return result;
}

/**
 * Each host's share of the build, for its progress: what Nix will build and fetch for it alone.
 * Prebuilt hosts have none. Without an answer (the dry run failed), a host's lists stay empty and
 * the build goes on: progress is not worth failing a build for.
 */
async function buildTargets(
  nix: Nix,
  hosts: readonly Extract<HostEval, { ok: true }>[],
  known: ReadonlyMap<string, DryRun> | undefined,
): Promise<BuildTarget[]> {
  const missing = hosts.filter((e) => !e.prebuilt && !known?.has(e.host));
  const asked =
    missing.length === 0
      ? new Map<string, DryRun>()
      : await dryRunHosts(nix, missing).catch((error: unknown) => {
          if (isInterruption(error)) throw error;
          return new Map<string, DryRun>();
        });
  return hosts
    .filter((e) => !e.prebuilt)
    .map((e) => {
      const dry = known?.get(e.host) ?? asked.get(e.host);
      return { name: e.host, toBuild: dry?.toBuild ?? [], toFetch: dry?.toFetch ?? [] };
    });
}

/**
 * The derivations that failed themselves (not for a failed dependency) in a closure after a build:
 * an output is missing while every input derivation's outputs it uses exist.
 */
export function failedDerivations(
  closure: ReadonlyMap<string, Derivation>,
  exists: (path: string) => boolean,
): string[] {
  const built = (drv: string, outputs: readonly string[]): boolean => {
    const d = closure.get(drv);
    // An input outside the closure we were given is taken as present (it is not ours to blame).
    if (!d) return true;
    return outputs.every((name) => {
      const path = d.outputs[name];
      return path === undefined || exists(path);
    });
  };
  const failed: string[] = [];
  for (const [drv, d] of closure) {
    if (built(drv, Object.keys(d.outputs))) continue;
    if (Object.entries(d.inputDrvs).every(([input, outputs]) => built(input, outputs))) failed.push(drv);
  }
  return failed.sort();
}

/** Per host, its own failed derivations with their `nix log` tails; one derivation-closure query. */
async function failuresFromStore(
  nix: Nix,
  hosts: readonly Extract<HostEval, { ok: true }>[],
): Promise<Map<string, BuildFailure[]>> {
  const out = new Map<string, BuildFailure[]>();
  if (hosts.length === 0) return out;
  const closure = await nix.derivationClosure(hosts.map((e) => e.drvPath)).catch((error: unknown) => {
    if (isInterruption(error)) throw error;
    return undefined;
  });
  if (!closure) return out;
  const outputs = [...closure.values()].flatMap((d) => Object.values(d.outputs));
  const present = new Set(
    (await Promise.all(outputs.map(async (p) => ((await pathExists(p)) ? p : undefined)))).filter(
      (p): p is string => p !== undefined,
    ),
  );
  const failed = failedDerivations(closure, (p) => present.has(p));
  const logs = new Map<string, BuildFailure>();
  for (const drvPath of failed) {
    const r = await nix.call(["log", drvPath]).catch((error: unknown) => {
      if (isInterruption(error)) throw error;
      return undefined;
    });
    const log = r?.exitCode === 0 ? r.stdout.trimEnd().split("\n").slice(-10) : [];
    logs.set(drvPath, { drvPath, header: `error: builder for '${drvPath}' failed`, log });
  }
  for (const e of hosts) {
    const mine = subClosure(closure, e.drvPath);
    out.set(
      e.host,
      failed.filter((d) => mine.has(d)).flatMap((d) => logs.get(d) ?? []),
    );
  }
  return out;
}

function subClosure(closure: ReadonlyMap<string, Derivation>, root: string): Set<string> {
  const seen = new Set<string>();
  const stack = [root];
  for (let drv = stack.pop(); drv !== undefined; drv = stack.pop()) {
    if (seen.has(drv)) continue;
    seen.add(drv);
    stack.push(...Object.keys(closure.get(drv)?.inputDrvs ?? {}));
  }
  return seen;
}
