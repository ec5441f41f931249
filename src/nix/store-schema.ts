/**
 * Changes a newer Nix makes to the store database the first time it opens it, which an older Nix
 * cannot read back: the NixOS manual's "you will not be able to go back to your original channel".
 * Rules as data: one row per change, with the first release that makes it. Pure.
 *
 * Lix forked from CppNix 2.18 and keeps its schema (its `local-store.hh`: "Lix started at 2.90, it
 * cannot ever go past version 10 (Nix 2.18)"), so a Lix version counts as 2.18 here.
 */
import { compareVersions, splitVersion } from "../closure/version.js";

export interface StoreSchemaChange {
  /** First CppNix release that makes the change, `major.minor`. */
  since: string;
  /** What changes, for people. */
  change: string;
  /** Where it is recorded. */
  source: string;
}

export const STORE_SCHEMA_CHANGES: readonly StoreSchemaChange[] = [
  {
    since: "1.3",
    change: "database schema 7",
    source: "local-store.hh: nixSchemaVersion history (Version 7 is Nix 1.3)",
  },
  {
    since: "2.0",
    change: "database schema 10",
    source: "local-store.hh: nixSchemaVersion history (Version 10 is 2.0)",
  },
  {
    since: "2.4",
    change:
      "the content-addressed derivation tables (db/ca-schema), created once the ca-derivations feature is enabled",
    source: "local-store.cc: migrateCASchema, new in Nix 2.4",
  },
];

/** `nix` or `lix`, and its version as Nix prints it (`2.24.10`, `2.91.1`). */
export interface NixRelease {
  implementation: "nix" | "lix";
  version: string;
}

/** The CppNix version whose store schema a release uses (Lix: 2.18). */
export function schemaEquivalentVersion(release: NixRelease): string {
  return release.implementation === "lix" ? "2.18" : release.version;
}

function majorMinor(version: string): string {
  return splitVersion(version).slice(0, 2).join(".");
}

/**
 * The schema changes between two releases, in either direction: moving up makes them (and the
 * old release can no longer open the store), moving down needs them undone (it cannot).
 */
export function storeSchemaChangesBetween(
  from: NixRelease,
  to: NixRelease,
  changes: readonly StoreSchemaChange[] = STORE_SCHEMA_CHANGES,
): StoreSchemaChange[] {
  const a = majorMinor(schemaEquivalentVersion(from));
  const b = majorMinor(schemaEquivalentVersion(to));
  const [low, high] = compareVersions(a, b) <= 0 ? [a, b] : [b, a];
  return changes.filter((c) => compareVersions(c.since, low) > 0 && compareVersions(c.since, high) <= 0);
}
