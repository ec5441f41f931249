/**
 * Renderers for `ternix status`: a summary table and a section per host that is not up to date
 * (text), the same model as JSON (docs/json-schema.md, status v1), and Prometheus metrics
 * (docs/status.md) serialised by prom-client. Pure: (model, options) => string.
 */
import { Gauge, Registry } from "prom-client";
import type { HostStatus, StatusResult } from "../app/fleet/status.js";
import { HOST_STATES, statusExitCode, type HostState } from "../system/host-status.js";
import type { UpgradeState } from "../system/state.js";
import { closureSizeLine, toClosureDiffJson } from "./closure.js";
import { changeCounts, formatBytes, riskSummary } from "./plan.js";
import { createStyle, printable, stripStyle, type Style } from "./style.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `2026-12-01 10:04` in UTC (a fleet spans time zones; the JSON has full ISO times). */
function shortTime(date: Date | undefined): string {
  if (date === undefined || Number.isNaN(date.getTime())) return "?";
  return date.toISOString().slice(0, 16).replace("T", " ");
}

function headline(result: StatusResult): string {
  const n = result.hosts.length;
  const notOk = result.hosts.filter((h) => h.state !== "up-to-date").length;
  if (notOk === 0) return n === 1 ? "The host is up to date." : `All ${n} hosts are up to date.`;
  const counts = HOST_STATES.filter((s) => s !== "up-to-date")
    .map((s) => [s, result.hosts.filter((h) => h.state === s).length] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`);
  return `${notOk} of ${plural(n, "host")} need${notOk === 1 ? "s" : ""} attention: ${counts.join(", ")}.`;
}

function colourState(s: Style, state: HostState): string {
  switch (state) {
    case "up-to-date":
      return s.green(state);
    case "behind":
    case "reboot-pending":
    case "drifted":
      return s.yellow(state);
    case "unreachable":
    case "checks-failing":
    case "eval-failed":
      return s.red(state);
  }
}

function generationCell(h: HostStatus): string {
  const p = h.probe;
  if (!p) return "";
  const current = p.generations.find((g) => g.number === p.currentGeneration);
  if (p.currentGeneration === undefined) return "none";
  return `${p.currentGeneration} (${shortTime(current?.createdAt)})`;
}

function agentState(probe: HostStatus["probe"]): UpgradeState | undefined {
  return probe?.state.kind === "ok" ? probe.state.state.upgrade : undefined;
}

function agentCell(h: HostStatus): string {
  const agent = agentState(h.probe);
  if (!agent?.lastRun) return "";
  const commit = agent.deployed ? ` @${agent.deployed.commit.slice(0, 7)}` : "";
  return `${agent.lastRun.result}${commit}`;
}

function table(header: string[], rows: string[][]): string[] {
  const width = (x: string) => stripStyle(x).length;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(Math.max(0, (widths[i] ?? 0) - width(c)))))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

export interface StatusTextOptions {
  color: boolean;
}

export function renderStatusText(result: StatusResult, options: StatusTextOptions): string {
  const s = createStyle(options.color);
  const p = printable;
  const lines: string[] = [s.bold(headline(result))];
  if (result.ref !== undefined)
    lines.push(
      s.dim(`Compared with the flake at ${p(result.ref)} (${result.revision?.slice(0, 12) ?? "?"}).`),
    );
  lines.push("");
  const rows = result.hosts.map((h) => [
    p(h.host),
    colourState(s, h.state),
    generationCell(h),
    h.probe?.failedUnits === undefined ? (h.probe ? "?" : "") : String(h.probe.failedUnits.length),
    h.probe?.disk ? formatBytes(h.probe.disk.freeBytes) : "",
    p(agentCell(h)),
  ]);
  lines.push(...table(["host", "state", "generation", "failed units", "/nix free", "agent"], rows));
  if (result.skippedHosts.length > 0)
    lines.push(s.dim(`Not checked: ${result.skippedHosts.map((h) => p(h)).join(", ")}`));
  lines.push("");

  for (const h of result.hosts) {
    if (h.state === "up-to-date") continue;
    lines.push(s.bold(`── ${p(h.host)} (${h.state}) ──`));
    for (const f of h.findings) lines.push(`${colourState(s, f.state)}: ${p(f.reason)}`);
    const probe = h.probe;
    if (probe) {
      lines.push(`Running:  ${probe.currentSystem}`);
      if (probe.bootedSystem !== undefined && probe.bootedSystem !== probe.currentSystem)
        lines.push(`Booted:   ${probe.bootedSystem}`);
    }
    if (h.expected !== undefined && h.expected !== probe?.currentSystem)
      lines.push(`Flake:    ${h.expected}`);
    if (h.diff) {
      lines.push(`Changes:  ${changeCounts(h.diff)}`);
      const risks = riskSummary(h.diff);
      if (risks.length > 0) lines.push(`Risks:    ${risks.join("; ")}`);
      lines.push(s.dim(closureSizeLine(h.diff)));
    } else if (h.diffUnavailable) lines.push(s.dim(`No package diff: ${h.diffUnavailable}.`));
    if (probe?.failedUnitsError) lines.push(s.dim(`Failed units unknown: ${p(probe.failedUnitsError)}`));
    if (probe?.state.kind === "invalid") lines.push(s.dim(`State file: ${p(probe.state.reason)}`));
    const agent = agentState(probe);
    if (agent?.lastRun)
      lines.push(
        `Agent:    last run ${shortTime(new Date(agent.lastRun.at))} ${p(agent.lastRun.result)}` +
          (agent.deployed ? `, deployed ${p(agent.deployed.commit.slice(0, 12))}` : ""),
      );
    for (const q of agent?.quarantined ?? [])
      lines.push(`Quarantined: ${p(q.commit.slice(0, 12))} (${p(q.reason)})`);
    lines.push("");
  }
  return lines.join("\n").trimEnd() + "\n";
}

// ---------------------------------------------------------------- json

export const STATUS_SCHEMA_VERSION = 1;

const iso = (date: Date | undefined) =>
  date === undefined || Number.isNaN(date.getTime()) ? null : date.toISOString();

export function toStatusJson(result: StatusResult) {
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    kind: "status" as const,
    exitCode: statusExitCode(result.hosts.map((h) => h.state)),
    flake: result.flakeDir,
    ref: result.ref ?? null,
    revision: result.revision ?? null,
    checkedAt: result.checkedAt.toISOString(),
    summary: Object.fromEntries(
      HOST_STATES.map((state) => [state, result.hosts.filter((h) => h.state === state).length]),
    ),
    hosts: result.hosts.map((h) => {
      const probe = h.probe;
      const current = probe?.generations.find((g) => g.number === probe.currentGeneration);
      const agent = agentState(probe);
      return {
        host: h.host,
        target: h.target,
        port: h.port ?? null,
        state: h.state,
        findings: h.findings,
        expected: h.expected ?? null,
        running: probe
          ? {
              system: probe.currentSystem,
              booted: probe.bootedSystem ?? null,
              generation: probe.currentGeneration ?? null,
              generationCreatedAt: iso(current?.createdAt),
              generations: probe.generations.map((g) => ({
                number: g.number,
                storePath: g.storePath,
                createdAt: iso(g.createdAt),
              })),
              failedUnits: probe.failedUnits ?? null,
              failedUnitsError: probe.failedUnitsError ?? null,
              nix: probe.disk ? { freeBytes: probe.disk.freeBytes, totalBytes: probe.disk.totalBytes } : null,
              hostTime: iso(probe.now),
            }
          : null,
        agent: agent
          ? {
              lastRun: agent.lastRun,
              lastSuccessAt: agent.lastSuccessAt,
              deployed: agent.deployed,
              quarantined: agent.quarantined,
              rebootPending: agent.rebootPending,
            }
          : null,
        stateFile: probe ? probe.state.kind : null,
        diff: h.diff ? toClosureDiffJson(h.diff) : null,
        diffUnavailable: h.diffUnavailable ?? null,
        durationMs: h.durationMs,
      };
    }),
    skippedHosts: result.skippedHosts,
  };
}

// ---------------------------------------------------------------- prometheus

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** The same model as Prometheus metrics, one series per host (label `host`), for a textfile collector. */
export async function renderStatusMetrics(result: StatusResult): Promise<string> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: readonly string[] = ["host"]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  gauge("ternix_status_checked_timestamp_seconds", "When ternix status ran (Unix time).", []).set(
    seconds(result.checkedAt),
  );
  const byState = gauge("ternix_status_hosts", "Hosts in each state.", ["state"]);
  for (const state of HOST_STATES)
    byState.set({ state }, result.hosts.filter((h) => h.state === state).length);
  const hostState = gauge(
    "ternix_status_host_state",
    "The host's state: 1 for the state it is in, 0 for the others.",
    ["host", "state"],
  );
  const up = gauge("ternix_status_up", "1 when the host answered the probe over SSH.");
  const failedUnits = gauge("ternix_status_failed_units", "Failed systemd units on the host.");
  const free = gauge("ternix_status_nix_free_bytes", "Free space on the file system of /nix, in bytes.");
  const size = gauge("ternix_status_nix_size_bytes", "Size of the file system of /nix, in bytes.");
  const generation = gauge("ternix_status_generation", "The system profile's current generation.");
  const generationTime = gauge(
    "ternix_status_generation_timestamp_seconds",
    "When the current generation was made (Unix time).",
  );
  const reboot = gauge(
    "ternix_status_reboot_pending",
    "1 when the booted kernel, initrd or modules differ from the running system's.",
  );
  const quarantined = gauge(
    "ternix_status_quarantined_commits",
    "Commits the host's ternix upgrade quarantined.",
  );
  for (const h of result.hosts) {
    const host = { host: h.host };
    for (const state of HOST_STATES) hostState.set({ ...host, state }, h.state === state ? 1 : 0);
    const probe = h.probe;
    up.set(host, probe ? 1 : 0);
    if (!probe) continue;
    if (probe.failedUnits) failedUnits.set(host, probe.failedUnits.length);
    if (probe.disk) {
      free.set(host, probe.disk.freeBytes);
      size.set(host, probe.disk.totalBytes);
    }
    if (probe.currentGeneration !== undefined) {
      generation.set(host, probe.currentGeneration);
      const current = probe.generations.find((g) => g.number === probe.currentGeneration);
      if (current) generationTime.set(host, seconds(current.createdAt));
    }
    reboot.set(host, h.findings.some((f) => f.state === "reboot-pending") ? 1 : 0);
    const agent = agentState(probe);
    if (agent) quarantined.set(host, agent.quarantined.length);
  }
  return registry.metrics();
}
