/**
 * Renderers for `ternix plan`: text for a terminal, Markdown for a pull request (within a size
 * budget, summary always kept), JSON with a versioned schema. Pure: (model, options) => string.
 */
import type { BuildCost, ClosureDiff, PackageChange } from "../closure/model.js";
import { describeChange } from "../closure/risk.js";
import type { HostBuild } from "../app/fleet/hosts.js";
import { planExitCode, type HostPlan, type PlanResult } from "../app/fleet/plan-model.js";
import { renderClosureDiffMarkdown, renderClosureDiffText, toClosureDiffJson } from "./closure.js";
import { escapeMarkdown, renderLockDiffMarkdown, renderLockDiffText, toLockDiffJson } from "./lock.js";
import { createStyle, printableModel, stripStyle } from "./style.js";

/** Everything above this marker is the summary, which shortening never touches. */
export const SUMMARY_END = "<!-- ternix:summary-end -->";
export const DEFAULT_MARKDOWN_BUDGET = 60_000;

const statusLabel: Record<HostPlan["status"], string> = {
  broken: "BROKEN by the update",
  changed: "changed",
  fixed: "fixed by the update",
  failing: "fails before and after",
  unchanged: "unchanged",
};

export function formatBytes(bytes: number, signed = false): string {
  const sign = bytes < 0 ? "-" : signed ? "+" : "";
  let value = Math.abs(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${sign}${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** `5 upgraded, 1 downgraded, 27 rebuilt`: the package counts of a diff, for tables. */
export function changeCounts(diff: ClosureDiff | undefined): string {
  if (!diff) return "";
  const c = diff.counts;
  const parts = [
    c.upgraded && `${c.upgraded} upgraded`,
    c.downgraded && `${c.downgraded} downgraded`,
    c.changed && `${c.changed} changed`,
    c.added && `${c.added} added`,
    c.removed && `${c.removed} removed`,
    c.rebuilt && `${c.rebuilt} rebuilt`,
  ].filter(Boolean);
  return parts.join(", ") || "only the system itself changed";
}

/** The distinct non-info risks of a diff, as `id: reboot needed`. */
export function riskSummary(diff: ClosureDiff | undefined): string[] {
  if (!diff) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of diff.risks) {
    const label =
      r.severity === "reboot"
        ? "reboot needed"
        : r.severity === "test-first"
          ? "test first"
          : r.severity === "caution"
            ? "caution"
            : "";
    const text = `${r.id}${label ? `: ${label}` : ""}`;
    if (r.severity !== "info" && !seen.has(text)) {
      seen.add(text);
      out.push(text);
    }
  }
  return out;
}

function headline(result: PlanResult): string {
  const n = (s: HostPlan["status"]) => result.hosts.filter((h) => h.status === s).length;
  switch (result.outcome) {
    case "lock-unchanged":
      return "flake.lock did not change: nothing to plan.";
    case "no-host-changed":
      return `flake.lock changed, but none of the ${result.hosts.length} hosts' systems differ.`;
    case "host-broken":
      return `The update BREAKS ${n("broken")} host${n("broken") === 1 ? "" : "s"}; ${n("changed")} of ${result.hosts.length} change.`;
    case "changed":
      return `${n("changed") + n("fixed")} of ${result.hosts.length} hosts change.`;
  }
}

/** `--fail-on secret: web, db carry a secret risk (exit 5).`, or undefined without a hit. */
export function gateLine(result: PlanResult): string | undefined {
  const hits = result.gate?.hits ?? [];
  if (hits.length === 0) return undefined;
  const kinds = [...new Set(hits.map((h) => h.kind))];
  const parts = kinds.map((kind) => {
    const hosts = hits.filter((h) => h.kind === kind).map((h) => h.host);
    return `${hosts.join(", ")} ${hosts.length === 1 ? "carries" : "carry"} a ${kind} risk`;
  });
  return `--fail-on ${kinds.join(" ")}: ${parts.join("; ")} (exit 5).`;
}

/** Said wherever a `--no-build` report is shown: what the numbers are and are not. */
export const PREVIEW_NOTE =
  "Preview from derivations (--no-build): nothing was built. Package changes are predicted from the " +
  "hosts' derivation closures; there are no sizes, no secret scan, and packages needed only at build time are listed apart.";

function isPreview(result: PlanResult): boolean {
  return result.basis === "derivations";
}

function buildTimeLine(changes: readonly PackageChange[] | undefined): string | undefined {
  if (!changes || changes.length === 0) return undefined;
  return `Build-time only (not on the host): ${changes.map(describeChange).join("; ")}`;
}

/** `Build cost: 3 derivations built here, 12 paths downloaded (45.2 MiB).` */
export function costLine(cost: BuildCost | undefined): string | undefined {
  if (!cost) return undefined;
  const n = cost.toBuild.length;
  return (
    `Build cost: ${n} derivation${n === 1 ? "" : "s"} built here, ${cost.fetchPaths} path` +
    `${cost.fetchPaths === 1 ? "" : "s"} downloaded (${formatBytes(cost.downloadBytes)}).`
  );
}

function failureOf(build: HostBuild): string | undefined {
  return build.ok ? undefined : `${build.stage === "eval" ? "evaluation" : "build"} failed: ${build.error}`;
}

// ---------------------------------------------------------------- text

export interface PlanTextOptions {
  color: boolean;
}

export function renderPlanText(planResult: PlanResult, options: PlanTextOptions): string {
  // Nix's error lines and input names are text from outside: no control characters on the terminal.
  const result = printableModel(planResult);
  const s = createStyle(options.color);
  const lines: string[] = [];
  lines.push(s.bold(headline(result)), "");
  const gate = gateLine(result);
  if (gate !== undefined) lines.push(s.red(gate), "");
  if (isPreview(result)) lines.push(s.yellow(PREVIEW_NOTE), "");
  lines.push(
    s.bold("flake.lock"),
    renderLockDiffText(result.lockDiff, { color: options.color }).trimEnd(),
    "",
  );
  if (result.outcome === "lock-unchanged") return lines.join("\n").trimEnd() + "\n";

  const rows = result.hosts.map((h) => [
    h.host,
    h.status === "broken"
      ? s.red(statusLabel[h.status])
      : h.status === "changed"
        ? s.yellow(statusLabel[h.status])
        : statusLabel[h.status],
    h.diff ? changeCounts(h.diff) : (failureOf(h.after) ?? failureOf(h.before) ?? ""),
    h.diff && !isPreview(result) ? formatBytes(h.diff.sizes.narSizeDelta, true) : "",
    riskSummary(h.diff).join("; "),
  ]);
  lines.push(s.bold("Hosts"));
  lines.push(
    ...table(["host", "status", "changes", "size", "risks"], rows, (x: string) => stripStyle(x).length),
  );
  if (result.skippedHosts.length > 0) lines.push(s.dim(`Not planned: ${result.skippedHosts.join(", ")}`));
  lines.push("");

  for (const h of result.hosts) {
    if (h.status === "unchanged") continue;
    lines.push(s.bold(`── ${h.host} (${statusLabel[h.status]}) ──`));
    if (h.diff)
      lines.push(
        renderClosureDiffText(h.diff, { color: options.color, sizes: !isPreview(result) }).trimEnd(),
      );
    const buildTime = buildTimeLine(h.buildTimeChanges);
    if (buildTime) lines.push(s.dim(buildTime));
    const cost = costLine(h.cost);
    if (cost) lines.push(cost);
    const failed = !h.after.ok ? h.after : !h.before.ok ? h.before : undefined;
    if (failed && !failed.ok) {
      lines.push(s.red(failureOf(failed) ?? ""));
      if (failed.logTail) lines.push(...tailLines(failed.logTail, 25).map((l) => s.dim(`  ${l}`)));
    }
    lines.push("");
  }
  return lines.join("\n").trimEnd() + "\n";
}

function tailLines(text: string, count: number): string[] {
  return text.replace(/\s+$/, "").split("\n").slice(-count);
}

function table(header: string[], rows: string[][], width: (s: string) => number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(Math.max(0, (widths[i] ?? 0) - width(c)))))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

// ---------------------------------------------------------------- markdown

export interface PlanMarkdownOptions {
  /** Maximum characters; host sections are shortened, then dropped, to fit (default 60,000). */
  budget?: number | undefined;
}

/** A fenced block whose fence is longer than any backtick run in the content. */
export function fenced(content: string, info = ""): string {
  const longest = Math.max(2, ...Array.from(content.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${info}\n${content.replace(/\s+$/, "")}\n${fence}`;
}

function mdSummary(result: PlanResult): string {
  const lines: string[] = [];
  lines.push(`### ${escapeMarkdown(headline(result))}`, "");
  const gate = gateLine(result);
  if (gate !== undefined) lines.push(`> **${escapeMarkdown(gate)}**`, "");
  if (isPreview(result)) lines.push(`> **${escapeMarkdown(PREVIEW_NOTE)}**`, "");
  lines.push("#### flake.lock", "", renderLockDiffMarkdown(result.lockDiff).trimEnd(), "");
  if (result.outcome !== "lock-unchanged") {
    lines.push("#### Hosts", "");
    lines.push("| Host | Status | Changes | Closure size | Risks |", "|---|---|---|---|---|");
    for (const h of result.hosts) {
      const status = h.status === "broken" ? "**BROKEN by the update**" : statusLabel[h.status];
      const changes = h.diff ? changeCounts(h.diff) : (failureOf(h.after) ?? failureOf(h.before) ?? "");
      const size =
        h.diff && !isPreview(result)
          ? `${formatBytes(h.diff.sizes.narSizeBefore)} → ${formatBytes(h.diff.sizes.narSizeAfter)} (${formatBytes(h.diff.sizes.narSizeDelta, true)})`
          : "";
      const risks = riskSummary(h.diff)
        .map((r) => `⚠ ${r}`)
        .join("<br>");
      lines.push(`| ${cell(h.host)} | ${status} | ${cell(changes)} | ${size} | ${cell(risks, false)} |`);
    }
    if (result.skippedHosts.length > 0)
      lines.push(
        "",
        `Not planned: ${result.skippedHosts.map((h) => `\`${h.replace(/`/g, "'")}\``).join(", ")}`,
      );
  }
  lines.push("", SUMMARY_END);
  return lines.join("\n");
}

function cell(text: string, escape = true): string {
  // escapeMarkdown already escapes `|`; raw cells (our own HTML) only need theirs.
  return (escape ? escapeMarkdown(text) : text.replace(/\|/g, "\\|")).replace(/\n/g, " ");
}

interface Section {
  host: string;
  full: string;
  short: string;
}

function mdSections(result: PlanResult): Section[] {
  return result.hosts
    .filter((h) => h.status !== "unchanged")
    .map((h) => {
      const risks = riskSummary(h.diff);
      const summary = `<b>${escapeHtml(h.host)}</b>: ${escapeHtml(statusLabel[h.status])}${h.diff ? ` · ${escapeHtml(changeCounts(h.diff))}` : ""}${risks.length ? ` · ⚠ ${escapeHtml(risks.join("; "))}` : ""}`;
      const failed = !h.after.ok ? h.after : !h.before.ok ? h.before : undefined;
      const failure =
        failed && !failed.ok
          ? [
              `**${escapeMarkdown(failureOf(failed) ?? "")}**`,
              "",
              fenced(tailLines(failed.logTail ?? "", 25).join("\n"), "text"),
            ]
          : [];
      const buildTime = buildTimeLine(h.buildTimeChanges);
      const body = [
        h.diff ? renderClosureDiffMarkdown(h.diff, { sizes: !isPreview(result) }).trimEnd() : "",
        ...(buildTime ? ["", `_${escapeMarkdown(buildTime)}_`] : []),
        ...(h.cost ? ["", escapeMarkdown(costLine(h.cost) ?? "")] : []),
      ].join("\n");
      const full = [
        `<details${h.status === "broken" ? " open" : ""}><summary>${summary}</summary>`,
        "",
        ...failure,
        body,
        "",
        "</details>",
        "",
      ].join("\n");
      const shortRisks =
        h.diff?.risks
          .filter((r) => r.severity !== "info")
          .map((r) => `- ⚠ **${escapeMarkdown(r.title)}**: ${escapeMarkdown(r.reason)}`) ?? [];
      const short = [
        `<details><summary>${summary}</summary>`,
        "",
        ...failure,
        ...shortRisks,
        "",
        "_Package list left out to fit the size limit; see the full report._",
        "",
        "</details>",
        "",
      ].join("\n");
      return { host: h.host, full, short };
    });
}

export function renderPlanMarkdown(result: PlanResult, options: PlanMarkdownOptions = {}): string {
  const budget = options.budget ?? DEFAULT_MARKDOWN_BUDGET;
  const summary = mdSummary(result);
  const sections = mdSections(result);
  const footer = "\n_Generated by Ternix._\n";
  const join = (parts: string[], note?: string) =>
    [summary, "", ...parts, ...(note ? [note, ""] : [])].join("\n") + footer;

  const chosen = sections.map((s) => s.full);
  let text = join(chosen);
  if (text.length <= budget) return text;

  // Shorten the largest sections first, until it fits.
  const order = sections
    .map((_, i) => i)
    .sort((a, b) => (sections[b]?.full.length ?? 0) - (sections[a]?.full.length ?? 0));
  const note =
    "> **Note:** some host sections were shortened to fit the size limit; the full report is in the CI artifact.";
  for (const i of order) {
    chosen[i] = sections[i]?.short ?? "";
    text = join(chosen, note);
    if (text.length <= budget) return text;
  }
  // Still too long: drop sections from the end (unchanged order keeps broken hosts first).
  let kept = chosen.length;
  while (kept > 0) {
    kept--;
    const dropped = sections.length - kept;
    text = join(
      chosen.slice(0, kept),
      `> **Note:** ${dropped} host section${dropped === 1 ? "" : "s"} left out to fit the size limit; the full report is in the CI artifact.`,
    );
    if (text.length <= budget) return text;
  }
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------- json

export const PLAN_SCHEMA_VERSION = 1;

function buildJson(build: HostBuild) {
  return build.ok
    ? { ok: true as const, toplevel: build.toplevel, drvPath: build.drvPath }
    : {
        ok: false as const,
        stage: build.stage,
        error: build.error,
        logTail: build.logTail ?? null,
        drvPath: build.drvPath ?? null,
      };
}

export function toPlanJson(result: PlanResult) {
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    kind: "plan" as const,
    outcome: result.outcome,
    exitCode: planExitCode(result),
    flake: result.flakeDir,
    mode: result.mode,
    basis: result.basis,
    inputs: result.inputs,
    lockState: result.lockState,
    lock: toLockDiffJson(result.lockDiff),
    hosts: result.hosts.map((h) => ({
      host: h.host,
      status: h.status,
      before: buildJson(h.before),
      after: buildJson(h.after),
      diff: h.diff ? toClosureDiffJson(h.diff) : null,
      cost: h.cost
        ? {
            toBuild: h.cost.toBuild.map((b) => b.drvPath),
            fetchPaths: h.cost.fetchPaths,
            downloadBytes: h.cost.downloadBytes,
          }
        : null,
      buildTimeChanges: (h.buildTimeChanges ?? []).map((p) => ({
        name: p.name,
        kind: p.kind,
        versionsBefore: p.before.versions,
        versionsAfter: p.after.versions,
      })),
    })),
    skippedHosts: result.skippedHosts,
    // --push-to: what was copied to the binary cache (the manifest is its own file).
    cache: result.cache ?? null,
    failOn: result.gate ? { kinds: result.gate.kinds, hits: result.gate.hits } : null,
    timingsMs: result.timings,
  };
}
