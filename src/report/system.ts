/**
 * Renderers for the on-machine commands: the generations table (and its JSON, "generations v1" in
 * docs/json-schema.md), check results, and the gc plan. Pure: (model, options) => string.
 */
import type { GcPlan } from "../app/machine/gc.js";
import type { GenerationsResult } from "../app/machine/generations.js";
import type { CheckReport, CheckResult } from "../system/checks.js";
import type { KeepReason } from "../system/retention.js";
import type { GenerationStatus } from "../system/state.js";
import { renderClosureDiffText, toClosureDiffJson, formatSize, type ClosureDiffJson } from "./closure.js";
import { createStyle, stripStyle, type Style } from "./style.js";

export interface SystemTextOptions {
  color?: boolean | undefined;
  /** Times in UTC instead of the local time zone (tests, logs). */
  utc?: boolean | undefined;
}

/** `2025-01-31 14:05` in local time (or UTC). */
export function formatDateTime(date: Date, utc = false): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const [y, mo, d, h, mi] = utc
    ? [
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        date.getUTCHours(),
        date.getUTCMinutes(),
      ]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes()];
  return `${y}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}`;
}

const STATUS_TEXT: Record<GenerationStatus, string> = {
  "known-good": "known good",
  "rolled-back": "checks failed, rolled back",
  failed: "checks failed",
  unchecked: "boot only, unchecked",
};

/** Left-align columns; widths ignore colour codes. */
function table(
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, stripStyle(cell).length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = " ".repeat((widths[i] ?? 0) - stripStyle(cell).length);
        return rightAligned.has(i) ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join("  ")
      .trimEnd(),
  );
}

// ---------------------------------------------------------------------------------------------
// Generations

/** The generations table, oldest first; markers say current, booted, known good (and the newest of those, which gc keeps). */
export function renderGenerationsText(result: GenerationsResult, options: SystemTextOptions = {}): string {
  const s = createStyle(options.color ?? false);
  if (result.generations.length === 0) return `${result.profile} has no generations.\n`;
  const header = ["GEN", "DATE", "NIXOS VERSION", "KERNEL", "CLOSURE", "MARKERS"].map((h) => s.bold(h));
  const rows = result.generations.map((g) => {
    const markers: string[] = [];
    if (g.current) markers.push(s.green("current"));
    if (g.booted) markers.push(s.cyan("booted"));
    if (g.newestKnownGood) markers.push(s.green("newest known good"));
    else if (g.status === "known-good") markers.push(s.green(STATUS_TEXT[g.status]));
    else if (g.status !== undefined) {
      const text = STATUS_TEXT[g.status];
      markers.push(g.status === "failed" || g.status === "rolled-back" ? s.red(text) : s.dim(text));
    }
    return [
      g.current ? s.bold(String(g.number)) : String(g.number),
      formatDateTime(g.createdAt, options.utc),
      g.nixosVersion ?? "-",
      g.kernelVersion ?? "-",
      g.closureSize === undefined ? "-" : formatSize(g.closureSize, false),
      markers.join(", "),
    ];
  });
  const lines = table([header, ...rows], new Set([0, 4]));
  if (result.diffs !== undefined) {
    for (const d of result.diffs) {
      lines.push("", s.bold(`Generation ${d.from} -> ${d.to}:`));
      lines.push(renderClosureDiffText(d.diff, { color: options.color, header: false }).trimEnd());
    }
  }
  return `${lines.join("\n")}\n`;
}

export interface CheckResultJson {
  name: string;
  kind: CheckResult["kind"];
  status: CheckResult["status"];
  attempts: number;
  detail: string;
  durationMs: number;
  units?: string[];
}

export interface CheckReportJson {
  passed: boolean;
  results: CheckResultJson[];
}

export interface GenerationJson {
  number: number;
  createdAt: string;
  storePath: string;
  current: boolean;
  booted: boolean;
  knownGood: boolean;
  newestKnownGood: boolean;
  status: GenerationStatus | null;
  nixosVersion: string | null;
  kernelVersion: string | null;
  closureSize: number | null;
  checks: CheckReportJson | null;
}

export interface GenerationsJson {
  schemaVersion: 1;
  kind: "generations";
  profile: string;
  current: number | null;
  currentSystem: string | null;
  bootedSystem: string | null;
  generations: GenerationJson[];
  /** Present with --diff. */
  diffs?: { from: number; to: number; diff: ClosureDiffJson }[];
}

export function toCheckReportJson(report: CheckReport): CheckReportJson {
  return {
    passed: report.passed,
    results: report.results.map((r) => ({
      name: r.name,
      kind: r.kind,
      status: r.status,
      attempts: r.attempts,
      detail: r.detail,
      durationMs: r.durationMs,
      ...(r.units === undefined ? {} : { units: [...r.units] }),
    })),
  };
}

/** "generations v1" (docs/json-schema.md). */
export function toGenerationsJson(result: GenerationsResult): GenerationsJson {
  const json: GenerationsJson = {
    schemaVersion: 1,
    kind: "generations",
    profile: result.profile,
    current: result.current ?? null,
    currentSystem: result.currentSystem ?? null,
    bootedSystem: result.bootedSystem ?? null,
    generations: result.generations.map((g) => ({
      number: g.number,
      createdAt: g.createdAt.toISOString(),
      storePath: g.storePath,
      current: g.current,
      booted: g.booted,
      knownGood: g.knownGood,
      newestKnownGood: g.newestKnownGood,
      status: g.status ?? null,
      nixosVersion: g.nixosVersion ?? null,
      kernelVersion: g.kernelVersion ?? null,
      closureSize: g.closureSize ?? null,
      checks: g.checks ? toCheckReportJson(g.checks) : null,
    })),
  };
  if (result.diffs !== undefined) {
    json.diffs = result.diffs.map((d) => ({ from: d.from, to: d.to, diff: toClosureDiffJson(d.diff) }));
  }
  return json;
}

// ---------------------------------------------------------------------------------------------
// Checks

function statusMark(s: Style, status: CheckResult["status"]): string {
  switch (status) {
    case "passed":
      return s.green("ok  ");
    case "failed":
      return s.red("FAIL");
    case "skipped":
      return s.dim("skip");
  }
}

/** One check: `ok   failed systemd units: no failed units`. */
export function renderCheckLine(result: CheckResult, options: SystemTextOptions = {}): string {
  const s = createStyle(options.color ?? false);
  const attempts = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
  return `${statusMark(s, result.status)} ${result.name}: ${result.detail}${attempts}`;
}

// ---------------------------------------------------------------------------------------------
// gc

const KEEP_TEXT: Record<KeepReason, string> = {
  current: "current",
  running: "running",
  booted: "booted",
  "known-good": "newest known good",
  newest: "within --keep",
  recent: "within --keep-since",
};

/** What gc keeps and deletes, and roughly what it frees. */
export function renderGcPlanText(plan: GcPlan, options: SystemTextOptions & { dryRun: boolean }): string {
  const s = createStyle(options.color ?? false);
  if (plan.decisions.length === 0) return `${plan.profile} has no generations.\n`;
  const rows = plan.decisions.map((d) => [
    d.keep.length > 0 ? s.green("keep") : s.red("delete"),
    String(d.generation.number),
    formatDateTime(d.generation.createdAt, options.utc),
    d.keep.map((r) => KEEP_TEXT[r]).join(", "),
  ]);
  const lines = [`Generations of ${plan.profile}:`, ...table(rows, new Set([1])).map((l) => `  ${l}`)];
  const n = plan.deleted.length;
  if (n === 0) {
    lines.push("No generation to delete.");
  } else {
    const verb = options.dryRun ? "Would delete" : "Deleting";
    lines.push(
      `${verb} ${n} generation${n === 1 ? "" : "s"} (${plan.deleted.map((g) => g.number).join(", ")}); ` +
        `collecting garbage then frees about ${formatSize(plan.estimate.bytes, false)} (${plan.estimate.paths} store path${plan.estimate.paths === 1 ? "" : "s"}).`,
      s.dim(
        "  (An estimate: the NAR size of paths only those generations use. Other GC roots may still hold some; other garbage in the store is not counted.)",
      ),
    );
  }
  if (options.dryRun) lines.push("Dry run: nothing was deleted.");
  return `${lines.join("\n")}\n`;
}
