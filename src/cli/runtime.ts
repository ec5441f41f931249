/** What every command gets: output, effects, and lazily created Nix and git adapters. */
import { Cleanup } from "../app/cleanup.js";
import { closureCacheDir, fileClosureCache } from "../app/closure-cache.js";
import type { Effects } from "../app/effects.js";
import { storeScannerFor, type StorePathScanner } from "../app/store-scan.js";
import type { Config } from "../config/config.js";
import { nixOptionPairs } from "../config/nix-options.js";
import { DEFAULT_SECRET_SCAN_LIMITS } from "../closure/secrets.js";
import { UsageError } from "../errors.js";
import { createGit, type Git } from "../git/git.js";
import { createNix, type Nix } from "../nix/nix.js";
import { storeDatabaseFor, type StoreDatabase } from "../nix/store-db-reader.js";
import { run } from "../proc/run.js";
import { createOutput, type Output } from "./output.js";

export interface GlobalOptions {
  verbose?: boolean;
  color?: boolean;
  nixOption?: string[];
  trustConfig?: boolean;
}

export interface Runtime {
  output: Output;
  effects: Effects;
  git: Git;
  cwd: string;
  config(flakeDir: string): Promise<Config>;
  /** The Nix adapter, with the flake's configured options; the version is detected once. */
  nix(config?: Config): Promise<Nix>;
  /** The database of the store `nix(config)` uses, when it is a local one (read without starting Nix). */
  storeDatabase(config?: Config): StoreDatabase | undefined;
  /** Reads store paths for the secret scan, for the store Nix uses; undefined when it is elsewhere. */
  storeScanner(config?: Config): StorePathScanner | undefined;
}

export function parseNixOptionFlags(values: readonly string[] = []): [string, string][] {
  return values.map((value) => {
    const eq = value.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`--nix-option ${JSON.stringify(value)} is not NAME=VALUE.`, {
        hint: "E.g. --nix-option cores=4",
      });
    return [value.slice(0, eq), value.slice(eq + 1)];
  });
}

export function createRuntime(options: GlobalOptions, cleanup: Cleanup = new Cleanup()): Runtime {
  const env = process.env;
  const output = createOutput({ verbose: options.verbose ?? false, color: options.color }, env);
  const cacheDir = closureCacheDir(env);
  const effects: Effects = {
    run,
    now: () => new Date(),
    onEvent: (event) => output.event(event),
    env,
    cleanup,
    closureCache: cacheDir === undefined ? undefined : fileClosureCache(cacheDir),
  };
  const flagOptions = parseNixOptionFlags(options.nixOption);
  const scanners = new Map<string, StorePathScanner | undefined>();
  const storeScanner = (config?: Config) => {
    const pairs = config
      ? nixOptionPairs(config, flagOptions, { trustConfig: options.trustConfig ?? false })
      : flagOptions;
    const key = JSON.stringify(pairs);
    if (!scanners.has(key)) scanners.set(key, storeScannerFor(pairs, env, DEFAULT_SECRET_SCAN_LIMITS));
    return scanners.get(key);
  };
  effects.scanStore = storeScanner();
  const nixCache = new Map<string, Promise<Nix>>();
  const databases = new Map<string, StoreDatabase | undefined>();
  const pairsOf = (config?: Config) =>
    config ? nixOptionPairs(config, flagOptions, { trustConfig: options.trustConfig ?? false }) : flagOptions;
  const storeDatabase = (config?: Config) => {
    const pairs = pairsOf(config);
    const key = JSON.stringify(pairs);
    if (!databases.has(key)) databases.set(key, storeDatabaseFor(pairs, env));
    return databases.get(key);
  };
  return {
    output,
    effects,
    git: createGit(run, env),
    cwd: process.cwd(),
    // Loaded on first use: the schema library is not needed by commands that read no config.
    config: async (flakeDir) => (await import("../config/config.js")).loadConfig(flakeDir),
    storeDatabase,
    storeScanner,
    nix(config) {
      const pairs = pairsOf(config);
      const key = JSON.stringify(pairs);
      let nix = nixCache.get(key);
      if (!nix) {
        nix = createNix({
          run,
          env,
          global: { options: pairs },
          storeDatabase: storeDatabase(config) ?? null,
          onStderrLine: output.verbose ? (line) => output.debug(line) : undefined,
        });
        nixCache.set(key, nix);
      }
      return nix;
    },
  };
}
