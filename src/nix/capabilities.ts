import { atLeast, type NixVersion } from "./version.js";

/**
 * What the installed Nix's command line can do. Every version difference Ternix relies on is decided
 * here, from the version, once; argument builders and output parsers take this table, never the version.
 */
export interface NixCapabilities {
  /** `nix path-info --json` prints an object keyed by store path (Nix 2.19, NixOS/nix#9242); before: an array. */
  pathInfoJsonObject: boolean;
  /** `nix flake update INPUT…` (Nix 2.19); before: `nix flake lock --update-input INPUT`. */
  flakeUpdateInputs: boolean;
  /** `nix build --print-out-paths` (Nix 2.9). */
  printOutPaths: boolean;
  /** Installables may name derivation outputs with `DRV^out` / `DRV^*` (Nix 2.13). */
  drvOutputSyntax: boolean;
  /** A bare `.drv` installable means the derivation file itself, not its outputs (Nix 2.15). */
  bareDrvIsDerivation: boolean;
  /** `nix derivation show` (Nix 2.15); before: `nix show-derivation`. */
  derivationShow: boolean;
  /** Installables can be read from stdin with `--stdin` (Nix 2.15). */
  installablesFromStdin: boolean;
}

export function capabilitiesFor(version: NixVersion): NixCapabilities {
  // Lix forked from CppNix 2.18 and reports its own version (2.90+); treat it as 2.18 for the
  // CppNix-numbered changes that came after the fork. Lix kept `path-info --json` as an array and still
  // accepts `flake lock --update-input`, so the conservative choice works on every Lix release.
  const like = version.implementation === "lix" ? { major: 2, minor: 18 } : version;
  return {
    pathInfoJsonObject: atLeast(like, 2, 19),
    flakeUpdateInputs: atLeast(like, 2, 19),
    printOutPaths: atLeast(like, 2, 9),
    drvOutputSyntax: atLeast(like, 2, 13),
    bareDrvIsDerivation: atLeast(like, 2, 15),
    derivationShow: atLeast(like, 2, 15),
    installablesFromStdin: atLeast(like, 2, 15),
  };
}
