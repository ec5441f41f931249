/**
 * `ternix promote`'s report: one line for the branch, one per host saying what its reports show.
 * Pure: (model, options) => string; the JSON is the same model with a schema version.
 */
import { printable } from "./style.js";

export type PromoteHostState = "ok" | "baking" | "failed" | "error" | "pending" | "missing";

export interface PromoteReportModel {
  outcome: "promoted" | "would-promote" | "up-to-date" | "not-yet" | "canary-failed" | "not-fast-forward";
  to: string;
  from: string;
  remote: string;
  commit: string;
  previous: string | undefined;
  minAge: string | undefined;
  dryRun: boolean;
  hosts: readonly {
    host: string;
    state: PromoteHostState;
    commit: string | undefined;
    reportedAt: string | undefined;
    readyAt: string | undefined;
    description: string | undefined;
  }[];
}

const short = (sha: string | undefined) => (sha === undefined ? "(none)" : sha.slice(0, 12));

export function renderPromoteText(model: PromoteReportModel, nowMs: number): string {
  const to = printable(model.to);
  const from = printable(model.from);
  const head = `${to} ← ${from} ${short(model.commit)}`;
  const lines: string[] = [];
  switch (model.outcome) {
    case "promoted":
      lines.push(`${head}: promoted (was ${short(model.previous)})`);
      break;
    case "would-promote":
      lines.push(`${head}: would promote (dry run; ${to} stays at ${short(model.previous)})`);
      break;
    case "up-to-date":
      lines.push(`${head}: ${to} is already there; nothing to do`);
      break;
    case "not-yet":
      lines.push(`${head}: not yet; ${to} stays at ${short(model.previous)}`);
      break;
    case "canary-failed":
      lines.push(`${head}: a canary failed on it; ${to} stays at ${short(model.previous)}`);
      break;
    case "not-fast-forward":
      lines.push(
        `${head}: refused, not a fast-forward: ${to} (${short(model.previous)}) has commits that ${from} lacks`,
      );
      break;
  }
  const width = Math.max(0, ...model.hosts.map((h) => printable(h.host).length));
  for (const h of model.hosts)
    lines.push(`  ${printable(h.host).padEnd(width)}  ${explainHost(h, model, nowMs)}`);
  return lines.join("\n");
}

const LABEL: Record<PromoteHostState, string> = {
  ok: "ok",
  baking: "too recent",
  failed: "FAILED",
  error: "not yet",
  pending: "not yet",
  missing: "not yet",
};

function explainHost(
  h: PromoteReportModel["hosts"][number],
  model: PromoteReportModel,
  nowMs: number,
): string {
  const on =
    h.commit === undefined
      ? ""
      : h.commit === model.commit
        ? " on it"
        : ` on ${short(h.commit)} (a later commit)`;
  const said = h.description ? `: ${printable(h.description)}` : "";
  const ago = h.reportedAt === undefined ? "" : ` ${age(nowMs - Date.parse(h.reportedAt))} ago`;
  const detail = (() => {
    switch (h.state) {
      case "ok":
        return `success${on}${ago}, longer than min-age ${model.minAge ?? "0"}`;
      case "baking":
        return `success${on}${ago}; min-age ${model.minAge ?? "0"} is reached at ${h.readyAt ?? "?"}`;
      case "failed":
        return `failure${on}${ago}${said}`;
      case "error":
        return `error${on}${ago}${said}`;
      case "pending":
        return `pending${on}${ago}${said}`;
      case "missing":
        return "not reported yet";
    }
  })();
  return `${LABEL[h.state].padEnd(10)}  ${detail}`;
}

function age(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 === 0 ? "" : `${m % 60}m`}`;
  return `${Math.floor(h / 24)}d${h % 24 === 0 ? "" : `${h % 24}h`}`;
}

export function promoteJson(model: PromoteReportModel) {
  return {
    schemaVersion: 1,
    kind: "promote",
    outcome: model.outcome,
    to: model.to,
    from: model.from,
    remote: model.remote,
    commit: model.commit,
    previous: model.previous ?? null,
    minAge: model.minAge ?? null,
    dryRun: model.dryRun,
    hosts: model.hosts.map((h) => ({
      host: h.host,
      state: h.state,
      commit: h.commit ?? null,
      reportedAt: h.reportedAt ?? null,
      readyAt: h.readyAt ?? null,
      description: h.description ?? null,
    })),
  };
}
