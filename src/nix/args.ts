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
  /**
   * Nix's structured log on stderr (`--log-format internal-json`, capability `internalJsonLog`) with
   * `-v`, as nix-output-monitor asks for it: build, download and progress activities to follow.
   */
  structuredLog?: boolean | undefined;
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
  if (options.structuredLog) args.push("--log-format", "internal-json", "-v");
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

/**
 * `nix store sign --key-file FILE --recursive PATHS`: sign the closures in the local store, so any
 * store they are copied to carries the signatures. The key is read from the file by Nix: only its
 * path is an argument, never the key.
 */
export function storeSignArgs(keyFile: string, paths: readonly string[]): string[] {
  return [
    "store",
    "sign",
    "--key-file",
    requireAbsolute("signing key file", keyFile),
    "--recursive",
    ...paths,
  ];
}

/** `nix copy --to URI PATHS`: copy the closures to another store (a binary cache), in one call. */
export function copyToArgs(storeUri: string, paths: readonly string[]): string[] {
  return ["copy", "--to", storeUri, ...paths.map((p) => requireAbsolute("store path", p))];
}

/**
 * `nix-store --realise PATH --add-root ROOT --indirect`: make a store path valid, substituting it
 * (and its closure) from the configured substituters, whose signatures Nix checks; rooted at ROOT.
 */
export function realiseArgs(storePath: string, root: string): string[] {
  return [
    "--realise",
    requireAbsolute("store path", storePath),
    "--add-root",
    requireAbsolute("GC root", root),
    "--indirect",
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
 * `nix copy --no-check-sigs --to ssh-ng://… PATHS…`: systems onto a deploy target (closures
 * included). Locally built paths carry no signature; the target's daemon still refuses unsigned
 * paths from a user it does not trust (as `nix-copy-closure` relies on). Same flags on 2.8 and 2.24.
 */
export function copyToHostArgs(
  storeUri: string,
  paths: readonly string[],
  options: { derivation?: boolean } = {},
): string[] {
  if (paths.length === 0) throw new Error("no paths to copy");
  if (options.derivation && !paths.every((p) => p.endsWith(".drv")))
    throw new Error("--derivation copies .drv files only");
  return [
    "copy",
    // The derivations and their sources, never their outputs: the target builds them (build-on =
    // "target"). Needed on Nix 2.8, where a bare .drv installable means its outputs (it would build
    // them here); on 2.15+ a bare .drv is the file itself and --derivation keeps it so. Recorded on
    // 2.8.0 and 2.24: only the .drv is copied, nothing is built.
    ...(options.derivation ? ["--derivation"] : []),
    "--no-check-sigs",
    "--to",
    storeUri,
    ...paths.map((p) => requireAbsolute("store path", p)),
  ];
}

/**
 * `nix-store [--store STORE] --realise DRV`, run ON a deploy target (build-on = "target"): build a
 * derivation whose closure was copied there, with the target's own builders and substituters. The
 * same on every supported version (the target's Nix may differ from ours). `store`: the store on the
 * target that `nix copy` filled (`remote-store`), default its own.
 */
export function remoteRealiseArgs(drvPath: string, store?: string): string[] {
  if (!drvPath.endsWith(".drv")) throw new Error(`not a derivation: ${JSON.stringify(drvPath)}`);
  return [
    ...(store === undefined || store === "" ? [] : ["--store", store]),
    "--realise",
    requireAbsolute("derivation", drvPath),
  ];
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

/** `nix-store --gc --print-roots`: every GC root as `LINK -> TARGET` (read-only). */
export function storePrintRootsArgs(): string[] {
  return ["--gc", "--print-roots"];
}

/**
 * `nix store ping`: the store URL and, for a daemon, its Nix version. Nix 2.19 renamed it
 * `nix store info` and keeps `ping` as an alias (with a warning on stderr), so one command line
 * serves every version; only the output grew (a `Trusted:` line), see parseStorePing.
 */
export function storePingArgs(): string[] {
  return ["store", "ping"];
}
