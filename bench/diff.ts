/**
 * bench/diff: whole-process wall time of `ternix diff A B` (text) against `nix store diff-closures A B`
 * on the same pair of NixOS closures (≥ 3,000 paths each), median of N interleaved runs after a
 * warm-up. Prints the medians, the ratios ternix/diff-closures warm (closure cache; target ≤ 0.6) and
 * cold (store database; target ≤ 0.8) and, for reference, the
 * pieces a `ternix diff` is made of (Node startup, module loading, `nix --version`, the path-info
 * query that is the Nix-database floor). When ternix is slower, or with --profile, one run is
 * profiled with `node --cpu-prof` and the time is broken down by where it went. The secret scan
 * that `ternix diff` runs on the after side's new paths (issue 14) is also timed alone, in-process
 * with Ternix's scanner, as a share of ternix's warm median.
 *
 *   npm run bench:diff -- [--paths 3000] [--runs 7] [--warmup 1] [--churn 0.05]
 *                         [--after 24.11-b|25.05-a] [--profile] [--keep] [--dir DIR]
 *
 * The pair: one generated host (openssh, nvidia, a few packages, synthetic padding libraries) built
 * at nixpkgs 24.11-a, then at 24.11-b (kernel, nvidia, nix, curl downgrade, openssl bump and its
 * dependents rebuilt) with `--churn` of the padding swapped for other libraries, as a weekly bump
 * with a few configuration changes looks. `--after 25.05-a` is a release jump (glibc bump: every
 * path differs).
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { fileStoreScanner, scanHostsForSecrets } from "../src/app/store-scan.js";
import { DEFAULT_SECRET_SCAN_LIMITS, type SecretScan } from "../src/closure/secrets.js";
import { run } from "../src/proc/run.js";
import { ensureNixDaemon } from "../test/helpers/nix-daemon.js";
import { NIX_FLAGS } from "../test/helpers/nix-env.js";
import {
  advanceNixpkgs,
  buildHosts,
  createWorld,
  nixOrThrow,
  setFleetHosts,
  setFleetNixpkgsBranch,
  updateFleetLock,
  type HostSpec,
  type World,
} from "../test/helpers/world.js";
import { MINIMAL_HOST_PATHS } from "../test/fixtures/generate-fleet.js";
import { analyseCpuProfile, formatProfile, type CpuProfile } from "./profile.js";
import {
  machineLine,
  median,
  ms,
  positiveInt,
  progress,
  ratio,
  REPO_ROOT,
  reportFailure,
  requireBuiltCli,
  spread,
  table,
  TERNIX_BIN,
  timeChecked,
  type TimedRun,
} from "./lib.js";

const HOST = "bench";
/** Options beyond the minimal host add about this many paths (openssh, nvidia, curl, git, vim, python). */
const OPTION_PATHS = 25;

interface Options {
  paths: number;
  runs: number;
  warmup: number;
  churn: number;
  after: "24.11-b" | "25.05-a";
  profile: boolean;
  keep: boolean;
  dir: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      paths: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      churn: { type: "string" },
      after: { type: "string" },
      profile: { type: "boolean" },
      keep: { type: "boolean" },
      dir: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: bench/diff [--paths 3000] [--runs 7] [--warmup 1] [--churn 0.05] [--after 24.11-b|25.05-a] [--profile] [--keep] [--dir DIR]\n",
    );
    process.exit(0);
  }
  const churn = values.churn === undefined ? 0.05 : Number(values.churn);
  if (!(churn >= 0 && churn < 1)) throw new Error("--churn takes a fraction in [0, 1)");
  const after = values.after ?? "24.11-b";
  if (after !== "24.11-b" && after !== "25.05-a") throw new Error("--after takes 24.11-b or 25.05-a");
  const paths = positiveInt(values.paths, "--paths", 3000);
  if (paths < MINIMAL_HOST_PATHS + OPTION_PATHS)
    throw new Error(`--paths must be at least ${MINIMAL_HOST_PATHS + OPTION_PATHS}`);
  return {
    paths,
    runs: positiveInt(values.runs, "--runs", 7),
    warmup: values.warmup === "0" ? 0 : positiveInt(values.warmup, "--warmup", 1),
    churn,
    after,
    profile: values.profile ?? false,
    keep: values.keep ?? false,
    dir: values.dir,
  };
}

/**
 * The host. Its padding libraries (`pkgs.fixture.synthetic`) hang under a few bundle packages rather
 * than directly in `environment.systemPackages`: the fixture's system-path passes its packages in
 * one environment variable, and ~2,000 store paths there exceed Linux's 128 KiB limit per string
 * (MAX_ARG_STRLEN: "Argument list too long"). Real closures are deep like this anyway.
 */
function hostSpec(options: Options, side: "before" | "after"): HostSpec {
  const padding = Math.max(0, options.paths - MINIMAL_HOST_PATHS - OPTION_PATHS + 10);
  const churned = Math.round(padding * options.churn);
  const churnPrefix = side === "before" ? "bench-old" : "bench-new";
  const packages = ["curl", "git", "vim", "jq", "tmux", "python312Packages.requests"].map((p) => `pkgs.${p}`);
  const extraConfig = `environment.systemPackages = [ ${packages.join(" ")} ] ++ (
    let
      bundle = name: libs: builtins.derivation {
        inherit name;
        inherit (pkgs) system;
        deps = libs;
        builder = "/bin/sh";
        args = [ "-c" "mkdir -p $out/nix-support; for d in $deps; do echo $d >> $out/nix-support/propagated-libraries; done" ];
        PATH = "/usr/bin:/bin";
      };
      chunks = size: list:
        let n = builtins.length list; in
        builtins.genList (i:
          builtins.genList (j: builtins.elemAt list (i * size + j))
            (if n - i * size < size then n - i * size else size))
          ((n + size - 1) / size);
      bundles = prefix: count:
        let parts = chunks 500 (pkgs.fixture.synthetic prefix count); in
        builtins.genList (i: bundle "\${prefix}-bundle\${toString i}-1.0" (builtins.elemAt parts i))
          (builtins.length parts);
    in
    bundles "bench-shared" ${padding - churned} ++ bundles "${churnPrefix}" ${churned}
  );`;
  return { name: HOST, openssh: true, nvidia: true, extraConfig };
}

interface Pair {
  before: string;
  after: string;
}

async function buildPair(world: World, options: Options, rootDir: string): Promise<Pair> {
  progress(`building the "before" closure (nixpkgs 24.11-a)…`);
  const before = (await buildHosts(world, [HOST]))[HOST] as string;
  await addRoot(world, before, join(rootDir, "before"));
  progress(
    `building the "after" closure (nixpkgs ${options.after}, ${Math.round(options.churn * 100)}% of the padding swapped)…`,
  );
  await setFleetHosts(world, [hostSpec(options, "after")]);
  if (options.after === "25.05-a") await setFleetNixpkgsBranch(world, "nixos-25.05");
  await advanceNixpkgs(world, options.after);
  await updateFleetLock(world);
  const after = (await buildHosts(world, [HOST]))[HOST] as string;
  await addRoot(world, after, join(rootDir, "after"));
  return { before, after };
}

/** A GC root, so a concurrent garbage collection cannot take the pair away between runs. */
async function addRoot(world: World, path: string, link: string): Promise<void> {
  const result = await run("nix-store", ["--realise", path, "--add-root", link, "--indirect"], {
    env: world.env,
  });
  if (result.exitCode !== 0) throw new Error(`nix-store --add-root ${link} failed: ${result.stderr}`);
}

interface ClosureStats {
  beforePaths: { path: string; narSize: number }[];
  afterPaths: { path: string; narSize: number }[];
  before: number;
  after: number;
  shared: number;
  beforeBytes: number;
  afterBytes: number;
}

async function closureStats(world: World, pair: Pair): Promise<ClosureStats> {
  const paths = async (root: string) => {
    const out = await nixOrThrow(world, ["path-info", "--json", "--recursive", root]);
    return JSON.parse(out.stdout) as { path: string; narSize: number }[];
  };
  const [before, after] = await Promise.all([paths(pair.before), paths(pair.after)]);
  const beforeSet = new Set(before.map((p) => p.path));
  const sum = (infos: { narSize: number }[]) => infos.reduce((total, p) => total + p.narSize, 0);
  return {
    beforePaths: before,
    afterPaths: after,
    before: before.length,
    after: after.length,
    shared: after.filter((p) => beforeSet.has(p.path)).length,
    beforeBytes: sum(before),
    afterBytes: sum(after),
  };
}

/**
 * The secret scan `ternix diff` runs (withSecretScan: the after side's new paths, plan's limits),
 * alone and in-process: one warm-up, then `runs` timed scans with a fresh scanner each.
 */
async function timeSecretScan(
  stats: ClosureStats,
  runs: number,
): Promise<{ times: number[]; scan: SecretScan }> {
  const infos = (paths: { path: string; narSize: number }[]) =>
    paths.map((p) => ({ path: p.path, narSize: p.narSize, references: [] }));
  const host = { host: "", before: infos(stats.beforePaths), after: infos(stats.afterPaths) };
  const times: number[] = [];
  let scan: SecretScan | undefined;
  for (let i = 0; i <= runs; i++) {
    const scanner = fileStoreScanner("", DEFAULT_SECRET_SCAN_LIMITS.maxFileBytes);
    const start = performance.now();
    scan = (await scanHostsForSecrets(scanner, [host], DEFAULT_SECRET_SCAN_LIMITS)).get("");
    if (i > 0) times.push(performance.now() - start);
  }
  if (scan === undefined) throw new Error("the secret scan returned no result");
  return { times, scan };
}

interface Contender {
  key: string;
  label: string;
  command: string;
  args: string[];
  /** Reference figures are shown below the comparison. */
  reference: boolean;
  env?: NodeJS.ProcessEnv;
}

function contenders(pair: Pair): Contender[] {
  const node = process.execPath;
  const mainUrl = pathToFileURL(join(REPO_ROOT, "dist", "cli", "main.js")).href;
  return [
    {
      key: "ternix",
      label: "ternix diff A B (text)",
      command: node,
      args: [TERNIX_BIN, "diff", pair.before, pair.after],
      reference: false,
    },
    {
      // Every run queries Nix, as the first diff of a new pair does (the closure cache is off).
      key: "ternix-cold",
      label: "ternix diff A B, closure cache off",
      command: node,
      args: [TERNIX_BIN, "diff", pair.before, pair.after],
      reference: false,
      env: { TERNIX_NO_CACHE: "1" },
    },
    {
      // The fallback when the store database cannot be read: one `nix path-info -r` for both sides.
      key: "ternix-path-info",
      label: "ternix diff A B, cache and store database off (nix path-info)",
      command: node,
      args: [TERNIX_BIN, "diff", pair.before, pair.after],
      reference: true,
      env: { TERNIX_NO_CACHE: "1", TERNIX_NO_STORE_DB: "1" },
    },
    {
      key: "diff-closures",
      label: "nix store diff-closures A B",
      command: "nix",
      args: [...NIX_FLAGS, "store", "diff-closures", pair.before, pair.after],
      reference: false,
    },
    {
      key: "path-info-one",
      label: "nix path-info --json -r A (one side: the floor)",
      command: "nix",
      args: [...NIX_FLAGS, "path-info", "--json", "--recursive", pair.before],
      reference: true,
    },
    {
      key: "path-info-both",
      label: "nix path-info --json -r A B (both sides, one call)",
      command: "nix",
      args: [...NIX_FLAGS, "path-info", "--json", "--recursive", pair.before, pair.after],
      reference: true,
    },
    { key: "nix-version", label: "nix --version", command: "nix", args: ["--version"], reference: true },
    { key: "node", label: "node -e '' (bare Node start)", command: node, args: ["-e", ""], reference: true },
    {
      key: "node-import",
      label: "node, import dist/cli/main.js (tsc output, unbundled)",
      command: node,
      args: ["--input-type=module", "-e", `await import(${JSON.stringify(mainUrl)})`],
      reference: true,
    },
    {
      key: "ternix-version",
      label: "ternix --version (start, parse argv, exit)",
      command: node,
      args: [TERNIX_BIN, "--version"],
      reference: true,
    },
  ];
}

async function measure(world: World, list: Contender[], options: Options): Promise<Map<string, TimedRun[]>> {
  const samples = new Map<string, TimedRun[]>(list.map((c) => [c.key, []]));
  const once = (c: Contender) =>
    timeChecked(c.label, c.command, c.args, { env: { ...world.env, ...c.env }, cwd: world.dir });
  for (let i = 0; i < options.warmup; i++) {
    progress(`warm-up ${i + 1}/${options.warmup}`);
    for (const c of list) await once(c);
  }
  for (let i = 0; i < options.runs; i++) {
    progress(`run ${i + 1}/${options.runs}`);
    // Rotate the order each round, so neither side always runs right after the other.
    const order = list.map((_, k) => list[(k + i) % list.length] as Contender);
    for (const c of order) samples.get(c.key)?.push(await once(c));
  }
  return samples;
}

async function profileOnce(world: World, pair: Pair, dir: string, keep: boolean): Promise<string> {
  const profDir = join(dir, "cpu-prof");
  await rm(profDir, { recursive: true, force: true });
  await mkdir(profDir, { recursive: true });
  const run = await timeChecked(
    "ternix diff --cpu-prof",
    process.execPath,
    [
      "--cpu-prof",
      "--cpu-prof-dir",
      profDir,
      "--cpu-prof-interval",
      "100",
      TERNIX_BIN,
      "diff",
      pair.before,
      pair.after,
    ],
    { env: world.env, cwd: world.dir },
  );
  const file = (await readdir(profDir)).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`node --cpu-prof wrote no profile in ${profDir}`);
  const profile = JSON.parse(await readFile(join(profDir, file), "utf8")) as CpuProfile;
  const analysis = analyseCpuProfile(profile, {
    wallMs: run.ms,
    repoRoot: REPO_ROOT,
    mainUrlSuffix: "/dist/cli/bin.js",
    focus: [
      "main",
      "createNix",
      "detectNixVersion",
      "diffSystems",
      "loadClosures",
      "parsePathInfoJson",
      "closureOf",
      "readSystemFacts",
      "diffClosures",
      "renderClosureDiffText",
    ],
  });
  return `${formatProfile(analysis)}\n(profile: ${keep ? join(profDir, file) : "removed; pass --keep to keep it"})`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  requireBuiltCli();
  const daemon = await ensureNixDaemon();
  if (daemon.startedPid !== undefined)
    progress(`started nix-daemon (pid ${daemon.startedPid}); it is left running`);

  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "ternix-bench-diff-")));
  progress(`world in ${dir}`);
  const world = await createWorld({ dir: join(dir, "world"), hosts: [hostSpec(options, "before")] });
  try {
    const pair = await buildPair(world, options, join(dir, "roots"));
    const stats = await closureStats(world, pair);
    if (stats.before < options.paths || stats.after < options.paths) {
      throw new Error(
        `closures have ${stats.before} and ${stats.after} paths, fewer than --paths ${options.paths}`,
      );
    }
    const list = contenders(pair);
    const samples = await measure(world, list, options);
    const med = (key: string) => median((samples.get(key) ?? []).map((s) => s.ms));
    progress("timing the secret scan alone…");
    const secretScan = await timeSecretScan(stats, options.runs);
    const ternixOut = samples.get("ternix")?.[0]?.stdout ?? "";
    const nixOut = samples.get("diff-closures")?.[0]?.stdout ?? "";

    const lines: string[] = [];
    lines.push(`bench/diff — ${new Date().toISOString()}`);
    lines.push(machineLine());
    lines.push(
      `pair: ${stats.before} → ${stats.after} paths, ${stats.shared} shared (${Math.round((100 * stats.shared) / stats.after)}% of after), ` +
        `${(stats.beforeBytes / 1e6).toFixed(1)} → ${(stats.afterBytes / 1e6).toFixed(1)} MB; nixpkgs 24.11-a → ${options.after}, churn ${options.churn}`,
    );
    lines.push(
      `output: ternix ${ternixOut.split("\n").length} lines, diff-closures ${nixOut.split("\n").length} lines`,
    );
    lines.push(
      `runs: ${options.runs} (after ${options.warmup} warm-up), interleaved; median (min–max) of whole-process wall time`,
    );
    lines.push("");
    const row = (c: Contender) => [c.label, spread((samples.get(c.key) ?? []).map((s) => s.ms))];
    lines.push(table([...list.filter((c) => !c.reference).map(row)]));
    const r = med("ternix") / med("diff-closures");
    const cold = med("ternix-cold") / med("diff-closures");
    lines.push("");
    lines.push(
      `ratio ternix/diff-closures, warm: ${ratio(med("ternix"), med("diff-closures"))} (target ≤ 0.6: ${r <= 0.6 ? "met" : "NOT met"}; ` +
        `closures from Ternix's cache, as for every diff after the first of a root)`,
    );
    lines.push(
      `ratio with the cache off, cold:   ${ratio(med("ternix-cold"), med("diff-closures"))} (target ≤ 0.8: ${cold <= 0.8 ? "met" : "NOT met"}; ` +
        `both closures read from the store database in one query, as the first diff of a pair does)`,
    );
    lines.push(
      `ratio without the store database: ${ratio(med("ternix-path-info"), med("diff-closures"))} (one \`nix path-info -r\` for both sides: the fallback)`,
    );
    lines.push("");
    lines.push("For reference (same runs):");
    lines.push(table(list.filter((c) => c.reference).map(row)));
    lines.push("");
    lines.push(
      `ternix − diff-closures: ${ms(med("ternix") - med("diff-closures"))}; ` +
        `module loading ≈ ${ms(med("node-import") - med("node"))} over bare Node.`,
    );
    lines.push(
      `The floor: one \`nix path-info -r --json A B\` alone is ${ratio(med("path-info-both"), med("diff-closures"))}× diff-closures; ` +
        `bare Node start + that query is ${ratio(med("node") + med("path-info-both"), med("diff-closures"))}×, ` +
        `and with ternix's modules loaded ${ratio(med("node-import") + med("path-info-both"), med("diff-closures"))}×.`,
    );
    const sc = secretScan.scan;
    lines.push(
      `secret scan (part of every ternix diff above, timed alone in-process): ${sc.pathsScanned} of ${sc.newPaths} new paths, ` +
        `${sc.filesScanned} text files, ${(sc.bytesScanned / 1024).toFixed(0)} KiB read (${sc.skippedBinary} binary skipped); ` +
        `${spread(secretScan.times)} = ${((100 * median(secretScan.times)) / med("ternix")).toFixed(1)}% of ternix's warm median.`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);

    if (options.profile || r > 0.6 || cold > 0.8) {
      progress("profiling one ternix diff run (node --cpu-prof)…");
      process.stdout.write(`\n${await profileOnce(world, pair, dir, options.keep)}\n`);
    }
  } finally {
    if (options.keep) progress(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => reportFailure("bench/diff", error));
