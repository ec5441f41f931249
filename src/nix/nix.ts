/**
 * The Nix adapter: the only code that runs `nix`. It detects the version once, builds argument arrays
 * with the pure builders in args.ts, and parses output with schemas.ts. Failures become `NixError`
 * with the argv and the stderr tail.
 */
import { NixError, TernixError } from "../errors.js";
import { CommandNotFoundError, type Run, type RunOptions, type RunResult } from "../proc/run.js";
import {
  buildArgs,
  buildDryRunArgs,
  copyToArgs,
  derivationShowArgs,
  diffClosuresArgs,
  drvInstallable,
  evalJsonArgs,
  flakeLockArgs,
  flakeUpdateArgs,
  globalArgs,
  pathInfoArgs,
  realiseArgs,
  storeSignArgs,
  type BuildOptions,
  type NixGlobalOptions,
} from "./args.js";
import { parseDerivationShow, type Derivation } from "./derivation.js";
import { createPlainLog, parseNixLogLine, type NixLogEvent } from "./internal-log.js";
import { parseDryRun, type DryRun } from "./dry-run.js";
import { capabilitiesFor, type NixCapabilities } from "./capabilities.js";
import {
  parseBuildOutput,
  parsePathInfoJson,
  unmatchedInputWarning,
  type BuildResult,
  type StorePathInfo,
} from "./schemas.js";
import { storeDatabaseFor, type StoreDatabase } from "./store-db-reader.js";
import { atLeast, formatNixVersion, MINIMUM_NIX, parseNixVersion, type NixVersion } from "./version.js";

export const INSTALL_HINT =
  "Install Nix 2.8 or newer: on NixOS it is already there; on Debian/Ubuntu `apt-get install -y nix-bin`; elsewhere see https://nixos.org/download.";

export interface NixAdapterOptions {
  run: Run;
  env: NodeJS.ProcessEnv;
  global?: NixGlobalOptions | undefined;
  /** The `nix` executable; `nix-store` is looked up next to it by name. */
  nixBin?: string | undefined;
  /** Streams Nix's stderr lines (build progress) to the caller. */
  onStderrLine?: ((line: string) => void) | undefined;
  /**
   * Where closures are read from before asking `nix path-info`; by default the database of the store
   * these options and this environment select (`null`: never read it).
   */
  storeDatabase?: StoreDatabase | null | undefined;
}

export interface BuildOutcome {
  ok: boolean;
  results: BuildResult[];
  /** What Nix printed; for a structured build, the plain log rebuilt from it (internal-log.ts). */
  stderr: string;
  exitCode: number | null;
}

export interface StructuredBuildOptions {
  /**
   * Follow the build through Nix's structured log: every event, as it comes. `stderr` is then the
   * plain log Nix would have printed, and `onStderrLine` (--verbose) gets its lines.
   */
  onLog?: ((event: NixLogEvent) => void) | undefined;
}

export interface Nix {
  readonly version: NixVersion;
  readonly caps: NixCapabilities;
  /** Run `nix ARGS` with the global options; returns the result whatever the exit code. */
  call(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Run `nix ARGS` and throw `NixError(what)` on failure. */
  check(what: string, args: readonly string[], options?: RunOptions & { hint?: string }): Promise<RunResult>;
  flakeUpdate(flakeRef: string, inputs: readonly string[], cwd?: string): Promise<void>;
  flakeLock(flakeRef: string, cwd?: string): Promise<void>;
  evalJson(installable: string, apply?: string, options?: RunOptions): Promise<unknown>;
  drvInstallable(drvPath: string): string;
  build(
    installables: readonly string[],
    options?: BuildOptions & RunOptions & StructuredBuildOptions,
  ): Promise<BuildOutcome>;
  pathInfo(
    paths: readonly string[],
    options?: { recursive?: boolean; closureSize?: boolean },
  ): Promise<StorePathInfo[]>;
  /**
   * Every path in the closures of `roots` with its NAR size and references (an invalid root comes
   * back with `valid: false`): from the store database when it can answer, else one
   * `nix path-info --recursive` call. Both give the same result.
   */
  closurePathInfo(roots: readonly string[]): Promise<StorePathInfo[]>;
  readonly storeDatabase: StoreDatabase | undefined;
  diffClosures(before: string, after: string): Promise<string>;
  /** What building `installables` would do: derivations built locally, paths downloaded. */
  dryRun(installables: readonly string[]): Promise<DryRun>;
  /** The derivations themselves (not their closures), in one call. */
  derivations(drvPaths: readonly string[]): Promise<Map<string, Derivation>>;
  /** Every derivation in the closures of `drvPaths` (.drv files), in one call. */
  derivationClosure(drvPaths: readonly string[]): Promise<Map<string, Derivation>>;
  /** Sign the closures of `paths` in the local store with the secret key in `keyFile`. */
  sign(keyFile: string, paths: readonly string[]): Promise<void>;
  /** Copy the closures of `paths` to the store at `storeUri`, in one call. */
  copyTo(storeUri: string, paths: readonly string[]): Promise<void>;
  /**
   * Make `storePath` valid (substituting it from the configured caches), rooted at `root`;
   * the result whatever the exit code (a path no cache has, or signs with a trusted key, fails).
   */
  realise(storePath: string, root: string): Promise<RunResult>;
  /** Run `nix-store ARGS` (profiles, roots and GC are still nix-store/nix-env territory on every version). */
  nixStore(what: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  nixEnv(what: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Run `nix-instantiate ARGS` (channel-based systems: `<nixpkgs/nixos>` from NIX_PATH). */
  nixInstantiate(what: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Run `nix --version` and check it is supported. */
export async function detectNixVersion(
  run: Run,
  env: NodeJS.ProcessEnv,
  nixBin = "nix",
): Promise<NixVersion> {
  let result: RunResult;
  try {
    result = await run(nixBin, ["--version"], { env });
  } catch (error) {
    if (error instanceof CommandNotFoundError) {
      throw new TernixError("Nix is not installed (no `nix` on PATH).", { hint: INSTALL_HINT, cause: error });
    }
    throw error;
  }
  const version = result.exitCode === 0 ? parseNixVersion(result.stdout) : undefined;
  if (!version) {
    throw new NixError(
      "could not tell which Nix is installed",
      result.argv,
      result.exitCode,
      result.stderr + result.stdout,
      {
        hint: INSTALL_HINT,
      },
    );
  }
  if (!atLeast(version, MINIMUM_NIX.major, MINIMUM_NIX.minor)) {
    throw new TernixError(`${formatNixVersion(version)} is too old; Ternix needs Nix 2.8 or newer.`, {
      hint: INSTALL_HINT,
    });
  }
  return version;
}

export async function createNix(options: NixAdapterOptions): Promise<Nix> {
  const nixBin = options.nixBin ?? "nix";
  const version = await detectNixVersion(options.run, options.env, nixBin);
  return nixAdapter(version, options);
}

/** Build the adapter for a known version (tests pass recorded versions). */
export function nixAdapter(version: NixVersion, options: NixAdapterOptions): Nix {
  const nixBin = options.nixBin ?? "nix";
  const siblingBin = (name: string) => (nixBin.includes("/") ? nixBin.replace(/[^/]*$/, name) : name);
  const caps = capabilitiesFor(version);
  const global = globalArgs(options.global ?? { options: [] });
  const storeDatabase =
    options.storeDatabase === null
      ? undefined
      : (options.storeDatabase ?? storeDatabaseFor(options.global?.options ?? [], options.env));
  const withDefaults = (o: RunOptions = {}): RunOptions => ({
    env: options.env,
    onStderrLine: options.onStderrLine,
    ...o,
  });

  const call: Nix["call"] = (args, o) => options.run(nixBin, [...global, ...args], withDefaults(o));

  const check: Nix["check"] = async (what, args, o = {}) => {
    const result = await call(args, o);
    if (result.exitCode !== 0) throw nixFailure(what, result, o.hint);
    return result;
  };

  // nix-store/nix-env take `--option` but not `--extra-experimental-features` on old versions' CLI.
  const legacyGlobal = global.slice(2);
  const legacy = async (bin: string, what: string, args: readonly string[], o?: RunOptions) => {
    const result = await options.run(siblingBin(bin), [...legacyGlobal, ...args], withDefaults(o));
    if (result.exitCode !== 0) throw nixFailure(what, result);
    return result;
  };

  const pathInfo: Nix["pathInfo"] = async (paths, o = {}) => {
    if (paths.length === 0) return [];
    const result = await check("querying store paths failed", pathInfoArgs(paths, o));
    return parsePathInfoJson(result.stdout);
  };

  return {
    version,
    caps,
    call,
    check,
    async flakeUpdate(flakeRef, inputs, cwd) {
      const result = await check(
        `updating the flake inputs failed`,
        flakeUpdateArgs(caps, flakeRef, inputs),
        {
          cwd,
        },
      );
      const unmatched = unmatchedInputWarning(result.stderr);
      if (unmatched !== undefined) {
        throw new NixError(
          `updating the flake inputs failed: ${unmatched.replace(/^warning:\s*/, "")}`,
          result.argv,
          result.exitCode,
          result.stderr,
          {
            hint: `Nix ignored an input name, so nothing was updated; this Nix (${formatNixVersion(version)}) may take other arguments than Ternix passed. Please report it with \`nix --version\`.`,
          },
        );
      }
    },
    async flakeLock(flakeRef, cwd) {
      await check(`locking the flake failed`, flakeLockArgs(flakeRef), { cwd });
    },
    async evalJson(installable, apply, o) {
      const result = await check(`evaluating ${installable} failed`, evalJsonArgs(installable, apply), o);
      return JSON.parse(result.stdout) as unknown;
    },
    drvInstallable: (drvPath) => drvInstallable(caps, drvPath),
    async build(installables, o = {}) {
      const { onLog, ...rest } = o;
      const structured = onLog !== undefined && caps.internalJsonLog;
      const plain = createPlainLog();
      const result = await call(
        buildArgs(installables, { ...rest, structuredLog: structured }),
        structured
          ? {
              ...rest,
              // Every build's output passes through here: read it line by line, keep none of it.
              keepStderr: false,
              onStderrLine: (line) => {
                const event = parseNixLogLine(line);
                if (event === undefined) return;
                for (const text of plain.feed(event)) options.onStderrLine?.(text);
                onLog(event);
              },
            }
          : rest,
      );
      const ok = result.exitCode === 0;
      return {
        ok,
        results: ok ? parseBuildOutput(result.stdout) : [],
        stderr: structured ? plain.text() : result.stderr,
        exitCode: result.exitCode,
      };
    },
    pathInfo,
    storeDatabase,
    async closurePathInfo(roots) {
      if (roots.length === 0) return [];
      return (await storeDatabase?.closures(roots)) ?? pathInfo(roots, { recursive: true });
    },
    async diffClosures(before, after) {
      return (await check("nix store diff-closures failed", diffClosuresArgs(before, after))).stdout;
    },
    async dryRun(installables) {
      const result = await check("asking Nix what the build would do failed", buildDryRunArgs(installables));
      return parseDryRun(result.stderr);
    },
    async derivations(drvPaths) {
      if (drvPaths.length === 0) return new Map();
      const result = await check("reading the derivations failed", derivationShowArgs(caps, drvPaths));
      return parseDerivationShow(result.stdout);
    },
    async derivationClosure(drvPaths) {
      if (drvPaths.length === 0) return new Map();
      const result = await check(
        "reading the derivations failed",
        derivationShowArgs(caps, drvPaths, { recursive: true }),
      );
      return parseDerivationShow(result.stdout);
    },
    async sign(keyFile, paths) {
      if (paths.length === 0) return;
      await check("signing the store paths failed", storeSignArgs(keyFile, paths), {
        hint: "Check that --sign-key names a secret key made by `nix-store --generate-binary-cache-key` and that you may sign paths in this store (a trusted user of the Nix daemon).",
      });
    },
    async copyTo(storeUri, paths) {
      if (paths.length === 0) return;
      await check(`copying the systems to ${storeUri} failed`, copyToArgs(storeUri, paths), {
        hint: "Check the store URI (e.g. file:///srv/cache, s3://bucket, ssh://host) and that you may write there; run with --verbose for Nix's output.",
      });
    },
    realise: (storePath, root) =>
      options.run(
        siblingBin("nix-store"),
        [...legacyGlobal, ...realiseArgs(storePath, root)],
        withDefaults(),
      ),
    nixStore: (what, args, o) => legacy("nix-store", what, args, o),
    nixEnv: (what, args, o) => legacy("nix-env", what, args, o),
    nixInstantiate: (what, args, o) => legacy("nix-instantiate", what, args, o),
  };
}

function nixFailure(what: string, result: RunResult, hint?: string): NixError {
  const firstError = result.stderr
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("error:"));
  const message = firstError ? `${what}: ${firstError.replace(/^error:\s*/, "")}` : what;
  return new NixError(message, result.argv, result.exitCode, result.stderr, {
    hint: hint ?? "Run with --verbose to see Nix's output.",
  });
}
