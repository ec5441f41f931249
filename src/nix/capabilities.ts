import { atLeast, type NixVersion } from "./version.js";

/**
 * What the installed Nix's command line can do. Every version difference Ternix relies on is decided
 * here, from the version, once; argument builders and output parsers take this table, never the version.
 */
export interface NixCapabilities {
  /** `nix path-info --json` prints an object keyed by store path; before: an array of `{ path, … }`. */
  pathInfoJsonObject: boolean;
  /**
   * `nix flake update [INPUT…] --flake REF`: positional arguments are input names and the flake goes in
   * `--flake`; before: `nix flake update REF` and `nix flake lock REF --update-input INPUT`.
   */
  flakeUpdateInputs: boolean;
  /** `nix build --print-out-paths`. */
  printOutPaths: boolean;
  /** Installables may name derivation outputs with `DRV^out` / `DRV^*`. */
  drvOutputSyntax: boolean;
  /** A bare `.drv` installable means the derivation file itself, not its outputs. */
  bareDrvIsDerivation: boolean;
  /** `nix derivation show`; before: `nix show-derivation`. */
  derivationShow: boolean;
  /** Installables can be read from stdin with `--stdin`. */
  installablesFromStdin: boolean;
  /**
   * Profiles of non-root users (the channels profile among them) live in `$XDG_STATE_HOME/nix/profiles`;
   * before: `/nix/var/nix/profiles/per-user/$USER`. Root's stay under the state directory.
   */
  profilesInStateHome: boolean;
  /** `--log-format internal-json`: the structured log that build progress is read from. */
  internalJsonLog: boolean;
}

type Capability = keyof NixCapabilities;

/** A version as [major, minor]; `undefined`: no release of that implementation has it. */
type Since = readonly [number, number] | undefined;

interface CapabilityRule {
  /** First CppNix release with the capability (also decides Determinate Nix, which reports its Nix version). */
  nix: Since;
  /** First Lix release with it: Lix forked from CppNix 2.18 and numbers its releases 2.90+. */
  lix: Since;
  /** Where the change is documented. */
  source: string;
}

/**
 * Rules as data: from which version each capability holds, per implementation. Determinate Nix
 * (3.x) prints the CppNix version it is built on (`nix (Determinate Nix 3.6.2) 2.29.0`) and follows
 * CppNix's CLI, so the `nix` column decides it.
 *
 * Lix (2.90 "Vanilla Ice Cream", 2024-07) forked from CppNix 2.18 (Lix 2.90 release announcement),
 * so everything CppNix had by 2.18 holds from Lix 2.90. Of the 2.19 changes, Lix 2.90 took the
 * `nix flake update` overhaul (its release notes, "Breaking Changes": NixOS/nix#8817, `--flake` and
 * input names) but not the `path-info --json` object: Lix still prints the array (reported for
 * "current Lix" in NixOS/nix#13413, 2025-07).
 */
export const CAPABILITY_RULES: Readonly<Record<Capability, CapabilityRule>> = {
  pathInfoJsonObject: {
    nix: [2, 19],
    lix: undefined,
    source: "Nix 2.19 release notes: `nix path-info --json` returns a map keyed by store path",
  },
  flakeUpdateInputs: {
    nix: [2, 19],
    lix: [2, 90],
    source:
      "Nix 2.19 and Lix 2.90 release notes (NixOS/nix#8817): `nix flake update` takes input names, `--flake` names the flake",
  },
  printOutPaths: { nix: [2, 9], lix: [2, 90], source: "Nix 2.9 release notes, NixOS/nix#6259" },
  drvOutputSyntax: { nix: [2, 13], lix: [2, 90], source: "Nix 2.13 release notes: `DRV^out` installables" },
  bareDrvIsDerivation: {
    nix: [2, 15],
    lix: [2, 90],
    source: "Nix 2.15 release notes: a bare `.drv` installable is the derivation itself",
  },
  derivationShow: { nix: [2, 15], lix: [2, 90], source: "Nix 2.15 release notes: `nix derivation show`" },
  installablesFromStdin: {
    nix: [2, 15],
    lix: [2, 90],
    source: "Nix 2.15 release notes: `--stdin` for installables",
  },
  profilesInStateHome: {
    nix: [2, 14],
    lix: [2, 90],
    source: "Nix 2.14 release notes: user profiles move to $XDG_STATE_HOME/nix/profiles",
  },
  internalJsonLog: {
    // Older than the oldest Nix Ternix supports; Lix kept it from CppNix 2.18.
    nix: [2, 8],
    lix: [2, 90],
    source:
      "recorded from Nix 2.8.0 and 2.24.15 (testdata/build-internal-json-*): same actions, 2.24 adds `parent`",
  },
};

function holds(rule: CapabilityRule, version: NixVersion): boolean {
  const since = version.implementation === "lix" ? rule.lix : rule.nix;
  return since !== undefined && atLeast(version, since[0], since[1]);
}

export function capabilitiesFor(version: NixVersion): NixCapabilities {
  const caps = {} as Record<Capability, boolean>;
  for (const [name, rule] of Object.entries(CAPABILITY_RULES) as [Capability, CapabilityRule][]) {
    caps[name] = holds(rule, version);
  }
  return caps;
}
