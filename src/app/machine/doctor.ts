/**
 * `ternix doctor [HOST]`: gather the facts the triage rules (src/system/doctor.ts) judge, each
 * independently: a fact that cannot be read (no systemd, no flake, a remote store) is "not
 * available", never an error that hides the others. Nothing is changed: the flake is only
 * evaluated, gc is planned, not run.
 */
import { statfs, readFile } from "node:fs/promises";
import type { FailedUnits } from "./checks.js";
import { readFailedUnits } from "./checks.js";
import { storePingArgs, storePrintRootsArgs } from "../../nix/args.js";
import type { Nix } from "../../nix/nix.js";
import { KNOWN_STORE_SCHEMAS } from "../../nix/store-db.js";
import { parseStorePing } from "../../nix/store-ping.js";
import { formatNixVersion } from "../../nix/version.js";
import { DEFAULT_SECRET_SCAN_LIMITS, type SecretScan } from "../../closure/secrets.js";
import { TernixError } from "../../errors.js";
import { isInterruption } from "../../proc/run.js";
import {
  diagnose,
  parseChannelList,
  parseGcRoots,
  type DoctorFacts,
  type Finding,
  type Probe,
} from "../../system/doctor.js";
import { newestKnownGood } from "../../system/state.js";
import type { Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { scanHostsForSecrets } from "../store-scan.js";
import { planGc } from "./gc.js";
import { bootFilesOf, readProfile, storePathOfLink } from "./profile.js";
import { loadState } from "./state-file.js";
import type { SystemEffects } from "./system-effects.js";
import { evalHostSystemOutPath } from "./vm.js";
import type { SystemPaths } from "./system-paths.js";

export interface DoctorRequest {
  /** Checked with resolveHostName; undefined when this machine's name is not a valid host name. */
  host: string | undefined;
  flake: FlakeLocation | undefined;
  paths: SystemPaths;
  /** The executables and paths doctor reads, configurable like the [system] paths. */
  tools: { journalctl: string; nixChannel: string; storeDir: string };
  /** `gc.keep`: what `ternix gc` would keep. */
  keep: number;
  keepSinceMs?: number | undefined;
  /** How many GC roots to show. */
  topRoots: number;
}

/**
 * `effects.scanStore` is the secret scanner of `ternix plan` (store-scan.ts): absent when the store
 * is not on this machine, and then the secrets finding is "not available".
 */
export interface DoctorDeps {
  nix: Nix;
  effects: Effects;
  system: SystemEffects;
}

export interface DoctorReport {
  host: string | undefined;
  findings: Finding[];
  /** The scan of the running system's closure, when there was one. */
  secrets: SecretScan | undefined;
}

const reasonOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "unknown error";

/** Run `probe`; an error (other than an interrupt) becomes "not available" with its reason. */
async function attempt<T>(probe: () => Promise<T>, prefix = ""): Promise<Probe<T>> {
  try {
    return { ok: true, value: await probe() };
  } catch (error) {
    if (isInterruption(error)) throw error;
    return { ok: false, reason: `${prefix}${reasonOf(error)}` };
  }
}

const failure = (argv: readonly string[], exitCode: number | null, stderr: string) =>
  new Error(
    `${argv[0] ?? "command"} exited ${exitCode ?? "on a signal"}${stderr.trim() ? `: ${stderr.trim().split("\n").at(-1)}` : ""}`,
  );

export async function runDoctor(request: DoctorRequest, deps: DoctorDeps): Promise<DoctorReport> {
  const { paths, tools } = request;
  const { nix, effects } = deps;
  const env = effects.env;
  const progress = (message: string) => effects.onEvent({ type: "phase", message });

  progress("Reading the system profile and links…");
  const [profile, running, booted] = await Promise.all([
    readProfile(paths.profile),
    storePathOfLink(paths.currentSystem),
    storePathOfLink(paths.bootedSystem),
  ]);
  const [runningBoot, bootedBoot] = await Promise.all([
    running === undefined ? undefined : bootFilesOf(running),
    booted === undefined ? undefined : bootFilesOf(booted),
  ]);

  const knownGood = await attempt(async () => {
    const state = await loadState(paths);
    const number = newestKnownGood(state, paths.profile, profile.generations);
    const generation = profile.generations.find((g) => g.number === number);
    if (generation === undefined) return undefined;
    const [info] = await nix.pathInfo([generation.storePath]);
    return { number: generation.number, storePath: generation.storePath, inStore: info?.valid ?? false };
  });

  progress("Evaluating what the flake builds…");
  const flake: DoctorFacts["flake"] =
    request.flake === undefined
      ? { ok: false, reason: "no flake found; pass --flake DIR" }
      : request.host === undefined
        ? { ok: false, reason: "this machine's host name is not a valid host name; name the HOST" }
        : await probeFlake(nix, request.flake, request.host);

  progress("Asking systemd and the journal…");
  const failedUnits = toProbe(await readFailedUnits(paths.systemctl, { effects, system: deps.system }));
  const journal = await attempt(async () => {
    const result = await effects.run(tools.journalctl, ["-b", "-p", "err", "--no-pager", "-q", "-n", "50"], {
      env,
    });
    if (result.exitCode !== 0) throw failure(result.argv, result.exitCode, result.stderr);
    return result.stdout.split("\n").filter((l) => l.trim() !== "");
  });

  progress("Measuring the store…");
  const disk = await attempt(async () => {
    const s = await statfs(tools.storeDir);
    return { path: tools.storeDir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  });
  const store = await attempt(async () => {
    const db = nix.storeDatabase;
    if (db === undefined) throw new Error("the store is not a local one whose database Ternix can read");
    const totals = await db.totals();
    if (totals === undefined) throw new Error(db.lastFailure ?? "the store database did not answer");
    return totals;
  });
  const gc = await attempt(async () => {
    const plan = await planGc(
      {
        paths,
        keep: request.keep,
        keepSinceMs: request.keepSinceMs,
        dryRun: true,
        collect: false,
        optimise: false,
        wait: false,
      },
      { nix, effects: { ...effects, onEvent: () => undefined } },
    );
    return {
      keep: request.keep,
      generations: plan.decisions.length,
      deletable: plan.deleted.map((g) => g.number),
      paths: plan.estimate.paths,
      bytes: plan.estimate.bytes,
    };
  });
  const roots = await attempt(async () => {
    const listed = await nix.nixStore("listing GC roots failed", storePrintRootsArgs());
    const all = parseGcRoots(listed.stdout);
    // `{temp:PID}`, `{memory:N}`, `{lsof}`…: held by running processes, gone when they end.
    const links = all.filter((r) => r.link.startsWith("/"));
    const targets = [...new Set(links.map((r) => r.target))];
    const sizes = new Map<string, number>();
    for (const info of await nix.pathInfo(targets, { closureSize: true }))
      if (info.valid && info.closureSize !== undefined) sizes.set(info.path, info.closureSize);
    const top = links
      .filter((r) => sizes.has(r.target))
      .map((r) => ({ ...r, closureBytes: sizes.get(r.target) ?? 0 }))
      .sort((a, b) => b.closureBytes - a.closureBytes || a.link.localeCompare(b.link))
      .slice(0, request.topRoots);
    return { total: all.length, transient: all.length - links.length, top };
  });

  progress("Asking Nix…");
  const daemon = await attempt(async () => {
    const result = await nix.call(storePingArgs());
    if (result.exitCode !== 0) throw failure(result.argv, result.exitCode, result.stderr);
    // Nix 2.8 prints it on stderr, 2.19+ on stdout.
    const ping = parseStorePing(`${result.stdout}\n${result.stderr}`);
    if (ping.url === "local" || ping.url?.startsWith("local?")) return undefined;
    if (ping.version === undefined) throw new Error(`the store (${ping.url ?? "?"}) did not say its version`);
    return ping.version;
  });
  const storeSchema = await attempt(async () => {
    const db = nix.storeDatabase;
    if (db === undefined) throw new Error("the store is not a local one");
    return { schema: (await readFile(db.location.schemaFile, "utf8")).trim(), known: KNOWN_STORE_SCHEMAS };
  });
  const channels = await attempt(async () => {
    const result = await effects.run(tools.nixChannel, ["--list"], { env });
    if (result.exitCode !== 0) throw failure(result.argv, result.exitCode, result.stderr);
    return parseChannelList(result.stdout);
  });

  const scanner = effects.scanStore;
  let secrets: DoctorFacts["secrets"];
  if (scanner === undefined)
    secrets = {
      ok: false,
      reason:
        "the store Nix uses is not one whose files can be read here (a remote or binary-cache store, or another store directory)",
    };
  else if (running === undefined) secrets = { ok: false, reason: "no running system" };
  else {
    progress("Scanning the running system's closure for secrets…");
    // The whole closure counts as new: whatever is in it is readable by every user now.
    secrets = await attempt(async () => {
      const closure = await nix.closurePathInfo([running]);
      if (closure.length === 0) throw new Error(`${running} is not a valid path of the store`);
      // plan's limits: the per-file one is the scanner's own, the per-host one applies to the closure.
      const scans = await scanHostsForSecrets(
        scanner,
        [{ host: "", before: [], after: closure }],
        DEFAULT_SECRET_SCAN_LIMITS,
      );
      const scan = scans.get("");
      if (scan === undefined) throw new Error("internal: the secret scan returned no result");
      return scan;
    });
  }

  const facts: DoctorFacts = {
    host: request.host,
    currentSystemLink: paths.currentSystem,
    bootedSystemLink: paths.bootedSystem,
    running,
    booted,
    runningBoot,
    bootedBoot,
    profile: paths.profile,
    generations: profile.generations,
    current: profile.current,
    flake,
    knownGood,
    failedUnits,
    journal,
    disk,
    store,
    gc,
    roots,
    nixVersions: {
      client: formatNixVersion(nix.version),
      clientVersion: nix.version.implementationVersion,
      daemon,
    },
    storeSchema,
    channels,
    usesFlake: request.flake !== undefined,
    secrets,
  };
  return { host: request.host, findings: diagnose(facts), secrets: secrets.ok ? secrets.value : undefined };
}

/** The flake's toplevel output path for `host`; an evaluation error or an unknown host fails the finding. */
async function probeFlake(nix: Nix, flake: FlakeLocation, host: string): Promise<DoctorFacts["flake"]> {
  try {
    return { ok: true, value: { dir: flake.dir, outPath: await evalHostSystemOutPath(nix, flake, host) } };
  } catch (error) {
    if (isInterruption(error)) throw error;
    const hint = error instanceof TernixError && error.hint !== undefined ? ` (${error.hint})` : "";
    return { ok: false, reason: `${reasonOf(error)}${hint}`, failed: true };
  }
}

function toProbe(units: FailedUnits): Probe<readonly string[]> {
  return units.ok ? { ok: true, value: units.units } : { ok: false, reason: units.reason };
}
