import type { InputDiff, LockDiff } from "./diff.js";
import type { LockedInput } from "./graph.js";
import { formatDate, formatDays } from "./time.js";

/** Git's advice for subject lines; PR titles may be longer. */
const subjectLimit = 72;
const titleLimit = 120;

/**
 * A git commit message for a lock update: a subject naming the direct inputs that changed, then one
 * bullet per changed input (transitive ones too, by id):
 *
 *     flake.lock: update nixpkgs, home-manager
 *
 *     • nixpkgs: abc1234 (2024-12-01) → def5678 (2024-12-15), 14 days
 *       release jump: 24.11 → 25.05
 */
export function lockCommitMessage(diff: LockDiff): string {
  // Release jumps are in the body; the short subject has room for names only.
  const subject = summaryLine(diff, subjectLimit, false);
  const body = changed(diff).flatMap(describeInput);
  return body.length === 0 ? `${subject}\n` : `${subject}\n\n${body.join("\n")}\n`;
}

/** A pull request title like `flake.lock: update nixpkgs (24.11 → 25.05), home-manager`, at most 120 characters. */
export function prTitle(diff: LockDiff): string {
  return summaryLine(diff, titleLimit, true);
}

interface Item {
  verb: "update" | "add" | "remove";
  text: string;
}

function summaryLine(diff: LockDiff, limit: number, withReleases: boolean): string {
  const prefix = "flake.lock: ";
  const items = summaryItems(diff, withReleases);
  if (items.length === 0) return `${prefix}no changes`;
  for (let shown = items.length; shown >= 1; shown--) {
    const line = prefix + joinItems(items.slice(0, shown), items.length - shown);
    if (line.length <= limit || shown === 1)
      return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
  }
  return prefix.trimEnd();
}

/**
 * One item per direct input: updated when it or anything below it changed, else added or removed.
 * Release jumps go first so a shortened title still shows them.
 */
function summaryItems(diff: LockDiff, withReleases: boolean): Item[] {
  const touched = new Set(changed(diff).map((i) => i.path[0]));
  const items: Array<Item & { jump: boolean }> = [];
  for (const input of diff.inputs) {
    if (!input.direct || !touched.has(input.name)) continue;
    if (input.status === "added") items.push({ verb: "add", text: input.name, jump: false });
    else if (input.status === "removed") items.push({ verb: "remove", text: input.name, jump: false });
    else {
      const jump = withReleases ? input.releaseJump : undefined;
      const text = jump ? `${input.name} (${jump.from} → ${jump.to})` : input.name;
      items.push({ verb: "update", text, jump: jump !== undefined });
    }
  }
  const order = { update: 0, add: 1, remove: 2 };
  return items
    .map((item, index) => ({ item, index }))
    .sort(
      (a, b) =>
        order[a.item.verb] - order[b.item.verb] ||
        Number(b.item.jump) - Number(a.item.jump) ||
        a.index - b.index,
    )
    .map(({ item }) => ({ verb: item.verb, text: item.text }));
}

function joinItems(items: readonly Item[], more: number): string {
  const groups: string[] = [];
  for (const verb of ["update", "add", "remove"] as const) {
    const names = items.filter((i) => i.verb === verb).map((i) => i.text);
    if (names.length > 0) groups.push(`${verb} ${names.join(", ")}`);
  }
  return more > 0 ? `${groups.join("; ")} and ${more} more` : groups.join("; ");
}

function describeInput(input: InputDiff): string[] {
  switch (input.status) {
    case "added":
      return [`• added ${input.id}: ${describeSide(input.after)}`];
    case "removed":
      return [`• removed ${input.id} (was ${describeSide(input.before)})`];
    case "unchanged":
      return [];
    case "changed":
      return describeChange(input);
  }
}

function describeChange(input: InputDiff): string[] {
  const lines: string[] = [];
  const follows = input.followsChange;
  if (follows !== undefined) {
    if (follows.from !== undefined && follows.to !== undefined) {
      lines.push(`• ${input.id}: follows ${followName(follows.from)} → follows ${followName(follows.to)}`);
    } else if (follows.to !== undefined) {
      lines.push(`• ${input.id}: now follows ${followName(follows.to)} (was ${describeSide(input.before)})`);
    } else {
      lines.push(
        `• ${input.id}: no longer follows ${followName(follows.from)}, now ${describeSide(input.after)}`,
      );
    }
    return lines;
  }
  lines.push(`• ${input.id}: ${revLine(input)}`);
  if (input.releaseJump) lines.push(`  release jump: ${input.releaseJump.from} → ${input.releaseJump.to}`);
  else if (input.refChange)
    lines.push(`  ref: ${input.refChange.from ?? "(default)"} → ${input.refChange.to ?? "(default)"}`);
  if (input.sourceChange) lines.push(`  source: ${input.sourceChange.from} → ${input.sourceChange.to}`);
  if (input.typeChange) lines.push(`  type: ${input.typeChange.from} → ${input.typeChange.to}`);
  if (input.flakeChange)
    lines.push(`  flake: ${String(input.flakeChange.from)} → ${String(input.flakeChange.to)}`);
  return lines;
}

/** `abc1234 (2024-12-01) → def5678 (2024-12-15), 14 days`; dates alone for inputs without revisions. */
export function revLine(input: InputDiff): string {
  const side = (rev: string | undefined, date: Date | undefined): string => {
    const parts = [
      rev?.slice(0, 7),
      date && (rev === undefined ? formatDate(date) : `(${formatDate(date)})`),
    ];
    return parts.filter((p) => p !== undefined).join(" ") || "?";
  };
  const from = side(input.oldRev, input.oldLastModified);
  const to = side(input.newRev, input.newLastModified);
  if (from === to) {
    if (input.contentChanged) return "content changed (new narHash)";
    return input.newRev === undefined ? "same content" : `${input.newRev.slice(0, 7)} (same revision)`;
  }
  const days = input.daysMoved === undefined ? "" : `, ${formatDays(input.daysMoved)}`;
  return `${from} → ${to}${days}`;
}

function describeSide(input: LockedInput | undefined): string {
  if (input === undefined) return "?";
  if (input.followsTarget !== undefined) return `follows ${followName(input.followsTarget)}`;
  const pin = [input.shortRev, input.lastModified && `(${formatDate(input.lastModified)})`]
    .filter(Boolean)
    .join(" ");
  return pin === "" ? input.source : `${input.source} @ ${pin}`;
}

export function followName(target: string | undefined): string {
  return target === undefined ? "?" : target === "" ? "the root flake" : target;
}

// diff.ts re-exports this module, so it may import only types from there (no runtime import cycle).
function changed(diff: LockDiff): InputDiff[] {
  return diff.inputs.filter((i) => i.status !== "unchanged");
}
