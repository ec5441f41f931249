/**
 * Pure builders for every Nix command line Ternix runs. Each takes the capability table, so version
 * workarounds live here, next to the upstream change they work around, and are tested table-driven.
 */
import type { NixCapabilities } from "./capabilities.js";

/** Options every `nix` call gets, plus the user's own `--option name value` pairs. */
export interface NixGlobalOptions {
  /** User-supplied `--option NAME VALUE` pairs (config `[nix] options`, flag `--nix-option`). */
  options: readonly (readonly [string, string])[];
}

export function globalArgs(global: NixGlobalOptions): string[] {
  const args = ["--extra-experimental-features", "nix-command flakes"];
  for (const [name, value] of global.options) args.push("--option", name, value);
  return args;
}

/**
 * Update all inputs (no names) or only the named ones.
 *
 * Nix 2.19 (release notes: "The interface for creating and updating lock files has been overhauled")
 * made the positional arguments of `nix flake update` input names and moved the flake to `--flake`:
 * a flake path passed positionally is read as an input name, warned about ("does not match any input
 * of this flake") and nothing is updated. Lix took the same change in 2.90. Before 2.19 the flake is
 * positional and single inputs go through `nix flake lock --update-input`, deprecated from 2.19 on.
 */
export function flakeUpdateArgs(
  caps: NixCapabilities,
  flakeRef: string,
  inputs: readonly string[],
): string[] {
  if (caps.flakeUpdateInputs) return ["flake", "update", ...inputs, "--flake", flakeRef];
  if (inputs.length === 0) return ["flake", "update", flakeRef];
  return ["flake", "lock", flakeRef, ...inputs.flatMap((i) => ["--update-input", i])];
}

/** Create or complete the lock without updating locked inputs. */
export function flakeLockArgs(flakeRef: string): string[] {
  return ["flake", "lock", flakeRef];
}

/**
 * `nix eval --json FLAKE#ATTR --apply FN`: the batched evaluation plan pays for. `readOnly` computes
 * derivation and output paths without writing the .drv files to the store, which is most of the
 * cost of evaluating a system whose outputs already exist.
 */
export function evalJsonArgs(
  installable: string,
  apply?: string,
  options: {
    readOnly?: boolean | undefined;
    noWriteLockFile?: boolean | undefined;
    /** A lock that needs updating is an error (upgrade builds exactly the commit's lock). */
    noUpdateLockFile?: boolean | undefined;
  } = {},
): string[] {
  const args = ["eval", "--json"];
  if (options.readOnly) args.push("--read-only");
  if (options.noUpdateLockFile) args.push("--no-update-lock-file");
  // Evaluating a flake whose lock lacks an input locks it in memory and would write flake.lock;
  // Ternix decides what the lock file holds, so its evaluations never write it.
  if (options.noWriteLockFile) args.push("--no-write-lock-file");
  args.push(installable);
  if (apply !== undefined) args.push("--apply", apply);
  return args;
}

/**
 * The flake at exactly one commit of a local git repository (`ternix upgrade`'s clone):
 * `git+file:///clone?ref=BRANCH&rev=SHA[&dir=SUB]`. Path segments are percent-encoded.
 */
export function gitRevisionFlakeRef(repo: string, ref: string, rev: string, dir: string): string {
  requireAbsolute("repository", repo);
  if (!/^[0-9a-f]{40}$/.test(rev)) throw new Error(`not a full commit id: ${JSON.stringify(rev)}`);
  const path = repo.split("/").map(encodeURIComponent).join("/");
  const query = new URLSearchParams({ ref, rev });
  const sub = dir.replace(/^\/+|\/+$/g, "");
  if (sub !== "") query.set("dir", sub);
  return `git+file://${path}?${query.toString()}`;
}

/**
 * The installable naming all outputs of a derivation file.
 * Nix 2.13 added `DRV^*`; from 2.15 a bare `.drv` means the file itself, so the suffix is required there.
 */
export function drvInstallable(caps: NixCapabilities, drvPath: string): string {
  return caps.drvOutputSyntax ? `${drvPath}^*` : drvPath;
}

export interface BuildOptions {
  /** Out-link base path; Nix adds `-1`, `-2`… for further outputs. Without it: `--no-link`. */
  outLink?: string | undefined;
  /** Build everything that can be built even when some derivations fail. */
  keepGoing?: boolean | undefined;
}

/**
 * Build installables and print their outputs. `--print-out-paths` (Nix 2.9) would be lighter, but
 * `--json` exists on every supported version and also names the derivation, so it is used throughout;
 * `parseBuildOutput` reads both forms.
 */
export function buildArgs(installables: readonly string[], options: BuildOptions = {}): string[] {
  const args = ["build", "--json"];
  if (options.outLink !== undefined) args.push("--out-link", options.outLink);
  else args.push("--no-link");
  if (options.keepGoing) args.push("--keep-going");
  args.push(...installables);
  return args;
}

/** What building would do, without building: stderr lists derivations to build and paths to fetch. */
export function buildDryRunArgs(installables: readonly string[]): string[] {
  return ["build", "--dry-run", "--no-link", ...installables];
}

/** The lighter form used for a single build whose derivation we don't need. */
export function buildOutPathsArgs(caps: NixCapabilities, installables: readonly string[]): string[] {
  if (!caps.printOutPaths) return buildArgs(installables);
  return ["build", "--no-link", "--print-out-paths", ...installables];
}

export interface PathInfoOptions {
  recursive?: boolean | undefined;
  closureSize?: boolean | undefined;
}

/** Store path metadata (NAR size, references) as JSON; one call for a whole closure with `recursive`. */
export function pathInfoArgs(paths: readonly string[], options: PathInfoOptions = {}): string[] {
  const args = ["path-info", "--json"];
  if (options.recursive) args.push("--recursive");
  if (options.closureSize) args.push("--closure-size");
  args.push(...paths);
  return args;
}

/**
 * `nix derivation show` (Nix 2.15) replaced `nix show-derivation`; `recursive` prints the whole
 * derivation closure in the same call (both spell it `--recursive`).
 */
export function derivationShowArgs(
  caps: NixCapabilities,
  installables: readonly string[],
  options: { recursive?: boolean } = {},
): string[] {
  return [
    ...(caps.derivationShow ? ["derivation", "show"] : ["show-derivation"]),
    ...(options.recursive ? ["--recursive"] : []),
    ...installables,
  ];
}

/** Nix's own closure diff, used by benchmarks and cross-checks. */
export function diffClosuresArgs(before: string, after: string): string[] {
  return ["store", "diff-closures", before, after];
}

/** Run-time references of a store path's whole closure, as `nix-store` prints them (one per line). */
export function nixStoreRequisitesArgs(paths: readonly string[]): string[] {
  return ["--query", "--requisites", ...paths];
}

/**
 * `nix copy --to STORE PATHS…` (closures included). `--no-check-sigs`: locally built paths carry no
 * signature; the receiving daemon still refuses unsigned paths from a user it does not trust (as
 * `nix-copy-closure` relies on). Same flags on 2.8 and 2.24.
 */
export function copyToArgs(storeUri: string, paths: readonly string[]): string[] {
  if (paths.length === 0) throw new Error("no paths to copy");
  return ["copy", "--no-check-sigs", "--to", storeUri, ...paths.map((p) => requireAbsolute("store path", p))];
}

// ---------------------------------------------------------------------------------------------
// Profiles and garbage collection: `nix-env` / `nix-store` on every supported version (the `nix
// profile` command manages a different, incompatible profile format and cannot drive NixOS's
// system profile).

function requireAbsolute(what: string, path: string): string {
  // An absolute path can never be mistaken for an option, whatever else it contains.
  if (!path.startsWith("/")) throw new Error(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

function generationNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a generation number: ${n}`);
  return String(n);
}

/** `nix-env --profile P --set PATH`: a new generation of P pointing at PATH (what nixos-rebuild does). */
export function profileSetArgs(profile: string, storePath: string): string[] {
  return [
    "--profile",
    requireAbsolute("profile", profile),
    "--set",
    requireAbsolute("store path", storePath),
  ];
}

/** `nix-env --profile P --switch-generation N`: repoint P at an existing generation. */
export function profileSwitchGenerationArgs(profile: string, generation: number): string[] {
  return [
    "--profile",
    requireAbsolute("profile", profile),
    "--switch-generation",
    generationNumber(generation),
  ];
}

/** `nix-env --profile P --delete-generations N…`: remove generation links (never pass the current one). */
export function profileDeleteGenerationsArgs(profile: string, generations: readonly number[]): string[] {
  if (generations.length === 0) throw new Error("no generations to delete");
  return [
    "--profile",
    requireAbsolute("profile", profile),
    "--delete-generations",
    ...generations.map(generationNumber),
  ];
}

/** `nix-store --gc`: delete every store path no GC root reaches. */
export function storeGcArgs(): string[] {
  return ["--gc"];
}

/** `nix-store --optimise`: hard-link identical files in the store. */
export function storeOptimiseArgs(): string[] {
  return ["--optimise"];
}
