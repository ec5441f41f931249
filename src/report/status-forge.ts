/**
 * `ternix status --from-forge`: one row per host from the commit statuses. Pure: (model) => string;
 * the JSON is the same model with a schema version.
 */
import { printable } from "./style.js";

export interface ForgeStatusModel {
  heads: readonly { branch: string; commit: string }[];
  staleAfter: string;
  depth: number;
  hosts: readonly {
    host: string;
    branch: string;
    commit: string | undefined;
    result: "pending" | "success" | "failure" | "error" | undefined;
    description: string | undefined;
    reportedAt: string | undefined;
    behind: number | undefined;
    stale: boolean;
  }[];
}

export function renderForgeStatusText(model: ForgeStatusModel): string {
  const header = ["HOST", "BRANCH", "COMMIT", "RESULT", "BEHIND", "LAST REPORT", ""];
  const rows = model.hosts.map((h) => [
    printable(h.host),
    printable(h.branch),
    h.commit === undefined ? "-" : h.commit.slice(0, 12),
    h.result ?? "no report",
    h.behind === undefined ? `>${model.depth - 1}` : String(h.behind),
    h.reportedAt ?? "-",
    h.stale ? `stale (no report for ${model.staleAfter})` : "",
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const heads = model.heads.map((h) => `${printable(h.branch)} at ${h.commit.slice(0, 12)}`).join(", ");
  return [`From the forge's commit statuses (${heads}):`, line(header), ...rows.map(line)].join("\n");
}

export function forgeStatusJson(model: ForgeStatusModel) {
  return {
    schemaVersion: 1,
    kind: "status-forge",
    staleAfter: model.staleAfter,
    heads: model.heads,
    hosts: model.hosts.map((h) => ({
      host: h.host,
      branch: h.branch,
      commit: h.commit ?? null,
      result: h.result ?? null,
      description: h.description ?? null,
      reportedAt: h.reportedAt ?? null,
      behind: h.behind ?? null,
      stale: h.stale,
    })),
  };
}
