/** `ternix deploy` as text and JSON: the preview before anything changes, and the per-host report. Pure. */
import type { ClosureDiff } from "../closure/model.js";
import { renderClosureDiffText } from "./closure.js";
import { createStyle, printableModel, stripStyle, type Style } from "./style.js";

/** The shapes the renderers read (the use case's model, structurally). */
export interface DeployPreviewView {
  host: string;
  target: string;
  canary: boolean;
  status: "changed" | "unchanged" | "unreachable" | "build-failed";
  running?: string | undefined;
  toplevel?: string | undefined;
  diff?: ClosureDiff | undefined;
  diffNote?: string | undefined;
  error?: string | undefined;
}

export interface HostDeployView {
  host: string;
  target: string;
  state: "deployed" | "unchanged" | "rolled-back" | "failed" | "skipped" | "unreachable";
  stage?: "build" | "copy" | "phase1" | "checks" | "phase2" | undefined;
  reason?: string | undefined;
  before?: { storePath?: string | undefined; generation?: number | undefined } | undefined;
  after?: { storePath?: string | undefined; generation?: number | undefined } | undefined;
  durationMs?: number | undefined;
  needsReboot?: boolean | undefined;
  checks?: { passed: boolean; results: { name: string; status: string; detail: string }[] } | undefined;
  deadMansSwitch?: { unit: string; state: "disarmed" | "left-armed" } | undefined;
}

export interface DeployView {
  operation: string;
  dryRun: boolean;
  aborted: boolean;
  interrupted: boolean;
  canaries: readonly string[];
  preview: readonly DeployPreviewView[];
  hosts: readonly HostDeployView[];
  excluded: readonly string[];
}

export const DEPLOY_SCHEMA_VERSION = 1;

const STAGE_TEXT = {
  build: "build",
  copy: "copy",
  phase1: "phase 1",
  checks: "checks",
  phase2: "phase 2",
} as const;

/** Per host: status, then the package diff (or why there is none). */
export function renderDeployPreview(view: DeployView, options: { color?: boolean } = {}): string {
  const s = createStyle(options.color ?? false);
  const v = printableModel(view);
  const lines: string[] = [];
  for (const p of v.preview) {
    const canary = p.canary ? s.cyan(" [canary]") : "";
    const head = `${s.bold(p.host)} (${p.target})${canary}: `;
    switch (p.status) {
      case "unchanged":
        lines.push(`${head}unchanged (runs ${shortPath(p.running)})`);
        break;
      case "unreachable":
        lines.push(`${head}${s.red("unreachable")}: ${p.error ?? ""}`);
        break;
      case "build-failed":
        lines.push(`${head}${s.red("build failed")}: ${p.error ?? ""}`);
        break;
      case "changed":
        lines.push(`${head}${shortPath(p.running)} → ${shortPath(p.toplevel)}`);
        if (p.diff) lines.push(indent(renderClosureDiffText(p.diff, { color: options.color }).trimEnd()));
        else if (p.diffNote) lines.push(`  (no diff: ${p.diffNote})`);
        break;
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The summary table: host, result, before → after generation, duration, reboot; then why, per host. */
export function renderDeployReport(view: DeployView, options: { color?: boolean } = {}): string {
  const s = createStyle(options.color ?? false);
  const v = printableModel(view);
  const rows = v.hosts.map((h) => [
    h.host,
    resultText(h, s),
    `${generationText(h.before)} → ${generationText(h.after)}`,
    h.durationMs === undefined ? "" : `${(h.durationMs / 1000).toFixed(1)}s`,
    h.needsReboot ? "yes" : "",
  ]);
  const header = ["HOST", "RESULT", "GENERATION", "TIME", "REBOOT"];
  const plain = stripStyle;
  const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((r) => plain(r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - plain(c).length)))
      .join("  ")
      .trimEnd();
  const out = [line(header.map((h) => s.bold(h))), ...rows.map(line)];
  const notes = v.hosts.filter((h) => h.reason !== undefined);
  if (notes.length > 0) out.push("", ...notes.map((h) => `${h.host}: ${h.reason ?? ""}`));
  const left = v.hosts.filter((h) => h.deadMansSwitch?.state === "left-armed");
  if (left.length > 0)
    out.push(
      "",
      s.yellow(
        `Left to their dead man's switch (they go back to the previous system unless confirmed): ${left.map((h) => h.host).join(", ")}`,
      ),
    );
  if (v.excluded.length > 0) out.push("", s.dim(`Excluded: ${v.excluded.join(", ")}`));
  return `${out.join("\n")}\n`;
}

function resultText(h: HostDeployView, s: Style): string {
  switch (h.state) {
    case "deployed":
      return s.green("deployed");
    case "unchanged":
      return "unchanged";
    case "rolled-back":
      return s.red("rolled-back");
    case "failed":
      return s.red(`failed (${h.stage === undefined ? "?" : STAGE_TEXT[h.stage]})`);
    case "skipped":
      return s.yellow("skipped");
    case "unreachable":
      return s.red("unreachable");
  }
}

function generationText(g: HostDeployView["before"]): string {
  if (g?.generation !== undefined) return String(g.generation);
  return g?.storePath === undefined ? "-" : shortPath(g.storePath);
}

function shortPath(path: string | undefined): string {
  if (path === undefined) return "(nothing)";
  return path.replace(/^\/nix\/store\/[0-9a-z]{32}-/, "");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l === "" ? l : `  ${l}`))
    .join("\n");
}

/** The `--json` document (docs/json-schema.md, deploy v1). */
export function deployJson(view: DeployView): unknown {
  return {
    schemaVersion: DEPLOY_SCHEMA_VERSION,
    kind: "deploy",
    operation: view.operation,
    dryRun: view.dryRun,
    aborted: view.aborted,
    interrupted: view.interrupted,
    canaries: view.canaries,
    excluded: view.excluded,
    preview: view.preview.map((p) => ({
      host: p.host,
      target: p.target,
      canary: p.canary,
      status: p.status,
      running: p.running ?? null,
      toplevel: p.toplevel ?? null,
      counts: p.diff?.counts ?? null,
      risks: p.diff?.risks.map((r) => ({ severity: r.severity, title: r.title })) ?? [],
      needsReboot: p.diff?.needsReboot ?? null,
      note: p.diffNote ?? p.error ?? null,
    })),
    hosts: view.hosts.map((h) => ({
      host: h.host,
      target: h.target,
      state: h.state,
      stage: h.stage ?? null,
      reason: h.reason ?? null,
      before: { storePath: h.before?.storePath ?? null, generation: h.before?.generation ?? null },
      after: { storePath: h.after?.storePath ?? null, generation: h.after?.generation ?? null },
      durationMs: h.durationMs ?? null,
      needsReboot: h.needsReboot ?? null,
      checks: h.checks?.results.map((c) => ({ name: c.name, status: c.status, detail: c.detail })) ?? [],
      deadMansSwitch: h.deadMansSwitch ?? null,
    })),
  };
}
