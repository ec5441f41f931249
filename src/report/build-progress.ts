/**
 * Lines for a build's live progress (app/build-progress.ts): one per host, and one per finished
 * derivation. Pure; names from the flake or a derivation are made printable.
 */
import { derivationName, type TargetProgress } from "../app/build-progress.js";
import { printable } from "./style.js";

const MIB = 1024 * 1024;

export interface ProgressLineOptions {
  side?: "before" | "after" | undefined;
  /** Pad host names to this width (a live block of aligned lines). */
  hostWidth?: number | undefined;
}

/** `[after] web: built 3/12, 1 failed, building linux-6.6.64 (+2), fetched 40/120 paths (85.3 MiB)` */
export function renderHostProgress(p: TargetProgress, options: ProgressLineOptions = {}): string {
  const host = printable(p.name);
  const name = options.hostWidth !== undefined ? `${host}:`.padEnd(options.hostWidth + 1) : `${host}:`;
  return `${options.side ? `[${options.side}] ` : ""}${name} ${renderProgressState(p)}`;
}

/** The state part of a host's line: `built 3/12, building linux-6.6.64, fetched 40/120 paths (85.3 MiB)`. */
export function renderProgressState(p: TargetProgress): string {
  const parts: string[] = [];
  if (p.toBuild > 0 || p.built > 0) parts.push(`built ${p.built}/${p.toBuild}`);
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  const [first, ...others] = p.building;
  if (first !== undefined)
    parts.push(`building ${printable(first)}${others.length > 0 ? ` (+${others.length})` : ""}`);
  if (p.toFetch > 0 || p.fetched > 0) {
    const mib = p.fetchedBytes > 0 ? ` (${(p.fetchedBytes / MIB).toFixed(1)} MiB)` : "";
    parts.push(`fetched ${p.fetched}/${p.toFetch} path${p.toFetch === 1 ? "" : "s"}${mib}`);
  }
  return parts.length > 0 ? parts.join(", ") : "nothing to build";
}

/** A host with nothing to build or fetch: no line for it. */
export function hostProgressIdle(p: TargetProgress): boolean {
  return p.toBuild === 0 && p.toFetch === 0 && p.built === 0 && p.failed === 0 && p.fetched === 0;
}

/** Whether a host's part of the build is over: all built or fetched, or failed. */
export function hostProgressDone(p: TargetProgress): boolean {
  return p.building.length === 0 && p.built + p.failed >= p.toBuild && p.fetched >= p.toFetch;
}

const HOSTS_SHOWN = 3;

/** `built linux-6.6.64 (web, db, +3)` / `failed broken-pkg-1.1 (web)` */
export function renderBuildFinished(event: {
  drvPath: string;
  ok: boolean;
  hosts: readonly string[];
  side?: "before" | "after" | undefined;
}): string {
  const shown = event.hosts.slice(0, HOSTS_SHOWN).map(printable);
  if (event.hosts.length > HOSTS_SHOWN) shown.push(`+${event.hosts.length - HOSTS_SHOWN}`);
  return (
    `${event.side ? `[${event.side}] ` : ""}${event.ok ? "built" : "failed"} ${printable(derivationName(event.drvPath))}` +
    (shown.length > 0 ? ` (${shown.join(", ")})` : "")
  );
}
