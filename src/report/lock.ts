import { changedInputs, type Change, type InputDiff, type LockDiff, type ReleaseJump } from "../lock/diff.js";
import type { LockedInput } from "../lock/graph.js";
import { followName } from "../lock/messages.js";
import { policyPassed, type InputIssue, type InputVerdict, type IssueKind } from "../lock/staleness.js";
import type { InputRow, UpstreamStatus } from "../lock/upstream.js";
import { formatDate } from "../lock/time.js";
import { createStyle, printable, printableModel, type Style } from "./style.js";

export interface TextOptions {
  color: boolean;
}

export interface InputsTextOptions extends TextOptions {
  /** When given, the footer says when the check ran. */
  now?: Date;
  /** Add the UPSTREAM column (`inputs --upstream`). */
  upstream?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Inputs table

/**
 * The inputs of a lock with their verdicts, one row each: transitive inputs indented under their
 * parent, follows inputs as `nixpkgs → follows nixpkgs` without source columns. Ends with the policy result.
 */
export function renderInputsText(rows: readonly InputRow[], options: InputsTextOptions): string {
  // Names, URLs and refs come from third-party flakes: no control characters reach the terminal.
  const verdicts = printableModel(rows);
  const s = createStyle(options.color);
  if (verdicts.length === 0) return "flake.lock has no inputs.\n";
  const upstream = options.upstream ?? false;
  const columns = ["INPUT", "TYPE", "SOURCE", "REF", "REV", "DATE", "AGE"];
  if (upstream) columns.push("UPSTREAM");
  const header = [...columns, "VERDICT"].map((h) => cell(h, s.bold));
  const lines = table([header, ...verdicts.map((v) => inputRow(v, upstream, s))]);
  lines.push("", policyLine(verdicts, options.now, s));
  if (upstream) lines.push(upstreamLine(verdicts, s));
  const supported = new Set(verdicts.flatMap((v) => v.issues.flatMap((i) => i.supportedBranches ?? [])));
  if (supported.size > 0) lines.push(`Supported branches: ${[...supported].join(", ")}`);
  return `${lines.join("\n")}\n`;
}

function inputRow(verdict: InputRow, upstream: boolean, s: Style): Cell[] {
  const input = verdict.input;
  const indent = "  ".repeat(input.depth);
  if (input.followsTarget !== undefined) {
    const name = `${indent}${input.name} → follows ${followName(input.followsTarget)}`;
    return [cell(name, s.dim), ...blank(upstream ? 8 : 7)];
  }
  const same = input.sameNodeAs.length > 0 ? ` (same node as ${input.sameNodeAs.join(", ")})` : "";
  return [
    cell(`${indent}${input.name}`, input.direct ? s.bold : undefined),
    cell(input.type),
    cell(input.source),
    cell(input.ref ?? ""),
    cell(input.shortRev ?? ""),
    cell(input.lastModified ? formatDate(input.lastModified) : ""),
    cell(verdict.ageDays === undefined ? "" : `${verdict.ageDays}d`),
    ...(upstream ? [upstreamCell(verdict.upstream, s)] : []),
    { text: verdictText(verdict) + same, styled: styleVerdict(verdict, s) + (same && s.dim(same)) },
  ];
}

/** `up to date`, or what the update would lock: `2df4777 +14d, 3 commits`. */
function upstreamCell(status: UpstreamStatus | undefined, s: Style): Cell {
  if (status === undefined) return cell("-", s.dim);
  if (status.upToDate) return cell("up to date", s.green);
  const parts = [status.shortRev ?? "new content"];
  const days = status.daysBehind;
  if (days !== undefined) parts.push(`${days >= 0 ? "+" : ""}${days}d`);
  const text = parts.join(" ");
  const commits = status.commitsBehind;
  return cell(
    commits === undefined ? text : `${text}, ${commits} ${Math.abs(commits) === 1 ? "commit" : "commits"}`,
    s.yellow,
  );
}

function upstreamLine(rows: readonly InputRow[], s: Style): string {
  const checked = rows.filter((r) => r.upstream !== undefined);
  const behind = checked.filter((r) => r.upstream?.upToDate === false);
  if (behind.length === 0) return `${s.green("Up to date")}: \`ternix update\` would change nothing.`;
  const names = behind.map((r) => r.input.id).join(", ");
  return `${s.yellow(`${behind.length} of ${checked.length} behind upstream`)}: ${names}. \`ternix update --dry-run\` shows the whole diff.`;
}

function verdictText(verdict: InputVerdict): string {
  const pin = verdict.pinned ? "pinned, " : "";
  if (!verdict.checked) return verdict.pinned ? "pinned" : "-";
  if (verdict.issues.length === 0) return `${pin}ok`;
  return pin + verdict.issues.map(issueText).join("; ");
}

export function styleVerdict(verdict: InputVerdict, s: Style): string {
  const pin = verdict.pinned ? s.cyan("pinned") : "";
  if (!verdict.checked) return pin || s.dim("-");
  if (verdict.issues.length === 0) return (pin && `${pin}, `) + s.green("ok");
  return (pin && `${pin}, `) + verdict.issues.map((i) => issueColor(i.kind, s)(issueText(i))).join("; ");
}

function issueText(issue: InputIssue): string {
  return `${issue.kind}: ${issue.reason}`;
}

function issueColor(kind: IssueKind, s: Style): (text: string) => string {
  switch (kind) {
    case "stale":
      return s.yellow;
    case "unsupported-branch":
    case "non-upstream":
      return s.red;
  }
}

export function policyLine(verdicts: readonly InputVerdict[], now: Date | undefined, s: Style): string {
  const when = now === undefined ? "" : ` (checked ${formatDate(now)})`;
  const issues = verdicts.reduce((n, v) => n + v.issues.length, 0);
  if (policyPassed(verdicts)) return `${s.green("Policy passed")}${when}.`;
  return `${s.red(s.bold("Policy failed"))}: ${issues} ${issues === 1 ? "issue" : "issues"}${when}.`;
}

// ---------------------------------------------------------------------------------------------
// Lock diff, terminal

/**
 * What changed in flake.lock, one block per changed input:
 *
 *     nixpkgs  abc1234 → def5678  2024-12-01 → 2024-12-15 (+14 days)
 *       RELEASE JUMP 24.11 → 25.05
 *       compare: https://github.com/NixOS/nixpkgs/compare/abc...def
 */
export function renderLockDiffText(lockDiff: LockDiff, options: TextOptions): string {
  const diff = printableModel(lockDiff);
  const s = createStyle(options.color);
  if (!diff.changed) return "No changes to flake.lock.\n";
  const inputs = changedInputs(diff);
  // Ids are full input paths (`home/nixpkgs`) and come right after their parent, so no indentation:
  // an indented id would read as a detail line of the input above it.
  const width = Math.max(...inputs.map((i) => i.id.length));
  const lines: string[] = [];
  for (const input of inputs) {
    const [summary, ...details] = describeTextChange(input, s);
    lines.push(`${s.bold(input.id.padEnd(width))}  ${summary ?? ""}`.trimEnd());
    for (const detail of details) lines.push(`  ${detail}`);
  }
  const { changed, added, removed, unchanged } = diff.counts;
  lines.push("", `${changed} changed, ${added} added, ${removed} removed, ${unchanged} unchanged.`);
  return `${lines.join("\n")}\n`;
}

function describeTextChange(input: InputDiff, s: Style): string[] {
  switch (input.status) {
    case "added":
      return [s.green(`added: ${describePin(input.after)}`)];
    case "removed":
      return [s.red(`removed (was ${describePin(input.before)})`)];
    case "unchanged":
      return [];
    case "changed":
      break;
  }
  const follows = input.followsChange;
  if (follows !== undefined) {
    // Starting or stopping to follow can still move the effective pin across releases.
    const jump = input.releaseJump
      ? [s.bold(s.yellow(releaseJumpText(input.releaseJump).toUpperCase()))]
      : [];
    return [s.yellow(followsText(follows, input)), ...jump];
  }

  const lines = [revAndDates(input, s)];
  if (input.releaseJump) lines.push(s.bold(s.yellow(releaseJumpText(input.releaseJump).toUpperCase())));
  if (input.refChange) lines.push(`ref: ${changeText(input.refChange)}`);
  if (input.sourceChange)
    lines.push(s.yellow(`source: ${input.sourceChange.from} → ${input.sourceChange.to}`));
  if (input.typeChange) lines.push(s.yellow(`type: ${input.typeChange.from} → ${input.typeChange.to}`));
  if (input.flakeChange)
    lines.push(`flake: ${String(input.flakeChange.from)} → ${String(input.flakeChange.to)}`);
  if (input.compareUrl) lines.push(s.dim(`compare: ${s.cyan(input.compareUrl)}`));
  return lines;
}

function revAndDates(input: InputDiff, s: Style): string {
  const parts: string[] = [];
  if (input.revChanged) parts.push(`${short(input.oldRev)} → ${short(input.newRev)}`);
  const from = input.oldLastModified;
  const to = input.newLastModified;
  if (from && to && from.getTime() !== to.getTime()) {
    const days = input.daysMoved ?? 0;
    const moved = `(${days > 0 ? "+" : ""}${days} ${Math.abs(days) === 1 ? "day" : "days"})`;
    parts.push(`${formatDate(from)} → ${formatDate(to)} ${days < 0 ? s.red(moved) : moved}`);
  }
  if (parts.length === 0) parts.push(unmovedText(input));
  return parts.join("  ");
}

/** For a change that moved neither rev nor date: what did change, or that the revision stayed. */
function unmovedText(input: InputDiff): string {
  if (input.contentChanged) return "content changed (new narHash)";
  return input.newRev === undefined ? "same content" : `${short(input.newRev)} (same revision)`;
}

/** `RELEASE JUMP`-worthy text: `release jump 24.11 → 25.05` (`backwards` when going to an older release). */
function releaseJumpText(jump: ReleaseJump): string {
  return `release jump ${jump.from} → ${jump.to}${jump.direction === "backward" ? " (backwards)" : ""}`;
}

function followsText(follows: Change<string | undefined>, input: InputDiff): string {
  if (follows.from !== undefined && follows.to !== undefined) {
    return `follows ${followName(follows.from)} → follows ${followName(follows.to)}`;
  }
  if (follows.to !== undefined)
    return `now follows ${followName(follows.to)} (was ${describePin(input.before)})`;
  return `no longer follows ${followName(follows.from)}; now ${describePin(input.after)}`;
}

function describePin(input: LockedInput | undefined): string {
  if (input === undefined) return "?";
  if (input.followsTarget !== undefined) return `follows ${followName(input.followsTarget)}`;
  const pin = [input.shortRev, input.lastModified && formatDate(input.lastModified)]
    .filter(Boolean)
    .join(" ");
  return pin === "" ? input.source : `${input.source} @ ${pin}`;
}

function changeText(change: Change<string | undefined>): string {
  return `${change.from ?? "(default)"} → ${change.to ?? "(default)"}`;
}

function short(rev: string | undefined): string {
  return rev === undefined ? "(none)" : rev.slice(0, 7);
}

// ---------------------------------------------------------------------------------------------
// Lock diff, Markdown

/**
 * The lock diff as a Markdown table for PR bodies. Every value from the lock is escaped, so a
 * crafted ref or URL cannot break the table or inject HTML.
 */
export function renderLockDiffMarkdown(diff: LockDiff): string {
  if (!diff.changed) return "No changes to `flake.lock`.\n";
  const inputs = changedInputs(diff);
  const lines: string[] = [];
  for (const input of inputs) {
    if (input.releaseJump) {
      lines.push(`**⚠ ${capitalise(releaseJumpText(input.releaseJump))}** for ${md(input.id)}.`, "");
    }
  }
  lines.push("| Input | Change | Before | After | Notes |", "| --- | --- | --- | --- | --- |");
  for (const input of inputs) {
    const name =
      input.depth > 0 ? `${"&nbsp;&nbsp;".repeat(input.depth)}${md(input.id)}` : `**${md(input.id)}**`;
    lines.push(
      `| ${[name, statusWord(input), ...markdownSides(input), markdownNotes(input).join("; ")].join(" | ")} |`,
    );
  }
  const { changed, added, removed, unchanged } = diff.counts;
  lines.push("", `${changed} changed, ${added} added, ${removed} removed, ${unchanged} unchanged.`);
  return `${lines.join("\n")}\n`;
}

function statusWord(input: InputDiff): string {
  if (input.followsChange !== undefined) return "follows";
  return input.status === "changed" ? "updated" : input.status;
}

function markdownSides(input: InputDiff): [string, string] {
  const side = (locked: LockedInput | undefined, rev: string | undefined, date: Date | undefined): string => {
    if (locked === undefined) return "";
    if (locked.followsTarget !== undefined) return `follows ${md(followName(locked.followsTarget))}`;
    const parts = [rev === undefined ? undefined : code(rev.slice(0, 7)), date && formatDate(date)];
    const pin = parts.filter(Boolean).join(" ");
    return pin === "" ? md(locked.source) : pin;
  };
  return [
    side(
      input.before,
      input.oldRev ?? input.before?.rev,
      input.oldLastModified ?? input.before?.lastModified,
    ),
    side(input.after, input.newRev ?? input.after?.rev, input.newLastModified ?? input.after?.lastModified),
  ];
}

function markdownNotes(input: InputDiff): string[] {
  const notes: string[] = [];
  if (input.status === "added" && input.after && input.after.followsTarget === undefined)
    notes.push(md(input.after.source));
  if (input.status === "removed" && input.before && input.before.followsTarget === undefined)
    notes.push(md(input.before.source));
  if (input.status !== "changed") return notes;
  if (input.followsChange !== undefined) {
    if (input.releaseJump) notes.push(`**${releaseJumpText(input.releaseJump)}**`);
    return notes;
  }
  if (input.daysMoved !== undefined && input.daysMoved !== 0) {
    notes.push(
      `${input.daysMoved > 0 ? "+" : ""}${input.daysMoved} ${Math.abs(input.daysMoved) === 1 ? "day" : "days"}`,
    );
  }
  if (input.releaseJump) notes.push(`**${releaseJumpText(input.releaseJump)}**`);
  if (input.refChange) notes.push(`ref ${md(changeText(input.refChange))}`);
  if (input.sourceChange) notes.push(`source ${md(input.sourceChange.from)} → ${md(input.sourceChange.to)}`);
  if (input.typeChange) notes.push(`type ${md(input.typeChange.from)} → ${md(input.typeChange.to)}`);
  if (input.flakeChange)
    notes.push(`flake ${String(input.flakeChange.from)} → ${String(input.flakeChange.to)}`);
  if (!input.revChanged && input.contentChanged) notes.push("content changed");
  if (input.compareUrl) notes.push(`[compare](${markdownUrl(input.compareUrl)})`);
  return notes;
}

/** Escape text from the lock for a Markdown table cell. */
export function escapeMarkdown(text: string): string {
  return printable(text.replace(/[\r\n]+/g, " "))
    .replace(/[\\`*_[\]|]/g, (c) => `\\${c}`)
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}
const md = escapeMarkdown;

/** A code span when the value is plainly safe (revisions), else escaped text. */
function code(text: string): string {
  return /^[\w.:/+~@-]+$/.test(text) ? `\`${text}\`` : md(text);
}

/** Percent-encode what would end or break a Markdown link destination. */
function markdownUrl(url: string): string {
  return url.replace(/[\s()<>|`]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// JSON

export interface LockedInputJson {
  id: string;
  path: string[];
  parent: string | null;
  depth: number;
  direct: boolean;
  nodeKey: string;
  follows: string[] | null;
  followsTarget: string | null;
  sameNodeAs: string[];
  flake: boolean;
  type: string;
  source: string;
  location: string;
  owner: string | null;
  repo: string | null;
  host: string | null;
  url: string | null;
  dir: string | null;
  ref: string | null;
  rev: string | null;
  shortRev: string | null;
  /** ISO 8601 */
  lastModified: string | null;
  narHash: string | null;
  revCount: number | null;
}

export interface InputDiffJson {
  id: string;
  path: string[];
  parent: string | null;
  depth: number;
  direct: boolean;
  status: InputDiff["status"];
  oldRev: string | null;
  newRev: string | null;
  oldLastModified: string | null;
  newLastModified: string | null;
  daysMoved: number | null;
  revChanged: boolean;
  contentChanged: boolean;
  refChange: Change<string | null> | null;
  releaseJump: ReleaseJump | null;
  sourceChange: Change<string> | null;
  typeChange: Change<string> | null;
  followsChange: Change<string | null> | null;
  flakeChange: Change<boolean> | null;
  compareUrl: string | null;
  before: LockedInputJson | null;
  after: LockedInputJson | null;
}

export interface LockDiffJson {
  schemaVersion: 1;
  kind: "lock-diff";
  changed: boolean;
  counts: LockDiff["counts"];
  inputs: InputDiffJson[];
}

export interface InputIssueJson {
  kind: IssueKind;
  reason: string;
  maxAgeDays: number | null;
  supportedBranches: string[] | null;
}

export interface InputsJson {
  schemaVersion: 1;
  kind: "inputs";
  /** When the verdicts were made (ISO 8601), if known. */
  now: string | null;
  policyPassed: boolean;
  /** Whether upstream was fetched (`--upstream`); when false every `upstream` is null. */
  upstreamChecked: boolean;
  inputs: Array<
    LockedInputJson & {
      verdict: InputVerdict["verdict"];
      issues: InputIssueJson[];
      ageDays: number | null;
      nixpkgsLike: boolean;
      checked: boolean;
      pinned: boolean;
      upstream: UpstreamJson | null;
    }
  >;
}

export interface UpstreamJson {
  upToDate: boolean;
  rev: string | null;
  lastModified: string | null;
  daysBehind: number | null;
  commitsBehind: number | null;
  compareUrl: string | null;
}

/** The lock diff as plain JSON data (every input, with its status); absent values are `null`. */
export function toLockDiffJson(diff: LockDiff): LockDiffJson {
  return {
    schemaVersion: 1,
    kind: "lock-diff",
    changed: diff.changed,
    counts: { ...diff.counts },
    inputs: diff.inputs.map((i) => ({
      id: i.id,
      path: [...i.path],
      parent: i.parent ?? null,
      depth: i.depth,
      direct: i.direct,
      status: i.status,
      oldRev: i.oldRev ?? null,
      newRev: i.newRev ?? null,
      oldLastModified: iso(i.oldLastModified),
      newLastModified: iso(i.newLastModified),
      daysMoved: i.daysMoved ?? null,
      revChanged: i.revChanged,
      contentChanged: i.contentChanged,
      refChange: i.refChange ? { from: i.refChange.from ?? null, to: i.refChange.to ?? null } : null,
      releaseJump: i.releaseJump ? { ...i.releaseJump } : null,
      sourceChange: i.sourceChange ? { ...i.sourceChange } : null,
      typeChange: i.typeChange ? { ...i.typeChange } : null,
      followsChange: i.followsChange
        ? { from: i.followsChange.from ?? null, to: i.followsChange.to ?? null }
        : null,
      flakeChange: i.flakeChange ? { ...i.flakeChange } : null,
      compareUrl: i.compareUrl ?? null,
      before: i.before ? toLockedInputJson(i.before) : null,
      after: i.after ? toLockedInputJson(i.after) : null,
    })),
  };
}

/** The verdicts as plain JSON data; absent values are `null`. */
export function toInputsJson(
  verdicts: readonly InputRow[],
  now?: Date,
  options: { upstreamChecked?: boolean } = {},
): InputsJson {
  return {
    schemaVersion: 1,
    kind: "inputs",
    now: iso(now),
    policyPassed: policyPassed(verdicts),
    upstreamChecked: options.upstreamChecked ?? false,
    inputs: verdicts.map((v) => ({
      ...toLockedInputJson(v.input),
      verdict: v.verdict,
      issues: v.issues.map((i) => ({
        kind: i.kind,
        reason: i.reason,
        maxAgeDays: i.maxAgeDays ?? null,
        supportedBranches: i.supportedBranches ? [...i.supportedBranches] : null,
      })),
      ageDays: v.ageDays ?? null,
      nixpkgsLike: v.nixpkgsLike,
      checked: v.checked,
      pinned: v.pinned,
      upstream: v.upstream
        ? {
            upToDate: v.upstream.upToDate,
            rev: v.upstream.rev ?? null,
            lastModified: iso(v.upstream.lastModified),
            daysBehind: v.upstream.daysBehind ?? null,
            commitsBehind: v.upstream.commitsBehind ?? null,
            compareUrl: v.upstream.compareUrl ?? null,
          }
        : null,
    })),
  };
}

export function toLockedInputJson(input: LockedInput): LockedInputJson {
  return {
    id: input.id,
    path: [...input.path],
    parent: input.parent ?? null,
    depth: input.depth,
    direct: input.direct,
    nodeKey: input.nodeKey,
    follows: input.follows ? [...input.follows] : null,
    followsTarget: input.followsTarget ?? null,
    sameNodeAs: [...input.sameNodeAs],
    flake: input.flake,
    type: input.type,
    source: input.source,
    location: input.location,
    owner: input.owner ?? null,
    repo: input.repo ?? null,
    host: input.host ?? null,
    url: input.url ?? null,
    dir: input.dir ?? null,
    ref: input.ref ?? null,
    rev: input.rev ?? null,
    shortRev: input.shortRev ?? null,
    lastModified: iso(input.lastModified),
    narHash: input.narHash ?? null,
    revCount: input.revCount ?? null,
  };
}

function iso(date: Date | undefined): string | null {
  return date === undefined ? null : date.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Plain-text table

export interface Cell {
  text: string;
  styled: string;
}

export function cell(text: string, style?: (t: string) => string): Cell {
  return { text, styled: style ? style(text) : text };
}

function blank(count: number): Cell[] {
  return Array.from({ length: count }, () => cell(""));
}

/** Columns padded on the plain text (so colour codes do not skew widths), two spaces apart. */
export function table(rows: readonly Cell[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.text.length)));
  return rows.map((row) =>
    row
      .map((c, i) =>
        i === row.length - 1 ? c.styled : c.styled + " ".repeat((widths[i] ?? 0) - c.text.length),
      )
      .join("  ")
      .trimEnd(),
  );
}
