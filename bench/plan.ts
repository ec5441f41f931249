/**
 * bench/plan: `ternix plan` against the sequential per-host loop it replaces, on a generated fleet
 * whose hosts cost real evaluation time, everything already built, Nix's evaluation cache cleared
 * before every run of either (a fresh XDG_CACHE_HOME) and the lock reset, so every run sees the same
 * update (nixpkgs 24.11-a → 24.11-b). Prints medians, the speed-up loop/ternix, and Ternix's own
 * work: its wall time minus the Nix phases it reports in `timingsMs`, and the secret scan's share
 * of the wall time (`timingsMs.secretScan`, issue 14).
 *
 *   npm run bench:plan -- [--hosts 10 | --hosts 4,10,20] [--paths 1500] [--shared 0.9]
 *                         [--eval-ms 1000 | --eval-cost N] [--runs 3] [--jobs N] [--keep] [--dir DIR]
 *
 * The loop (what fleet repositories script by hand, with Nix 2.8's `--json` for the out path):
 *   for h in hosts: nix build FLAKE#nixosConfigurations.$h.config.system.build.toplevel --no-link --json
 *   nix flake update
 *   for h in hosts: nix build … (after); nix store diff-closures BEFORE AFTER
 *
 * `--preview` (issue 14): instead, `ternix plan --no-build` against the built plan with nothing of
 * the after side prebuilt (every run updates to a freshly salted nixpkgs revision, so every package
 * of the after side is new to the store) and against the built plan with everything built (the same
 * update again), in one run, with the ratios:
 *
 *   npm run bench:plan -- --preview [--hosts 10] [--paths 300] [--runs 2] [--eval-ms 1000]
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileStoreScanner, scanHostsForSecrets } from "../src/app/store-scan.js";
import { DEFAULT_SECRET_SCAN_LIMITS } from "../src/closure/secrets.js";
import { parsePathInfoJson } from "../src/nix/schemas.js";
import { fleetHosts, generateFleet } from "../test/fixtures/generate-fleet.js";
import { ensureNixDaemon } from "../test/helpers/nix-daemon.js";
import { NIX_FLAGS } from "../test/helpers/nix-env.js";
import {
  advanceNixpkgs,
  revisionSpec,
  setFleetHosts,
  toplevelInstallable,
  type RevisionSpec,
  type World,
} from "../test/helpers/world.js";
import {
  machineLine,
  median,
  ms,
  positiveInt,
  progress,
  reportFailure,
  requireBuiltCli,
  spread,
  table,
  TERNIX_BIN,
  timeChecked,
} from "./lib.js";

interface Options {
  hostCounts: number[];
  paths: number;
  shared: number;
  evalMs: number;
  evalCost: number | undefined;
  runs: number;
  jobs: number | undefined;
  keep: boolean;
  dir: string | undefined;
  preview: boolean;
}

const PHASES = [
  "update",
  "discover",
  "evalBefore",
  "buildBefore",
  "evalAfter",
  "buildAfter",
  "diff",
] as const;
/** The phases that are Nix's evaluation, builds and lock update (the `diff` phase is mostly Ternix's). */
const NIX_PHASES = ["update", "discover", "evalBefore", "buildBefore", "evalAfter", "buildAfter"] as const;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      hosts: { type: "string" },
      paths: { type: "string" },
      shared: { type: "string" },
      "eval-ms": { type: "string" },
      "eval-cost": { type: "string" },
      runs: { type: "string" },
      jobs: { type: "string" },
      keep: { type: "boolean" },
      dir: { type: "string" },
      preview: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: bench/plan [--preview] [--hosts 10 | --hosts 4,10,20] [--paths 1500] [--shared 0.9] [--eval-ms 1000 | --eval-cost N] [--runs 3] [--jobs N] [--keep] [--dir DIR]\n",
    );
    process.exit(0);
  }
  const hostCounts = (values.hosts ?? "10").split(",").map((h) => positiveInt(h.trim(), "--hosts", 10));
  const shared = values.shared === undefined ? 0.9 : Number(values.shared);
  if (!(shared >= 0 && shared <= 1)) throw new Error("--shared takes a fraction in [0, 1]");
  const evalCost = values["eval-cost"] === undefined ? undefined : Number(values["eval-cost"]);
  if (evalCost !== undefined && !(Number.isInteger(evalCost) && evalCost >= 0))
    throw new Error("--eval-cost takes a whole number ≥ 0");
  return {
    hostCounts,
    paths: positiveInt(values.paths, "--paths", 1500),
    shared,
    evalMs: positiveInt(values["eval-ms"], "--eval-ms", 1000),
    evalCost,
    runs: positiveInt(values.runs, "--runs", 3),
    jobs: values.jobs === undefined ? undefined : positiveInt(values.jobs, "--jobs", 1),
    keep: values.keep ?? false,
    dir: values.dir,
    preview: values.preview ?? false,
  };
}

/** Fresh caches for every run: the updated lock is always new to the evaluation cache in real use. */
class Caches {
  private n = 0;
  constructor(private readonly dir: string) {}
  async fresh(world: World): Promise<NodeJS.ProcessEnv> {
    const cache = join(this.dir, `cache-${++this.n}`);
    await mkdir(cache, { recursive: true });
    return { ...world.env, XDG_CACHE_HOME: cache };
  }
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

interface HostEvalTimes {
  /** A whole `nix eval` of the host's toplevel drvPath (instantiates: writes every .drv through the daemon). */
  host: number;
  /** The same with `--read-only`: evaluation without writing .drv files. */
  readOnly: number;
  /** `nix eval` of the host names alone: Nix's start, the flake, its inputs. */
  flake: number;
}

/** What one host costs to evaluate, each with a fresh cache; median of `samples` after one warm-up. */
async function hostEvalMs(world: World, host: string, caches: Caches, samples = 3): Promise<HostEvalTimes> {
  const drv = `${toplevelInstallable(world, host)}.drvPath`;
  const commands = {
    host: [...NIX_FLAGS, "eval", "--raw", drv],
    readOnly: [...NIX_FLAGS, "eval", "--read-only", "--raw", drv],
    flake: [
      ...NIX_FLAGS,
      "eval",
      "--json",
      `${world.fleetDir}#nixosConfigurations`,
      "--apply",
      "builtins.attrNames",
    ],
  };
  const times: Record<keyof HostEvalTimes, number[]> = { host: [], readOnly: [], flake: [] };
  for (let i = 0; i <= samples; i++) {
    for (const key of Object.keys(commands) as (keyof HostEvalTimes)[]) {
      const r = await timeChecked(`nix eval (${key})`, "nix", commands[key], {
        cwd: world.fleetDir,
        env: await caches.fresh(world),
      });
      // The first round writes the host's .drv files; later rounds, like the runs, find them there.
      if (i > 0) times[key].push(r.ms);
    }
  }
  return { host: median(times.host), readOnly: median(times.readOnly), flake: median(times.flake) };
}

/**
 * evalCost so that one host's whole evaluation takes about `targetMs`: measure the host without the
 * deliberate fold and with a probe amount, and scale linearly.
 */
async function calibrate(world: World, options: Options, hostCount: number, caches: Caches): Promise<number> {
  const specs = (evalCost: number) =>
    fleetHosts({ hosts: hostCount, pathsPerHost: options.paths, sharedFraction: options.shared, evalCost })
      .hosts;
  const host = specs(0)[0]?.name as string;
  const probe = 2_000_000;
  await setFleetHosts(world, specs(0));
  const base = (await hostEvalMs(world, host, caches)).host;
  await setFleetHosts(world, specs(probe));
  const probed = (await hostEvalMs(world, host, caches)).host;
  const perIteration = Math.max(1e-9, (probed - base) / probe);
  const cost = Math.max(0, Math.round((options.evalMs - base) / perIteration / 1000) * 1000);
  progress(
    `calibration: one host evaluates in ${ms(base)} without the fold, ${ms(probed)} with ${probe.toLocaleString("en")} iterations ` +
      `→ evalCost ${cost.toLocaleString("en")} for ~${ms(options.evalMs)}`,
  );
  if (cost === 0)
    progress(`--eval-ms ${options.evalMs} is below the host's cost without the fold; evalCost 0`);
  return cost;
}

interface TernixRun {
  ms: number;
  timings: Record<string, number>;
  changedHosts: number;
  lockRestored: boolean;
  json: PlanJson;
}

interface PlanJson {
  outcome: string;
  lockState: string;
  hosts: {
    host: string;
    status: string;
    before: { toplevel?: string };
    after: { toplevel?: string };
    cost?: { toBuild: string[] } | null;
    diff: {
      secrets: { newPaths: number; pathsScanned: number; filesScanned: number; bytesScanned: number } | null;
    } | null;
  }[];
  timingsMs: Record<string, number>;
}

async function runTernix(
  world: World,
  env: NodeJS.ProcessEnv,
  options: Options,
  originalLock: string,
  extra: string[] = [],
): Promise<TernixRun> {
  const args = [
    TERNIX_BIN,
    "plan",
    "--flake",
    world.fleetDir,
    "--restore-lock",
    "--format",
    "json",
    ...extra,
  ];
  if (options.jobs !== undefined) args.push("--jobs", String(options.jobs));
  const run = await timeChecked("ternix plan", process.execPath, args, { cwd: world.fleetDir, env });
  const json = JSON.parse(run.stdout) as PlanJson;
  const lockNow = await readFile(join(world.fleetDir, "flake.lock"), "utf8");
  return {
    ms: run.ms,
    timings: json.timingsMs,
    changedHosts: json.hosts.filter((h) => h.status === "changed").length,
    lockRestored: lockNow === originalLock,
    json,
  };
}

interface LoopRun {
  ms: number;
  parts: { buildBefore: number; update: number; buildAfter: number; diffClosures: number };
  changedHosts: number;
}

async function runLoop(world: World, hosts: readonly string[], env: NodeJS.ProcessEnv): Promise<LoopRun> {
  const cwd = world.fleetDir;
  const parts = { buildBefore: 0, update: 0, buildAfter: 0, diffClosures: 0 };
  const build = async (host: string) => {
    const r = await timeChecked(
      `nix build ${host}`,
      "nix",
      [...NIX_FLAGS, "build", toplevelInstallable(world, host), "--no-link", "--json"],
      { cwd, env },
    );
    const out = (JSON.parse(r.stdout) as { outputs: { out: string } }[])[0]?.outputs.out;
    if (!out) throw new Error(`nix build ${host} printed no output path`);
    return { out, ms: r.ms };
  };
  const start = performance.now();
  const before = new Map<string, string>();
  for (const h of hosts) {
    const b = await build(h);
    before.set(h, b.out);
    parts.buildBefore += b.ms;
  }
  parts.update = (
    await timeChecked("nix flake update", "nix", [...NIX_FLAGS, "flake", "update"], { cwd, env })
  ).ms;
  let changedHosts = 0;
  for (const h of hosts) {
    const a = await build(h);
    parts.buildAfter += a.ms;
    const b = before.get(h) as string;
    const d = await timeChecked(
      "nix store diff-closures",
      "nix",
      [...NIX_FLAGS, "store", "diff-closures", b, a.out],
      { cwd, env },
    );
    parts.diffClosures += d.ms;
    if (b !== a.out) changedHosts++;
  }
  return { ms: performance.now() - start, parts, changedHosts };
}

/** The two closure queries of the `diff` phase, run as Ternix runs them (one per side, concurrently). */
async function pathInfoFloor(world: World, json: PlanJson, caches: Caches, samples = 3): Promise<number> {
  const side = (key: "before" | "after") =>
    json.hosts.map((h) => h[key].toplevel).filter((p): p is string => p !== undefined);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const env = await caches.fresh(world);
    const start = performance.now();
    await Promise.all(
      (["before", "after"] as const).map((k) =>
        timeChecked(
          "nix path-info",
          "nix",
          [...NIX_FLAGS, "path-info", "--json", "--recursive", ...side(k)],
          { env },
        ),
      ),
    );
    times.push(performance.now() - start);
  }
  return median(times);
}

interface CountResult {
  hosts: number;
  pathsPerHost: number;
  evalCost: number;
  oneHost: HostEvalTimes;
  ternix: TernixRun[];
  loop: LoopRun[];
  floor: number;
  worstScan: WorstScan;
}

async function benchHostCount(
  hostCount: number,
  options: Options,
  root: string,
  evalCostIn: number | undefined,
): Promise<CountResult> {
  const dir = join(root, `fleet-${hostCount}`);
  const caches = new Caches(join(root, `caches-${hostCount}`));
  progress(`generating a fleet of ${hostCount} hosts × ${options.paths} paths in ${dir}…`);
  const fleet = await generateFleet({
    dir,
    hosts: hostCount,
    pathsPerHost: options.paths,
    sharedFraction: options.shared,
    evalCost: evalCostIn ?? 0,
  });
  const world = fleet.world;
  const evalCost = evalCostIn ?? (await calibrate(world, options, hostCount, caches));
  await setFleetHosts(
    world,
    fleetHosts({ hosts: hostCount, pathsPerHost: options.paths, sharedFraction: options.shared, evalCost })
      .hosts,
  );
  await advanceNixpkgs(world, "24.11-b");
  const lockPath = join(world.fleetDir, "flake.lock");
  const originalLock = await readFile(lockPath, "utf8");

  progress("warm-up: ternix plan builds every host before and after (GC roots kept for the run)…");
  const warm = await runTernix(world, await caches.fresh(world), options, originalLock, [
    "--keep-results",
    join(root, `roots-${hostCount}`),
  ]);
  if (warm.changedHosts !== hostCount)
    progress(`warning: warm-up plan reports ${warm.changedHosts} changed hosts of ${hostCount}`);
  const oneHost = await hostEvalMs(world, fleet.hostNames[0] as string, caches);
  progress(
    `one host's evaluation: ${ms(oneHost.host)} (read-only: ${ms(oneHost.readOnly)}; listing the hosts alone: ${ms(oneHost.flake)})`,
  );

  const ternix: TernixRun[] = [];
  const loop: LoopRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    // Alternate which goes first, so neither always runs on a machine the other just warmed.
    for (const which of i % 2 === 0 ? (["ternix", "loop"] as const) : (["loop", "ternix"] as const)) {
      await writeFile(lockPath, originalLock);
      const env = await caches.fresh(world);
      progress(`run ${i + 1}/${options.runs}: ${which === "ternix" ? "ternix plan" : "sequential loop"}…`);
      if (which === "ternix") {
        const r = await runTernix(world, env, options, originalLock);
        if (!r.lockRestored)
          progress("warning: flake.lock differs from the original after `ternix plan --restore-lock`");
        ternix.push(r);
        progress(`  ${ms(r.ms)}`);
      } else {
        const r = await runLoop(world, fleet.hostNames, env);
        loop.push(r);
        progress(`  ${ms(r.ms)}`);
      }
    }
  }
  await writeFile(lockPath, originalLock);
  const floor = await pathInfoFloor(world, warm.json, caches);
  const worstScan = await worstCaseScan(world, warm.json);
  await caches.clear();
  return {
    hosts: hostCount,
    pathsPerHost: fleet.pathsPerHost,
    evalCost,
    oneHost,
    ternix,
    loop,
    floor,
    worstScan,
  };
}

interface WorstScan {
  ms: number;
  paths: number;
  files: number;
  bytes: number;
}

/**
 * The secret scan's worst case on this fleet: every path of every host's after-closure new (as
 * after a glibc bump, which rebuilds everything), scanned the way plan scans (Ternix's own scanner,
 * each shared path once), in this process; the update the runs plan renews only a few paths.
 */
async function worstCaseScan(world: World, json: PlanJson): Promise<WorstScan> {
  const afters = json.hosts.map((h) => h.after.toplevel).filter((p): p is string => p !== undefined);
  const info = await timeChecked(
    "nix path-info",
    "nix",
    [...NIX_FLAGS, "path-info", "--json", "--recursive", ...afters],
    { env: world.env },
  );
  const infos = new Map(parsePathInfoJson(info.stdout).map((p) => [p.path, p]));
  const closureOf = (root: string) => {
    const seen = new Set<string>();
    const stack = [root];
    while (stack.length > 0) {
      const p = stack.pop() as string;
      if (seen.has(p)) continue;
      seen.add(p);
      for (const r of infos.get(p)?.references ?? []) stack.push(r);
    }
    return [...seen].map((p) => infos.get(p) ?? { path: p, narSize: 0, references: [] });
  };
  const hosts = json.hosts
    .filter((h) => h.after.toplevel !== undefined)
    .map((h) => ({ host: h.host, before: [], after: closureOf(h.after.toplevel as string) }));
  const start = performance.now();
  const scans = await scanHostsForSecrets(
    fileStoreScanner("", DEFAULT_SECRET_SCAN_LIMITS.maxFileBytes),
    hosts,
    DEFAULT_SECRET_SCAN_LIMITS,
  );
  const elapsed = performance.now() - start;
  const all = [...scans.values()];
  return {
    ms: elapsed,
    paths: new Set(hosts.flatMap((h) => h.after.map((p) => p.path))).size,
    files: all.reduce((a, s) => a + s.filesScanned, 0) / Math.max(1, all.length),
    bytes: all.reduce((a, s) => a + s.bytesScanned, 0) / Math.max(1, all.length),
  };
}

/**
 * The secret scan (issue 14): `timingsMs.secretScan`, inside the `diff` phase, as a share of each
 * run's wall time; what it read comes from the hosts' `diff.secrets` counts.
 */
function secretScanLine(r: CountResult): string {
  const scan = r.ternix.map((t) => t.timings["secretScan"] ?? 0);
  const share = r.ternix.map((t, i) => (100 * (scan[i] as number)) / t.ms);
  const last = r.ternix.at(-1)?.json.hosts ?? [];
  const sum = (f: (s: NonNullable<NonNullable<PlanJson["hosts"][number]["diff"]>["secrets"]>) => number) =>
    last.reduce((acc, h) => acc + (h.diff?.secrets ? f(h.diff.secrets) : 0), 0);
  const scanned = last.filter((h) => h.diff?.secrets).length;
  return (
    `secret scan (timingsMs.secretScan, inside diff): ${spread(scan)} = ${median(share).toFixed(1)}% of plan's wall time ` +
    `(max ${Math.max(...share).toFixed(1)}%; target < 10%); per host ${Math.round(sum((s) => s.newPaths) / Math.max(1, scanned))} new paths, ` +
    `${Math.round(sum((s) => s.filesScanned) / Math.max(1, scanned))} files, ${(sum((s) => s.bytesScanned) / Math.max(1, scanned) / 1024).toFixed(0)} KiB read ` +
    `(${scanned} hosts scanned; paths shared by hosts are read once)\n` +
    `  worst case, every after-closure path new (a mass rebuild), ${r.worstScan.paths} distinct paths, per host ${Math.round(r.worstScan.files)} files, ` +
    `${(r.worstScan.bytes / 1024).toFixed(0)} KiB: ${ms(r.worstScan.ms)} = ${((100 * r.worstScan.ms) / median(r.ternix.map((t) => t.ms))).toFixed(1)}% of plan's median wall time`
  );
}

function report(r: CountResult, options: Options): string {
  const tWall = median(r.ternix.map((t) => t.ms));
  const lWall = median(r.loop.map((l) => l.ms));
  const phase = (name: string) => median(r.ternix.map((t) => t.timings[name] ?? 0));
  // Per run, then the median: wall minus the Nix phases, and minus the closure queries too.
  const ownUpper = r.ternix.map((t) => t.ms - NIX_PHASES.reduce((s, p) => s + (t.timings[p] ?? 0), 0));
  const own = r.ternix.map((t, i) => (ownUpper[i] as number) - Math.min(t.timings["diff"] ?? 0, r.floor));
  const pct = (values: number[]) => `${((100 * median(values)) / tWall).toFixed(1)}%`;
  const rest = r.ternix.map((t) => t.ms - PHASES.reduce((s, p) => s + (t.timings[p] ?? 0), 0));
  const loopPart = (name: keyof LoopRun["parts"]) => ms(median(r.loop.map((l) => l.parts[name])));
  const changed = r.ternix.map((t) => t.changedHosts);
  const loopChanged = r.loop.map((l) => l.changedHosts);
  const lines = [
    `fleet: ${r.hosts} hosts × ${r.pathsPerHost} paths (${Math.round(options.shared * 100)}% shared), evalCost ${r.evalCost.toLocaleString("en")}; ` +
      `one host's evaluation: ${ms(r.oneHost.host)} (a whole \`nix eval\` of its toplevel drvPath, fresh cache; ` +
      `with --read-only, i.e. without writing .drv files: ${ms(r.oneHost.readOnly)}; listing the hosts alone: ${ms(r.oneHost.flake)})`,
    `update: nixpkgs 24.11-a → 24.11-b; changed hosts: ternix ${Math.min(...changed)}–${Math.max(...changed)}, loop ${Math.min(...loopChanged)}–${Math.max(...loopChanged)}; ` +
      `runs: ${options.runs}, fresh XDG_CACHE_HOME and lock reset before each; ternix --jobs ${options.jobs ?? "default (cores)"}`,
    "",
    table([
      ["", "median (min–max)"],
      ["ternix plan --restore-lock --format json", spread(r.ternix.map((t) => t.ms))],
      [
        `sequential loop (${2 * r.hosts} nix build, flake update, ${r.hosts} diff-closures)`,
        spread(r.loop.map((l) => l.ms)),
      ],
    ]),
    "",
    `speed-up loop/ternix: ${(lWall / tWall).toFixed(2)}× (target ≥ 2.5× on 10 hosts)`,
    "",
    `ternix phases (timingsMs, median): ${PHASES.map((p) => `${p} ${ms(phase(p))}`).join(", ")}; outside any phase ${ms(median(rest))}`,
    `loop parts (median): builds before ${loopPart("buildBefore")}, flake update ${loopPart("update")}, builds after ${loopPart("buildAfter")}, diff-closures ${loopPart("diffClosures")}`,
    `Ternix's own work = wall − Nix phases (update, discover, eval, build): ${ms(median(ownUpper))} = ${pct(ownUpper)} of its wall time, counting the diff phase's closure queries as Ternix's;`,
    `  without them (two concurrent \`nix path-info -r --json\`, measured alone: ${ms(r.floor)}): ${ms(median(own))} = ${pct(own)} (target < 10%)`,
    secretScanLine(r),
  ];
  return lines.join("\n");
}

interface PreviewResult {
  hosts: number;
  pathsPerHost: number;
  evalCost: number;
  noBuild: TernixRun[];
  cold: TernixRun[];
  warm: TernixRun[];
  /** Derivations the cold plan built (from its dry run), per run. */
  coldBuilds: number[];
}

/** nixpkgs 24.11-b with every package salted: the same versions, all new store paths. */
function saltedRevision(salt: string): RevisionSpec {
  const spec = revisionSpec("24.11-b");
  const packages = Object.fromEntries(
    Object.entries(spec.packages).map(([attr, pkg]) => [attr, { ...pkg, salt: `${pkg.salt ?? ""}${salt}` }]),
  );
  return { ...spec, name: `24.11-b+${salt}`, packages };
}

async function benchPreview(
  hostCount: number,
  options: Options,
  root: string,
  evalCostIn: number | undefined,
): Promise<PreviewResult> {
  const dir = join(root, `fleet-${hostCount}`);
  const caches = new Caches(join(root, `caches-${hostCount}`));
  progress(`generating a fleet of ${hostCount} hosts × ${options.paths} paths in ${dir}…`);
  const fleet = await generateFleet({
    dir,
    hosts: hostCount,
    pathsPerHost: options.paths,
    sharedFraction: options.shared,
    evalCost: evalCostIn ?? 0,
  });
  const world = fleet.world;
  const evalCost = evalCostIn ?? (await calibrate(world, options, hostCount, caches));
  await setFleetHosts(
    world,
    fleetHosts({ hosts: hostCount, pathsPerHost: options.paths, sharedFraction: options.shared, evalCost })
      .hosts,
  );
  const lockPath = join(world.fleetDir, "flake.lock");
  const originalLock = await readFile(lockPath, "utf8");
  // The before side is what the fleet runs: built once, as it is in real use.
  progress("warm-up: building the before side (the running fleet)…");
  await advanceNixpkgs(world, saltedRevision(randomUUID()));
  await runTernix(world, await caches.fresh(world), options, originalLock);

  const result: PreviewResult = {
    hosts: hostCount,
    pathsPerHost: fleet.pathsPerHost,
    evalCost,
    noBuild: [],
    cold: [],
    warm: [],
    coldBuilds: [],
  };
  for (let i = 0; i < options.runs; i++) {
    await advanceNixpkgs(world, saltedRevision(randomUUID()));
    const step = async (label: string, extra: string[]) => {
      await writeFile(lockPath, originalLock);
      progress(`run ${i + 1}/${options.runs}: ${label}…`);
      const r = await runTernix(world, await caches.fresh(world), options, originalLock, extra);
      progress(`  ${ms(r.ms)} (${r.changedHosts} changed hosts)`);
      return r;
    };
    // The preview first: it writes the after side's .drv files, as any evaluation does.
    result.noBuild.push(await step("ternix plan --no-build", ["--no-build"]));
    const cold = await step("ternix plan, nothing of the after side built", []);
    result.cold.push(cold);
    result.coldBuilds.push(cold.json.hosts.reduce((n, h) => n + (h.cost?.toBuild.length ?? 0), 0));
    result.warm.push(await step("ternix plan, everything built", []));
  }
  await writeFile(lockPath, originalLock);
  await caches.clear();
  return result;
}

function previewReport(r: PreviewResult, options: Options): string {
  const wall = (runs: TernixRun[]) => median(runs.map((t) => t.ms));
  const [n, c, w] = [wall(r.noBuild), wall(r.cold), wall(r.warm)];
  const phases = (runs: TernixRun[], names: readonly string[]) =>
    names.map((p) => `${p} ${ms(median(runs.map((t) => t.timings[p] ?? 0)))}`).join(", ");
  return [
    `fleet: ${r.hosts} hosts × ${r.pathsPerHost} paths (${Math.round(options.shared * 100)}% shared), evalCost ${r.evalCost.toLocaleString("en")}; ` +
      `update: nixpkgs 24.11-a → 24.11-b salted afresh every run (same versions, every store path new); runs: ${options.runs}, fresh XDG_CACHE_HOME before each`,
    `the cold plan built ${median(r.coldBuilds)} derivations (summed over hosts' dry runs, median)`,
    "",
    table([
      ["", "median (min–max)"],
      ["ternix plan --no-build", spread(r.noBuild.map((t) => t.ms))],
      ["ternix plan, nothing of the after side built", spread(r.cold.map((t) => t.ms))],
      ["ternix plan, everything built", spread(r.warm.map((t) => t.ms))],
    ]),
    "",
    `built plan, nothing prebuilt / --no-build: ${(c / n).toFixed(2)}×`,
    `built plan, everything built / --no-build: ${(w / n).toFixed(2)}×`,
    "",
    `--no-build phases (median): ${phases(r.noBuild, ["update", "discover", "evalBefore", "evalAfter", "derivations", "diff"])}`,
    `cold plan phases (median): ${phases(r.cold, ["update", "discover", "evalBefore", "buildBefore", "evalAfter", "dryRun", "buildAfter", "diff"])}`,
    `warm plan phases (median): ${phases(r.warm, ["update", "discover", "evalBefore", "buildBefore", "evalAfter", "dryRun", "buildAfter", "diff"])}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  requireBuiltCli();
  const daemon = await ensureNixDaemon();
  if (daemon.startedPid !== undefined)
    progress(`started nix-daemon (pid ${daemon.startedPid}); it is left running`);
  const root = options.dir ?? (await mkdtemp(join(tmpdir(), "ternix-bench-plan-")));
  await mkdir(root, { recursive: true });
  try {
    const results: CountResult[] = [];
    let evalCost = options.evalCost;
    const header = [`bench/plan — ${new Date().toISOString()}`, machineLine()];
    process.stdout.write(`${header.join("\n")}\n`);
    for (const count of options.preview ? [] : options.hostCounts) {
      const r = await benchHostCount(count, options, root, evalCost);
      evalCost = r.evalCost; // Calibrate once; every fleet then has the same per-host cost.
      results.push(r);
      process.stdout.write(`\n${report(r, options)}\n`);
    }
    if (options.preview) {
      for (const count of options.hostCounts) {
        const r = await benchPreview(count, options, root, evalCost);
        evalCost = r.evalCost;
        process.stdout.write(`\n${previewReport(r, options)}\n`);
      }
    }
    if (results.length > 1) {
      const rows = results.map((r) => {
        const t = median(r.ternix.map((x) => x.ms));
        const l = median(r.loop.map((x) => x.ms));
        return [String(r.hosts), ms(t), ms(l), `${(l / t).toFixed(2)}×`];
      });
      process.stdout.write(`\n${table([["hosts", "ternix", "loop", "speed-up"], ...rows])}\n`);
    }
    process.stdout.write(`(${machineLine()} at the end)\n`);
  } finally {
    if (options.keep) progress(`kept ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => reportFailure("bench/plan", error));
