import { UsageError } from "../errors.js";
import type { Config } from "./config.js";

/**
 * `[nix] options` a ternix.toml may set without `--trust-config`: a checked-out repository is not
 * trusted to run code, and options such as `post-build-hook`, `build-hook`, `substituters` with
 * `trusted-public-keys`, `sandbox` or `allow-import-from-derivation` would let it run commands or
 * accept store paths as the user (root on a host). The list follows Nix's own notion of harmless
 * settings: what the daemon accepts from untrusted clients (build-timeout, max-silent-time,
 * max-build-log-size, connect-timeout; src/libstore/daemon.cc) and what a flake's `nixConfig` may set
 * without `accept-flake-config` (bash-prompt*, commit-lock-file-summary; not flake-registry, which
 * changes what flake references mean), plus resource limits and retry and cache timing, which only
 * change how fast or how verbosely Nix works.
 */
const SAFE_CONFIG_NIX_OPTIONS: ReadonlySet<string> = new Set([
  "cores",
  "max-jobs",
  "build-timeout",
  "timeout",
  "max-silent-time",
  "max-build-log-size",
  "log-lines",
  "keep-going",
  "fallback",
  "substitute",
  "builders-use-substitutes",
  "connect-timeout",
  "stalled-download-timeout",
  "download-attempts",
  "http-connections",
  "narinfo-cache-negative-ttl",
  "narinfo-cache-positive-ttl",
  "tarball-ttl",
  "warn-dirty",
  "bash-prompt",
  "bash-prompt-prefix",
  "bash-prompt-suffix",
  "commit-lock-file-summary",
  "commit-lockfile-summary",
]);

/**
 * `[nix] options` then `--nix-option` flags, as `--option NAME VALUE` pairs (flags win: they come
 * last). Options from the file outside SAFE_CONFIG_NIX_OPTIONS need `trustConfig` (--trust-config);
 * flags are unrestricted: the user typed them.
 */
export function nixOptionPairs(
  config: Config,
  extra: readonly (readonly [string, string])[] = [],
  { trustConfig = false }: { trustConfig?: boolean } = {},
): [string, string][] {
  const fromConfig = Object.entries(config.nix.options);
  const unsafe = fromConfig.map(([name]) => name).filter((name) => !SAFE_CONFIG_NIX_OPTIONS.has(name));
  if (!trustConfig && unsafe.length > 0) {
    const names = unsafe.map((name) => JSON.stringify(name)).join(", ");
    throw new UsageError(
      `ternix.toml [nix] options sets ${names}, which Ternix passes to Nix only with --trust-config.`,
      {
        hint: `Options that can run commands or change what Nix trusts need your review: read ternix.toml, then pass --trust-config (or give the option yourself with --nix-option). Allowed without it: docs/config.md.`,
      },
    );
  }
  return [
    ...fromConfig.map(([k, v]) => [k, String(v)] as [string, string]),
    ...extra.map(([k, v]) => [k, v] as [string, string]),
  ];
}
