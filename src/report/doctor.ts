/** `ternix doctor`'s report: findings grouped by triage section, for a terminal or as JSON. Pure. */
import type { SecretScan } from "../closure/secrets.js";
import type { DoctorSection, Finding, Verdict } from "../system/doctor.js";
import { secretsJson, type SecretScanJson } from "./closure.js";
import { createStyle } from "./style.js";

export interface DoctorReportModel {
  host: string | undefined;
  findings: readonly Finding[];
  /** The running system's closure scanned for secrets; undefined when not scanned. */
  secrets?: SecretScan | undefined;
}

const SECTION_TITLES: Record<DoctorSection, string> = {
  system: "What runs vs what should",
  health: "Health since boot",
  store: "The Nix store",
  secrets: "Secrets",
  nix: "Nix",
};

const LABELS: Record<Verdict, string> = { ok: "ok", warn: "warn", fail: "FAIL", unavailable: "n/a" };

export function countVerdicts(findings: readonly Finding[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { ok: 0, warn: 0, fail: 0, unavailable: 0 };
  for (const f of findings) counts[f.verdict]++;
  return counts;
}

export function renderDoctorText(report: DoctorReportModel, options: { color: boolean }): string {
  const s = createStyle(options.color);
  const paint: Record<Verdict, (t: string) => string> = {
    ok: s.green,
    warn: s.yellow,
    fail: s.red,
    unavailable: s.dim,
  };
  const lines = [s.bold(`ternix doctor${report.host === undefined ? "" : `: ${report.host}`}`)];
  let section: DoctorSection | undefined;
  for (const f of report.findings) {
    if (f.section !== section) {
      section = f.section;
      lines.push("", s.bold(SECTION_TITLES[section]));
    }
    lines.push(`  ${paint[f.verdict](LABELS[f.verdict].padEnd(4))}  ${f.summary}`);
    for (const d of f.details) lines.push(`        ${s.dim(d)}`);
    if (f.action !== undefined && f.verdict !== "ok") lines.push(`        → ${f.action}`);
    else if (f.action !== undefined) lines.push(`        ${s.dim(`(${f.action})`)}`);
  }
  const c = countVerdicts(report.findings);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  lines.push(
    "",
    `${c.ok} ok, ${plural(c.warn, "warning")}, ${plural(c.fail, "failure")}, ${c.unavailable} not available.`,
  );
  return `${lines.join("\n")}\n`;
}

export interface DoctorJson {
  schemaVersion: 1;
  kind: "doctor";
  host: string | null;
  summary: Record<Verdict, number>;
  findings: {
    id: string;
    section: DoctorSection;
    verdict: Verdict;
    summary: string;
    details: string[];
    action: string | null;
  }[];
  /** The scan of the running system's whole closure (`newPaths`: all its paths); null when not scanned. */
  secrets: SecretScanJson | null;
}

export function toDoctorJson(report: DoctorReportModel): DoctorJson {
  return {
    schemaVersion: 1,
    kind: "doctor",
    host: report.host ?? null,
    summary: countVerdicts(report.findings),
    findings: report.findings.map((f) => ({
      id: f.id,
      section: f.section,
      verdict: f.verdict,
      summary: f.summary,
      details: [...f.details],
      action: f.action ?? null,
    })),
    secrets: secretsJson(report.secrets),
  };
}
