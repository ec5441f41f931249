import type { Config } from "./config.js";

/** `[nix] options` then `--nix-option` flags, as `--option NAME VALUE` pairs (flags win: they come last). */
export function nixOptionPairs(
  config: Config,
  extra: readonly (readonly [string, string])[] = [],
): [string, string][] {
  return [
    ...Object.entries(config.nix.options).map(([k, v]) => [k, String(v)] as [string, string]),
    ...extra.map(([k, v]) => [k, v] as [string, string]),
  ];
}
