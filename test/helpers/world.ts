/**
 * A real-Nix test world in a fresh temporary directory:
 *
 *   <dir>/nixpkgs    git repo, the miniature nixpkgs (branches nixos-24.11, later nixos-25.05)
 *   <dir>/home       git repo, a home-manager-like flake (input nixpkgs, followed by the fleet)
 *   <dir>/hardware   git repo, a nixos-hardware-like flake that no host uses
 *   <dir>/fleet      git repo, the fleet flake (flake.nix, common.nix, hosts/*.nix, flake.lock)
 *   <dir>/switch.log what the hosts' `switch-to-configuration` recorded (via world.env)
 *
 * Every commit has a fixed date, so `lastModified` (and the nixpkgs revs) are deterministic.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GitError, NixError, tail } from "../../src/errors.js";
import { drvInstallable, flakeUpdateArgs } from "../../src/nix/args.js";
import { capabilitiesFor, type NixCapabilities } from "../../src/nix/capabilities.js";
import { detectNixVersion } from "../../src/nix/nix.js";
import { parseBuildOutput } from "../../src/nix/schemas.js";
import { run, type RunResult } from "../../src/proc/run.js";
import {
  isRevisionName,
  nixosVersionOf,
  revisionSpec,
  type PackageSpec,
  type RevisionName,
  type RevisionSpec,
} from "../fixtures/nixpkgs/revisions.js";
import { NIX_FLAGS, nixTestEnv } from "./nix-env.js";

export { REVISION_NAMES, revisionSpec, nixosVersionOf } from "../fixtures/nixpkgs/revisions.js";
export type { RevisionName, RevisionSpec, PackageSpec } from "../fixtures/nixpkgs/revisions.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const NIXPKGS_FILES = ["flake.nix", "lib.nix", "pkgs.nix", "nixos.nix"];

export interface HostSpec {
  /** Attribute name in nixosConfigurations and networking.hostName; any string, quotes and spaces too. */
  name: string;
  /** Package attribute paths in the miniature nixpkgs, e.g. "curl", "python312Packages.requests". */
  packages?: string[];
  openssh?: boolean;
  nvidia?: boolean;
  zfs?: boolean;
  kernelParams?: string[];
  /** Import home.nixosModules.default: adds home-manager, built against the (followed) nixpkgs. */
  home?: boolean;
  /** ternix.fixture.evalCost: iterations of a deliberately slow fold at evaluation. */
  evalCost?: number;
  /** ternix.fixture.buildCost: iterations of a shell loop when the toplevel builds (about 1 s per million). */
  buildCost?: number;
  /** The host breaks once this nixpkgs revision is in the locked nixpkgs' history. */
  failFrom?: string;
  /** How it breaks: the toplevel fails to build (default) or evaluation throws. */
  failKind?: "build" | "eval";
  /** Defaults to this machine's system. */
  system?: string;
  /**
   * Padding for benchmarks: `count` libraries `<prefix>-lib<k>-1.0` (depending on glibc) per entry.
   * Hosts naming the same prefix share those store paths.
   */
  synthetic?: { prefix: string; count: number }[];
  /** Raw Nix attribute bindings added to the host's module, e.g. `boot.kernelParams = [ "x" ];`. */
  extraConfig?: string;
}

/** The default fleet. */
export const DEFAULT_HOSTS: readonly HostSpec[] = [
  { name: "web", openssh: true, packages: ["curl", "nginx"] },
  { name: "db", zfs: true, packages: ["postgresql", "python312Packages.requests"] },
  {
    name: "gpu-ws",
    nvidia: true,
    home: true,
    packages: ["curl", "firefox", "mesa", "pipewire", "xorg-server", "git", "vim"],
  },
  { name: "build-minimal" },
];

export interface WorldOptions {
  /** Where to build the world (created if missing, must be empty); default a fresh mkdtemp. */
  dir?: string;
  hosts?: readonly HostSpec[];
  /** nixpkgs revision the fleet is first locked to; default "24.11-a". */
  revision?: RevisionName | RevisionSpec;
  /**
   * "dated" (default, like a real flake): the NixOS version is `<release>.<yyyymmdd>.<hex>`, so every
   * nixpkgs revision changes every toplevel. "release": just `<release>`, so a revision that changes
   * no host package (24.11-c) leaves the toplevels identical.
   */
  versionLabel?: "dated" | "release";
  /**
   * Store paths are a function of the revision only, so worlds share builds through the store. A salt
   * (e.g. `randomUUID()`) changes every package, hence every host: the first build is cold.
   */
  salt?: string;
}

export interface World {
  /** Removed by cleanup(), also when the caller chose it. */
  dir: string;
  nixpkgsRepo: string;
  homeRepo: string;
  hardwareRepo: string;
  fleetDir: string;
  /** nixTestEnv() plus TERNIX_FIXTURE_SWITCH_LOG=switchLog: pass to every process a test spawns. */
  env: NodeJS.ProcessEnv;
  switchLog: string;
  /** The fleet's hosts as currently written. */
  readonly hosts: readonly HostSpec[];
  /** Per nixpkgs branch, the names of the revisions committed on it, oldest first. */
  readonly nixpkgsBranches: Readonly<Record<string, readonly string[]>>;
  /** The branch the fleet's nixpkgs input follows (`?ref=`). */
  readonly fleetNixpkgsBranch: string;
  cleanup(): Promise<void>;
}

interface WorldState {
  options: Required<Pick<WorldOptions, "versionLabel" | "salt">>;
  hosts: HostSpec[];
  branches: Record<string, string[]>;
  lastBranch: string;
  fleetBranch: string;
  homeGeneration: number;
  hardwareGeneration: number;
  fleetCommits: number;
}

const states = new WeakMap<World, WorldState>();

function stateOf(world: World): WorldState {
  const state = states.get(world);
  if (!state) throw new Error("not a world made by createWorld");
  return state;
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "ternix-world-")));
  if (options.dir !== undefined) {
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty`);
  }
  const hosts = [...(options.hosts ?? DEFAULT_HOSTS)];
  validateHosts(hosts);
  const switchLog = join(dir, "switch.log");
  const state: WorldState = {
    options: { versionLabel: options.versionLabel ?? "dated", salt: options.salt ?? "" },
    hosts,
    branches: {},
    lastBranch: "",
    fleetBranch: "",
    homeGeneration: 0,
    hardwareGeneration: 0,
    fleetCommits: 0,
  };
  const world: World = {
    dir,
    nixpkgsRepo: join(dir, "nixpkgs"),
    homeRepo: join(dir, "home"),
    hardwareRepo: join(dir, "hardware"),
    fleetDir: join(dir, "fleet"),
    env: nixTestEnv({ TERNIX_FIXTURE_SWITCH_LOG: switchLog }),
    switchLog,
    get hosts() {
      return state.hosts;
    },
    get nixpkgsBranches() {
      return state.branches;
    },
    get fleetNixpkgsBranch() {
      return state.fleetBranch;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  states.set(world, state);

  try {
    const first = toSpec(options.revision ?? "24.11-a");
    state.fleetBranch = first.branch;
    await Promise.all([
      (async () => {
        await gitInit(world, world.nixpkgsRepo, first.branch);
        await commitNixpkgs(world, first);
      })(),
      (async () => {
        await gitInit(world, world.hardwareRepo, "main");
        await commitHardware(world);
      })(),
    ]);
    await gitInit(world, world.homeRepo, "main");
    await commitHome(world, { lock: true });
    await gitInit(world, world.fleetDir, "main");
    await writeFleet(world);
    await nixOrThrow(world, ["flake", "lock"], { cwd: world.fleetDir });
    await commitAll(world, world.fleetDir, "Initial fleet", fleetDate(state));
  } catch (error) {
    await world.cleanup();
    throw error;
  }
  return world;
}

/**
 * Commit a nixpkgs revision on its branch (creating the branch from the last commit if needed).
 * The fleet's lock does not move: run `nix flake update` (or let Ternix do it).
 */
export async function advanceNixpkgs(world: World, revision: RevisionName | RevisionSpec): Promise<void> {
  await commitNixpkgs(world, toSpec(revision));
}

/** Another home commit: home-manager gets a new version (and store path) for hosts with `home`. */
export async function advanceHome(world: World): Promise<void> {
  stateOf(world).homeGeneration += 1;
  await commitHome(world, { lock: false });
}

/** Another hardware commit: the lock moves, no host changes. */
export async function advanceHardware(world: World): Promise<void> {
  stateOf(world).hardwareGeneration += 1;
  await commitHardware(world);
}

/** Rewrite the fleet's hosts (hosts/*.nix and flake.nix); commits unless `commit: false`. */
export async function setFleetHosts(
  world: World,
  hosts: readonly HostSpec[],
  options: { commit?: boolean } = {},
): Promise<void> {
  validateHosts(hosts);
  const state = stateOf(world);
  state.hosts = [...hosts];
  await writeFleet(world);
  if (options.commit ?? true) await commitAll(world, world.fleetDir, "Change hosts", fleetDate(state));
}

/**
 * Point the fleet's nixpkgs input at another branch (e.g. "nixos-25.05" for a release jump).
 * The lock is stale until the next `nix flake lock`/`update`. Commits unless `commit: false`.
 */
export async function setFleetNixpkgsBranch(
  world: World,
  branch: string,
  options: { commit?: boolean } = {},
): Promise<void> {
  const state = stateOf(world);
  state.fleetBranch = branch;
  await writeFleet(world);
  if (options.commit ?? true) {
    await commitAll(world, world.fleetDir, `nixpkgs: follow ${branch}`, fleetDate(state));
  }
}

/**
 * `nix flake update` of all inputs or of the given ones, in the fleet, with the command line the Nix
 * under test takes (Ternix's own argument builder). Commits flake.lock when `commit: true`.
 */
export async function updateFleetLock(
  world: World,
  options: { inputs?: readonly string[]; commit?: boolean } = {},
): Promise<void> {
  const args = flakeUpdateArgs(await testNixCapabilities(), world.fleetDir, options.inputs ?? []);
  await nixOrThrow(world, args, { cwd: world.fleetDir });
  if (options.commit) {
    await commitAll(world, world.fleetDir, "flake.lock: update", fleetDate(stateOf(world)));
  }
}

let capabilities: Promise<NixCapabilities> | undefined;

/** What the Nix the tests run (TERNIX_TEST_NIX or PATH) can do: one `nix --version` per worker. */
export function testNixCapabilities(): Promise<NixCapabilities> {
  capabilities ??= detectNixVersion(run, nixTestEnv()).then(capabilitiesFor);
  return capabilities;
}

/** `<fleet>#nixosConfigurations.<name>.config.system.build.toplevel` (names with `"` cannot be written). */
export function toplevelInstallable(world: World, host: string): string {
  return `${world.fleetDir}#nixosConfigurations.${quoteAttrPathComponent(host)}.config.system.build.toplevel`;
}

/** Installable attribute-path component; Nix 2.8's parser has quotes but no escapes. */
export function quoteAttrPathComponent(name: string): string {
  if (name.includes('"'))
    throw new Error(`host name ${JSON.stringify(name)} cannot be written in an attribute path`);
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) ? name : `"${name}"`;
}

/** The toplevel .drv of each host, evaluated in one `nix eval` (works for any host name). */
export async function toplevelDrvPaths(
  world: World,
  hosts: readonly string[],
): Promise<Record<string, string>> {
  const names = `[ ${hosts.map(nixString).join(" ")} ]`;
  const apply = `cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) ${names})`;
  const result = await nixOrThrow(world, [
    "eval",
    "--json",
    `${world.fleetDir}#nixosConfigurations`,
    "--apply",
    apply,
  ]);
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** Build the hosts' toplevels in one `nix build`; returns host name -> toplevel store path. */
export async function buildHosts(world: World, hosts: readonly string[]): Promise<Record<string, string>> {
  const drvPaths = await toplevelDrvPaths(world, hosts);
  const caps = await testNixCapabilities();
  const installables = Object.values(drvPaths).map((drv) => drvInstallable(caps, drv));
  const result = await nixOrThrow(world, ["build", "--no-link", "--json", ...installables]);
  const byDrv = new Map(parseBuildOutput(result.stdout).map((b) => [b.drvPath, b.outputs["out"]]));
  const out: Record<string, string> = {};
  for (const [host, drv] of Object.entries(drvPaths)) {
    const path = byDrv.get(drv);
    if (!path) throw new Error(`nix build did not report ${drv} (${host})`);
    out[host] = path;
  }
  return out;
}

/** Run `nix <NIX_FLAGS> ...args` with the world's environment; a failure is a result. */
export function runNix(
  world: World,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<RunResult> {
  return run("nix", [...NIX_FLAGS, ...args], { cwd: options.cwd ?? world.dir, env: world.env });
}

/** Like runNix, but a non-zero exit throws a NixError with the stderr tail. */
export async function nixOrThrow(
  world: World,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<RunResult> {
  const result = await runNix(world, args, options);
  if (result.exitCode !== 0) {
    // The stderr tail goes into the message: a test report shows the message, not the fields.
    throw new NixError(
      `nix ${args.slice(0, 2).join(" ")} failed (exit ${result.exitCode}) in ${options.cwd ?? world.dir}:\n${tail(result.stderr, 15)}`,
      result.argv,
      result.exitCode,
      result.stderr,
    );
  }
  return result;
}

/** Run git in `cwd` with the world's environment; a non-zero exit throws a GitError. Returns stdout. */
export async function git(
  world: World,
  cwd: string,
  args: readonly string[],
  options: { date?: string } = {},
): Promise<string> {
  const env = options.date
    ? { ...world.env, GIT_AUTHOR_DATE: gitDate(options.date), GIT_COMMITTER_DATE: gitDate(options.date) }
    : world.env;
  const result = await run("git", args, { cwd, env });
  if (result.exitCode !== 0) {
    throw new GitError(
      `git ${args[0] ?? ""} failed (exit ${result.exitCode}) in ${cwd}:\n${tail(result.stderr, 10)}`,
      result.argv,
      result.exitCode,
      result.stderr,
    );
  }
  return result.stdout;
}

/** This machine's Nix system, used for hosts without `system`. */
export function currentSystem(): string {
  return process.arch === "arm64" ? "aarch64-linux" : "x86_64-linux";
}

/** A Nix string literal for any string. */
export function nixString(s: string): string {
  const escaped = s
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$\{/g, "\\${")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t");
  return `"${escaped}"`;
}

// ---------------------------------------------------------------------------------------------

function toSpec(revision: RevisionName | RevisionSpec): RevisionSpec {
  if (typeof revision !== "string") return revision;
  if (!isRevisionName(revision)) throw new Error(`unknown nixpkgs revision ${String(revision)}`);
  return revisionSpec(revision);
}

async function gitInit(world: World, dir: string, branch: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await git(world, dir, ["init", "--quiet", "--initial-branch", branch]);
}

async function commitAll(world: World, dir: string, message: string, date: string): Promise<void> {
  await git(world, dir, ["add", "--all"]);
  await git(world, dir, ["commit", "--quiet", "--allow-empty", "--message", message], { date });
}

/** `@<unix seconds> +0000` at 12:00 UTC of a YYYY-MM-DD day (or the exact ISO instant given). */
function gitDate(date: string): string {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T12:00:00Z` : date;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad date ${date}`);
  return `@${Math.floor(ms / 1000)} +0000`;
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function fleetDate(state: WorldState): string {
  // One hour apart from 2024-12-01T18:00Z, so fleet commits keep their order and are reproducible.
  const n = state.fleetCommits++;
  return new Date(Date.UTC(2024, 11, 1, 18 + n)).toISOString();
}

async function commitNixpkgs(world: World, spec: RevisionSpec): Promise<void> {
  const state = stateOf(world);
  const repo = world.nixpkgsRepo;
  if (state.lastBranch !== "" && spec.branch !== state.lastBranch) {
    const exists = state.branches[spec.branch] !== undefined;
    await git(
      world,
      repo,
      exists ? ["checkout", "--quiet", spec.branch] : ["checkout", "--quiet", "-b", spec.branch],
    );
    if (!exists) state.branches[spec.branch] = [...(state.branches[state.lastBranch] ?? [])];
  }
  const lineage = [...(state.branches[spec.branch] ?? []), spec.name];
  const nixosVersion = state.options.versionLabel === "dated" ? nixosVersionOf(spec) : spec.release;
  await Promise.all(NIXPKGS_FILES.map((f) => cp(join(FIXTURES, "nixpkgs", f), join(repo, f))));
  const packages = salted(spec.packages, state.options.salt);
  const json = JSON.stringify({ ...spec, packages, nixosVersion, lineage }, null, 1);
  await writeFile(join(repo, "revision.json"), `${json}\n`);
  await commitAll(world, repo, `nixpkgs ${spec.name}`, spec.date);
  state.branches[spec.branch] = lineage;
  state.lastBranch = spec.branch;
}

async function commitHome(world: World, options: { lock: boolean }): Promise<void> {
  const state = stateOf(world);
  const date = addDays("2024-11-20", 10 * state.homeGeneration);
  const repo = world.homeRepo;
  const template = await readFile(join(FIXTURES, "home", "flake.nix"), "utf8");
  await writeFile(
    join(repo, "flake.nix"),
    template.replace("@NIXPKGS_URL@", nixpkgsUrl(world, "nixos-24.11")),
  );
  await writeFile(join(repo, "home.json"), `${JSON.stringify({ version: `0-unstable-${date}` })}\n`);
  if (options.lock) {
    // Like the real one, the flake carries its own lock; the fleet overrides it with `follows`.
    await git(world, repo, ["add", "--all"]);
    await nixOrThrow(world, ["flake", "lock"], { cwd: repo });
  }
  await commitAll(world, repo, `home ${date}`, date);
}

async function commitHardware(world: World): Promise<void> {
  const state = stateOf(world);
  const date = addDays("2024-11-05", 10 * state.hardwareGeneration);
  const repo = world.hardwareRepo;
  await cp(join(FIXTURES, "hardware", "flake.nix"), join(repo, "flake.nix"));
  const params = [
    "i915.enable_psr=0",
    ...Array.from({ length: state.hardwareGeneration }, (_, i) => `fixture.gen=${i + 1}`),
  ];
  await writeFile(join(repo, "hardware.json"), `${JSON.stringify({ thinkpadKernelParams: params })}\n`);
  await commitAll(world, repo, `hardware ${date}`, date);
}

function salted(packages: Record<string, PackageSpec>, salt: string): Record<string, PackageSpec> {
  if (salt === "") return packages;
  return Object.fromEntries(
    Object.entries(packages).map(([attr, pkg]) => [attr, { ...pkg, salt: `${pkg.salt ?? ""}${salt}` }]),
  );
}

function nixpkgsUrl(world: World, branch: string): string {
  return `git+${pathToFileURL(world.nixpkgsRepo).href}?ref=${encodeURIComponent(branch)}`;
}

async function writeFleet(world: World): Promise<void> {
  const state = stateOf(world);
  const fleet = world.fleetDir;
  const template = await readFile(join(FIXTURES, "fleet", "flake.nix"), "utf8");
  await rm(join(fleet, "hosts"), { recursive: true, force: true });
  await mkdir(join(fleet, "hosts"), { recursive: true });
  const entries: string[] = [];
  await Promise.all(
    state.hosts.map(async (host, index) => {
      const file =
        /^[A-Za-z0-9_-]+$/.test(host.name) && host.name.length <= 200
          ? `${host.name}.nix`
          : `host-${index}.nix`;
      await writeFile(join(fleet, "hosts", file), hostModule(host));
      entries[index] =
        `${nixString(host.name)} = mkHost ${nixString(host.system ?? currentSystem())} ./hosts/${file};`;
    }),
  );
  const flake = template
    .replace("@NIXPKGS_URL@", nixpkgsUrl(world, state.fleetBranch))
    .replace("@HOME_URL@", `git+${pathToFileURL(world.homeRepo).href}`)
    .replace("@HARDWARE_URL@", `git+${pathToFileURL(world.hardwareRepo).href}`)
    .replace("# @HOSTS@", entries.join("\n        "));
  await writeFile(join(fleet, "flake.nix"), flake);
  await cp(join(FIXTURES, "fleet", "common.nix"), join(fleet, "common.nix"));
  // Nix only sees files git knows about.
  await git(world, fleet, ["add", "--all"]);
}

function hostModule(host: HostSpec): string {
  const lines: string[] = [];
  if (host.home) lines.push("imports = [ home.nixosModules.default ];");
  lines.push(`networking.hostName = ${nixString(host.name)};`);
  if (host.openssh) lines.push("services.openssh.enable = true;");
  if (host.nvidia) lines.push("hardware.nvidia.enable = true;");
  if (host.zfs) lines.push("boot.zfs.enable = true;");
  if (host.kernelParams?.length)
    lines.push(`boot.kernelParams = [ ${host.kernelParams.map(nixString).join(" ")} ];`);
  const packages = (host.packages ?? []).map((p) => `pkgs.${nixAttrPath(p)}`);
  const synthetic = (host.synthetic ?? [])
    .filter((s) => s.count > 0)
    .map((s) => ` ++ pkgs.fixture.synthetic ${nixString(s.prefix)} ${Math.floor(s.count)}`);
  if (packages.length || synthetic.length) {
    lines.push(`environment.systemPackages = [ ${packages.join(" ")} ]${synthetic.join("")};`);
  }
  if (host.evalCost) lines.push(`ternix.fixture.evalCost = ${Math.floor(host.evalCost)};`);
  if (host.buildCost) lines.push(`ternix.fixture.buildCost = ${Math.floor(host.buildCost)};`);
  if (host.failFrom !== undefined) {
    lines.push(`ternix.fixture.failFrom = ${nixString(host.failFrom)};`);
    lines.push(`ternix.fixture.failKind = ${nixString(host.failKind ?? "build")};`);
  }
  if (host.extraConfig) lines.push(host.extraConfig);
  return [
    `# Host ${JSON.stringify(host.name)}, written by test/helpers/world.ts.`,
    "{ pkgs, home, ... }:",
    "{",
    ...lines.map((l) => `  ${l}`),
    "}",
    "",
  ].join("\n");
}

function nixAttrPath(path: string): string {
  return path
    .split(".")
    .map((part) => (/^[A-Za-z_][A-Za-z0-9_'-]*$/.test(part) ? part : nixString(part)))
    .join(".");
}

function validateHosts(hosts: readonly HostSpec[]): void {
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.name)) throw new Error(`duplicate host ${JSON.stringify(host.name)}`);
    seen.add(host.name);
  }
}
