/**
 * The closure model: what a caller hands the engine (a root and its closure's path infos, plus facts
 * read from a NixOS toplevel) and what the engine hands back (a package-level diff with risk flags).
 * Everything here is plain data: it is serialisable and has no behaviour.
 */

import type { SecretScan } from "./secrets.js";

/** One store path of a closure, as `nix path-info --json --recursive` reports it. */
export interface StorePathInfo {
  path: string;
  narSize: number;
  references: string[];
}

/**
 * Facts a caller read from a NixOS toplevel directory (`$toplevel/<file>`), all optional. The risk
 * rules prefer these over guesses from package names.
 */
export interface SystemFacts {
  /** Store path the toplevel's `kernel` symlink points to, e.g. `/nix/store/…-linux-6.6.63/bzImage`. */
  kernel?: string;
  /** Store path the toplevel's `initrd` symlink points to. */
  initrd?: string;
  /** Contents of the toplevel's `kernel-params` file. */
  kernelParams?: string;
  /** Contents of the toplevel's `nixos-version` file, e.g. `24.11.20241201.1e3deb3`. */
  nixosVersion?: string;
  /** Parsed `boot.json` (bootspec); only `org.nixos.bootspec.v1` kernel/initrd/kernelParams are read. */
  bootJson?: unknown;
  /** Whatever the caller reads as the generation's reboot triggers; compared as an opaque string. */
  rebootTriggers?: string;
  /** Store path of the toplevel's `sw` (the `system-path` derivation). */
  swPath?: string;
}

export interface ClosureInput {
  /** The closure's root, e.g. a NixOS toplevel `/nix/store/…-nixos-system-web-24.11.20241201.1e3deb3`. */
  root: string;
  /** Every path of the root's closure, the root included. */
  paths: StorePathInfo[];
  system?: SystemFacts;
}

/**
 * How a package changed between the two closures. A package is all store paths with one `pname`.
 *
 * - `upgraded` / `downgraded`: the versions that disappeared and the versions that appeared are
 *   equally many, and pairing them in order, each new one is greater (resp. smaller) than the old one
 *   by Nix's `compareVersions`. Versions present on both sides are ignored.
 * - `changed`: the version sets differ without such an order (e.g. one version replaced by two, a
 *   second version added next to the first, a mix of ups and downs).
 * - `added` / `removed`: the package exists on one side only.
 * - `rebuilt`: same version set, different store paths.
 * - `unchanged`: same versions and paths; listed only when its selection state changed.
 */
export type ChangeKind =
  "upgraded" | "downgraded" | "changed" | "added" | "removed" | "rebuilt" | "unchanged";

/**
 * nvd's selection marker. A package is selected when a store path with its pname is a direct
 * reference of the system's `sw` (that is, listed in `environment.systemPackages`).
 * `*` selected before and after, `+` newly selected, `-` no longer selected, `.` selected on neither side.
 */
export type SelectionMarker = "*" | "+" | "-" | ".";

/** One side of a package: its versions, store paths and their total NAR size. */
export interface PackageSide {
  /** Distinct versions, ascending by `compareVersions`; "" stands for "no version". */
  versions: string[];
  /** Store paths, sorted. */
  paths: string[];
  narSize: number;
}

export interface PackageChange {
  /** The package name (`pname`). */
  name: string;
  kind: ChangeKind;
  selection: SelectionMarker;
  selectedBefore: boolean;
  selectedAfter: boolean;
  before: PackageSide;
  after: PackageSide;
  /** after.narSize − before.narSize. */
  sizeDelta: number;
}

export interface ClosureSide {
  root: string;
  /** Parsed name of the root, e.g. pname `nixos-system-web`, version `24.11.20241201.1e3deb3`. */
  rootName: string;
  rootVersion: string;
  /** Number of distinct store paths in the closure (root included). */
  paths: number;
  /** Total NAR size of the closure in bytes. */
  narSize: number;
  /** The `sw` path whose references define selected packages, if one was found. */
  swPath?: string;
  /** Where selected packages came from: the `sw` path's references, or the root's (nvd's fallback). */
  selectedFrom: "sw" | "root";
  /** Versions of the kernel packages (`linux`, …) in the closure, ascending. */
  kernelVersions: string[];
  system?: SystemFacts;
}

export type RiskSeverity = "reboot" | "test-first" | "caution" | "info";

export interface RiskFlag {
  /** Stable identifier, e.g. `kernel`, `initrd`, `kernel-params`, `driver`, `firmware`, `bootloader`. */
  id: string;
  severity: RiskSeverity;
  /** One line: what changed, e.g. `Kernel 6.6.63 -> 6.6.64`. */
  title: string;
  /** One or two sentences: why it matters and what to do. */
  reason: string;
  /** Packages that triggered the flag. */
  packages: string[];
  /** Where the evidence came from: NixOS's own toplevel files, or package names. */
  source: "system" | "packages";
}

export interface ClosureDiffCounts {
  upgraded: number;
  downgraded: number;
  changed: number;
  added: number;
  removed: number;
  rebuilt: number;
  /** Packages whose selection state changed while their versions did not. */
  selectionChanged: number;
}

export interface ClosureDiffSizes {
  pathsBefore: number;
  pathsAfter: number;
  /** Paths in the after closure that are not in the before closure. */
  pathsAdded: number;
  pathsRemoved: number;
  narSizeBefore: number;
  narSizeAfter: number;
  /** narSizeAfter − narSizeBefore: nvd's "disk usage" delta. */
  narSizeDelta: number;
}

export interface ClosureDiff {
  before: ClosureSide;
  after: ClosureSide;
  /**
   * Every package that changed, sorted by name: version changes, additions, removals, rebuilds, and
   * unchanged packages whose selection state changed. The roots themselves are not packages here.
   */
  packages: PackageChange[];
  counts: ClosureDiffCounts;
  sizes: ClosureDiffSizes;
  /** Risk flags, most severe first. */
  risks: RiskFlag[];
  needsReboot: boolean;
  /**
   * What scanning the after side's new store paths for secrets found (absent: not scanned, e.g.
   * `plan --no-build` or a store not on this machine).
   */
  secrets?: SecretScan | undefined;
}

/** What building a system will cost on this machine (from `nix build --dry-run`), for `plan`. */
export interface BuildCost {
  /** Derivations built locally, with their number of direct input derivations. */
  toBuild: { drvPath: string; inputDrvs: number }[];
  /** Paths downloaded from the substituters, and the download size. */
  fetchPaths: number;
  downloadBytes: number;
  /** A local build with at least this many direct input derivations counts as heavy. */
  heavyThreshold: number;
}
