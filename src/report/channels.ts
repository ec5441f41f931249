/**
 * Channel-based systems: the channels with their verdicts, the diff of an update, the preview of a
 * channel switch; as text and as JSON (docs/json-schema.md). Pure.
 */
import type { InputVerdict } from "../lock/staleness.js";
import { formatDate } from "../lock/time.js";
import { cell, policyLine, styleVerdict, table, toInputsJson, type InputsJson } from "./lock.js";
import { redactChannelUrl } from "../nix/channel.js";
import { createStyle, printable as printableText } from "./style.js";

/** Printable and without a URL's user info (channel URLs may carry credentials). */
const printable = (text: string) => printableText(redactChannelUrl(text));

/** What the renderers need of a channel (a subset of the app's ChannelState). */
export interface ChannelView {
  name: string;
  url: string;
  storePath: string | undefined;
  info: { release: string | undefined; version: string | undefined; revision: string | undefined };
  fetchedAt: Date | undefined;
}

export interface ChannelRow {
  channel: ChannelView;
  verdict: InputVerdict;
}

export interface ChannelChangeView {
  name: string;
  url: string;
  before: ChannelView | undefined;
  after: ChannelView | undefined;
  changed: boolean;
  releaseJump: { from: string; to: string; newer: boolean } | undefined;
}

const short = (rev: string | undefined) => (rev === undefined ? "" : rev.slice(0, 7));

export function renderChannelsText(
  rows: readonly ChannelRow[],
  options: { color: boolean; now?: Date },
): string {
  const s = createStyle(options.color);
  if (rows.length === 0) return "No channels (nix-channel --list is empty).\n";
  const header = ["CHANNEL", "URL", "RELEASE", "VERSION", "REV", "FETCHED", "AGE", "VERDICT"].map((h) =>
    cell(h, s.bold),
  );
  const body = rows.map(({ channel, verdict }) => [
    cell(printable(channel.name), s.bold),
    cell(printable(channel.url)),
    cell(channel.info.release ?? (channel.storePath === undefined ? "(not fetched)" : "?")),
    cell(channel.info.version ?? ""),
    cell(short(channel.info.revision)),
    cell(channel.fetchedAt ? formatDate(channel.fetchedAt) : ""),
    cell(verdict.ageDays === undefined ? "" : `${verdict.ageDays}d`),
    { text: plainVerdict(verdict), styled: styleVerdict(verdict, s) },
  ]);
  const lines = table([header, ...body]);
  lines.push(
    "",
    policyLine(
      rows.map((r) => r.verdict),
      options.now,
      s,
    ),
    "Age: days since this revision was fetched (channel tarballs carry no commit date).",
  );
  const supported = new Set(rows.flatMap((r) => r.verdict.issues.flatMap((i) => i.supportedBranches ?? [])));
  if (supported.size > 0) lines.push(`Supported branches: ${[...supported].join(", ")}`);
  return `${lines.join("\n")}\n`;
}

function plainVerdict(verdict: InputVerdict): string {
  return styleVerdict(verdict, createStyle(false));
}

function channelJson(c: ChannelView | undefined) {
  if (c === undefined) return null;
  return {
    url: redactChannelUrl(c.url),
    storePath: c.storePath ?? null,
    release: c.info.release ?? null,
    version: c.info.version ?? null,
    revision: c.info.revision ?? null,
    fetchedAt: c.fetchedAt?.toISOString() ?? null,
  };
}

/** `inputs --json` for channels: the inputs document with `source: "channels"` and each channel's files. */
export function toChannelsJson(
  rows: readonly ChannelRow[],
  now: Date,
): InputsJson & { source: "channels"; channels: ReturnType<typeof channelEntryJson>[] } {
  return {
    ...toInputsJson(
      rows.map((r) => r.verdict),
      now,
    ),
    source: "channels",
    channels: rows.map((r) => channelEntryJson(r.channel)),
  };
}

function channelEntryJson(c: ChannelView) {
  return { name: c.name, ...(channelJson(c) as NonNullable<ReturnType<typeof channelJson>>) };
}

function side(c: ChannelView | undefined): string {
  if (c === undefined) return "(none)";
  if (c.storePath === undefined) return "(not fetched)";
  return `${c.info.version ?? c.info.release ?? "?"}${c.info.revision ? ` (${short(c.info.revision)})` : ""}`;
}

export function renderChannelDiffText(
  changes: readonly ChannelChangeView[],
  options: { color: boolean },
): string {
  const s = createStyle(options.color);
  const moved = changes.filter((c) => c.changed);
  if (moved.length === 0) return "No channel changed.\n";
  const lines: string[] = [];
  for (const c of moved) {
    const jump = c.releaseJump
      ? `  ${s.yellow(`release ${c.releaseJump.newer ? "jump" : "downgrade"}: ${c.releaseJump.from} → ${c.releaseJump.to}`)}`
      : "";
    lines.push(
      `${s.bold(printable(c.name))}  ${printable(side(c.before))} → ${printable(side(c.after))}${jump}`,
    );
  }
  const same = changes.length - moved.length;
  if (same > 0) lines.push(s.dim(`${same} ${same === 1 ? "channel" : "channels"} unchanged.`));
  return `${lines.join("\n")}\n`;
}

export function toChannelDiffJson(
  changes: readonly ChannelChangeView[],
  extra: { dryRun: boolean; generationBefore: number | undefined; generationAfter: number | undefined },
) {
  return {
    schemaVersion: 1,
    kind: "channel-diff",
    changed: changes.some((c) => c.changed),
    dryRun: extra.dryRun,
    generationBefore: extra.generationBefore ?? null,
    generationAfter: extra.generationAfter ?? null,
    channels: changes.map((c) => ({
      name: c.name,
      url: redactChannelUrl(c.url),
      changed: c.changed,
      releaseJump: c.releaseJump ?? null,
      before: channelJson(c.before),
      after: channelJson(c.after),
    })),
  };
}

export interface ChannelSwitchView {
  name: string;
  url: string;
  change: ChannelChangeView;
  running: string;
  channelNix: string | undefined;
  newerNix: boolean;
  schemaChanges: readonly { since: string; change: string }[];
}

/** The warning the NixOS manual gives for a channel with a newer Nix, when it applies. */
export function channelSwitchWarning(plan: ChannelSwitchView): string | undefined {
  if (!plan.newerNix) return undefined;
  const crossed =
    plan.schemaChanges.length === 0
      ? "It may upgrade the Nix store database schema"
      : `It crosses a Nix store schema change (${plan.schemaChanges.map((c) => `Nix ${c.since}: ${c.change}`).join("; ")})`;
  return (
    `the new channel brings Nix ${plan.channelNix ?? "?"}, newer than the running ${plan.running}. ${crossed}, ` +
    "which cannot be undone: you will not be able to go back to your original channel."
  );
}

export function renderChannelSwitchText(plan: ChannelSwitchView, options: { color: boolean }): string {
  const s = createStyle(options.color);
  const c = plan.change;
  const lines = [
    `${s.bold(printable(plan.name))}: ${printable(c.before?.url ?? "(new channel)")} → ${printable(plan.url)}`,
    `  ${printable(side(c.before))} → ${printable(side(c.after))}`,
  ];
  if (c.releaseJump)
    lines.push(
      `  ${s.yellow(`Release ${c.releaseJump.newer ? "jump" : "downgrade"}: ${c.releaseJump.from} → ${c.releaseJump.to}`)}: read the release notes.`,
    );
  lines.push(`  Nix in the new channel: ${plan.channelNix ?? "(none)"}; running: ${plan.running}`);
  return `${lines.join("\n")}\n`;
}

export function toChannelSwitchJson(plan: ChannelSwitchView, extra: { switched: boolean }) {
  return {
    schemaVersion: 1,
    kind: "channel-switch",
    name: plan.name,
    url: redactChannelUrl(plan.url),
    switched: extra.switched,
    releaseJump: plan.change.releaseJump ?? null,
    before: channelJson(plan.change.before),
    after: channelJson(plan.change.after),
    runningNix: plan.running,
    channelNix: plan.channelNix ?? null,
    newerNix: plan.newerNix,
    schemaChanges: plan.schemaChanges.map((c) => ({ since: c.since, change: c.change })),
    warning: channelSwitchWarning(plan) ?? null,
  };
}
