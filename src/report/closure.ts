/**
 * Renderers for a closure diff: nvd-style text for a terminal, Markdown for a pull request body, and
 * a versioned JSON object (schema in docs/json-schema.md, "closure-diff v1"). Pure: (diff, options) => string.
 *
 * The text keeps nvd's layout and markers, which users already read fluently:
 *
 *     [U*]  #1  firefox            +1.2MiB  132.0 -> 133.0
 *
 * The first letter is the change (U upgraded, D downgraded, C changed, A added, R removed; C also
 * marks a selection-only change), the second the selection state (`*` selected before and after,
 * `+` newly selected, `-` no longer selected, `.` not selected). Risk flags come first.
 */
import { isSelectionOnlyChange } from "../closure/diff.js";
import type {
  ChangeKind,
  ClosureDiff,
  ClosureSide,
  PackageChange,
  RiskFlag,
  RiskSeverity,
} from "../closure/model.js";
import { findingLocation, type SecretScan } from "../closure/secrets.js";
import { escapeMarkdown } from "./lock.js";
import { createStyle, printable, type Style } from "./style.js";

export interface ClosureTextOptions {
  color?: boolean | undefined;
  /** Print nvd's `<<< before` / `>>> after` lines (default true). */
  header?: boolean | undefined;
  /** Show each package's size change (default true). */
  sizes?: boolean | undefined;
  /** List rebuilt packages by name instead of only counting them (default false). */
  listRebuilt?: boolean | undefined;
}

export interface ClosureMarkdownOptions {
  /** Show each package's size change (default true). */
  sizes?: boolean | undefined;
  /** At most this many rebuilt package names in the collapsed list (default 100). */
  maxRebuiltNames?: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared

const KIND_LETTER: Record<ChangeKind, string> = {
  upgraded: "U",
  downgraded: "D",
  changed: "C",
  added: "A",
  removed: "R",
  rebuilt: "C",
  unchanged: "C",
};

interface Section {
  title: string;
  packages: PackageChange[];
  /** Show `before -> after` versions; otherwise the one side that exists. */
  both: boolean;
}

/** nvd's sections, in nvd's order; empty sections are left out. */
function sections(diff: ClosureDiff): Section[] {
  const versionChanges = diff.packages.filter(
    (p) => p.kind === "upgraded" || p.kind === "downgraded" || p.kind === "changed",
  );
  const all: Section[] = [
    { title: "Version changes", packages: versionChanges, both: true },
    { title: "Selection state changes", packages: diff.packages.filter(isSelectionOnlyChange), both: false },
    { title: "Added packages", packages: diff.packages.filter((p) => p.kind === "added"), both: false },
    { title: "Removed packages", packages: diff.packages.filter((p) => p.kind === "removed"), both: false },
  ];
  return all.filter((s) => s.packages.length > 0);
}

function marker(p: PackageChange): string {
  return `[${KIND_LETTER[p.kind]}${p.selection}]`;
}

/** Versions as nvd shows them: comma-separated, `<none>` for a path without a version. */
export function formatVersions(versions: readonly string[]): string {
  return versions.map((v) => (v === "" ? "<none>" : v)).join(", ");
}

function shownVersions(p: PackageChange, both: boolean, arrow: string): string {
  if (both) return `${formatVersions(p.before.versions)} ${arrow} ${formatVersions(p.after.versions)}`;
  return formatVersions(p.kind === "removed" ? p.before.versions : p.after.versions);
}

function shownSize(p: PackageChange): string {
  if (p.kind === "added") return formatSize(p.after.narSize);
  if (p.kind === "removed") return formatSize(-p.before.narSize);
  return formatSize(p.sizeDelta);
}

const BYTE_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/**
 * A byte count as nvd prints it: `+0B`, `-1,000B`, `+50.2KiB`, `-3.0GiB` (binary units, one
 * decimal above bytes, thousands separators, sign unless `signed` is false).
 */
export function formatSize(bytes: number, signed = true): string {
  const negative = bytes < 0;
  let value = Math.abs(bytes);
  let unit = "B";
  for (const next of BYTE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  const [whole = "", fraction] = value.toFixed(unit === "B" ? 0 : 1).split(".");
  const number = whole.replace(/\B(?=(\d{3})+$)/g, ",") + (fraction === undefined ? "" : `.${fraction}`);
  const sign = negative ? "-" : signed ? "+" : "";
  return `${sign}${number}${unit}`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** nvd's closing line, e.g. `Closure size: 2205 -> 2206 (38 paths added, 37 paths removed, delta +1, disk usage +1.2MiB).` */
export function closureSizeLine(diff: ClosureDiff, arrow = "->", showSizes = true): string {
  const s = diff.sizes;
  return (
    `Closure size: ${s.pathsBefore} ${arrow} ${s.pathsAfter} ` +
    `(${s.pathsAdded} paths added, ${s.pathsRemoved} paths removed, ` +
    `delta ${signed(s.pathsAdded - s.pathsRemoved)}` +
    (showSizes ? `, disk usage ${formatSize(s.narSizeDelta)}).` : ").")
  );
}

function rebuiltLine(count: number): string {
  return `Rebuilt with unchanged versions: ${count} package${count === 1 ? "" : "s"}.`;
}

const SEVERITY_LABEL: Record<RiskSeverity, string> = {
  reboot: "reboot",
  "test-first": "test-first",
  caution: "caution",
  info: "info",
};

/**
 * Says which sides are not NixOS systems: any store path can be diffed, but without a toplevel's
 * own files (kernel, initrd, `sw`, `bin/switch-to-configuration`) risk flags are guesses from
 * package names, and a root that is a package (not a system) is easy to miss in the header alone.
 */
export function notSystemNote(diff: ClosureDiff): string | undefined {
  const isSystem = (side: ClosureSide) => side.system !== undefined || side.swPath !== undefined;
  const before = !isSystem(diff.before);
  const after = !isSystem(diff.after);
  if (!before && !after) return undefined;
  const which =
    before && after
      ? "Neither side is a NixOS system (no kernel, initrd, sw or switch-to-configuration in the roots)"
      : `The ${before ? "old" : "new"} side is not a NixOS system (no kernel, initrd, sw or switch-to-configuration in its root)`;
  return (
    `${which}: the closures are compared all the same, but the roots themselves are not listed as ` +
    "packages, and risk flags come from package names only."
  );
}

function rootLabel(side: ClosureSide): string {
  return side.rootVersion === "" ? side.rootName : `${side.rootName} ${side.rootVersion}`;
}

// ---------------------------------------------------------------------------------------------
// Text

function styleSeverity(s: Style, severity: RiskSeverity, text: string): string {
  switch (severity) {
    case "reboot":
      return s.bold(s.red(text));
    case "test-first":
      return s.bold(s.yellow(text));
    case "caution":
      return s.yellow(text);
    case "info":
      return s.dim(text);
  }
}

function styleKind(s: Style, kind: ChangeKind, text: string): string {
  switch (kind) {
    case "upgraded":
      return s.cyan(text);
    case "downgraded":
      return s.yellow(text);
    case "added":
      return s.green(text);
    case "removed":
      return s.red(text);
    case "changed":
    case "rebuilt":
    case "unchanged":
      return s.bold(text);
  }
}

/** Growth costs disk space: red; shrinking: green (as `nix store diff-closures`). */
function styleSize(s: Style, text: string): string {
  return text.startsWith("+") && !/^\+0B$/.test(text)
    ? s.red(text)
    : text.startsWith("-")
      ? s.green(text)
      : text;
}

function riskLinesText(risks: readonly RiskFlag[], needsReboot: boolean, s: Style): string[] {
  if (risks.length === 0) return [];
  const width = Math.max(...risks.map((r) => SEVERITY_LABEL[r.severity].length)) + 2;
  const lines = [s.bold(needsReboot ? "Risks (reboot needed):" : "Risks:")];
  for (const r of risks) {
    const label = `[${SEVERITY_LABEL[r.severity]}]`.padEnd(width + 2);
    lines.push(`  ${styleSeverity(s, r.severity, label)}${r.title}`);
    lines.push(`  ${" ".repeat(width + 2)}${s.dim(r.reason)}`);
  }
  return lines;
}

/** File names inside a store path are anyone's bytes: control characters shown escaped. */
const printableFile = printable;

/** Says how much of the new paths the secret scan did not read, when it left something out. */
export function secretScanGaps(scan: SecretScan): string | undefined {
  const parts = [
    scan.pathsOverBudget > 0 &&
      `${scan.pathsOverBudget} of ${scan.newPaths} new store paths not scanned (per-host size limit)`,
    scan.skippedTooLarge > 0 && `${scan.skippedTooLarge} files over the per-file size limit skipped`,
  ].filter((p): p is string => typeof p === "string");
  return parts.length > 0 ? `Secret scan incomplete: ${parts.join("; ")}.` : undefined;
}

/** Where the secrets are and what kind: never what they are. */
function secretLinesText(scan: SecretScan | undefined, s: Style): string[] {
  if (!scan) return [];
  const lines: string[] = [];
  if (scan.findings.length > 0) {
    const width = Math.max(...scan.findings.map((f) => f.kind.length));
    lines.push(s.bold("Secrets in the store (readable by every user):"));
    for (const f of scan.findings)
      lines.push(`  ${s.yellow(f.kind.padEnd(width))}  ${printableFile(findingLocation(f))}`);
  }
  const gaps = secretScanGaps(scan);
  if (gaps !== undefined) lines.push(s.dim(gaps));
  return lines;
}

function sectionLinesText(section: Section, s: Style, showSizes: boolean): string[] {
  const count = section.packages.length;
  const numberWidth = String(count).length;
  const nameWidth = Math.max(...section.packages.map((p) => p.name.length));
  const sizes = section.packages.map(shownSize);
  const sizeWidth = Math.max(...sizes.map((x) => x.length));
  const lines = [`${section.title}:`];
  section.packages.forEach((p, i) => {
    const selected = p.selectedBefore || p.selectedAfter;
    const parts = [
      styleKind(s, p.kind, marker(p)),
      `#${String(i + 1).padStart(numberWidth, "0")}`,
      selected ? s.bold(p.name.padEnd(nameWidth)) : p.name.padEnd(nameWidth),
    ];
    if (showSizes) parts.push(styleSize(s, (sizes[i] ?? "").padStart(sizeWidth)));
    parts.push(shownVersions(p, section.both, "->"));
    lines.push(parts.join("  "));
  });
  return lines;
}

/** The diff as nvd prints it, risk flags first. Ends with a newline. */
export function renderClosureDiffText(diff: ClosureDiff, options: ClosureTextOptions = {}): string {
  const s = createStyle(options.color ?? false);
  const showSizes = options.sizes ?? true;
  const lines: string[] = [];
  const risks = riskLinesText(diff.risks, diff.needsReboot, s);
  if (risks.length > 0) lines.push(...risks, "");
  const secrets = secretLinesText(diff.secrets, s);
  if (secrets.length > 0) lines.push(...secrets, "");
  if (options.header ?? true) {
    lines.push(`${s.bold("<<<")} ${diff.before.root}`, `${s.bold(">>>")} ${diff.after.root}`);
  }
  const note = notSystemNote(diff);
  if (note !== undefined) lines.push(s.dim(`Note: ${note}`));
  const all = sections(diff);
  for (const section of all) lines.push(...sectionLinesText(section, s, showSizes));
  if (all.length === 0) lines.push("No version or selection state changes.");
  const rebuilt = diff.packages.filter((p) => p.kind === "rebuilt");
  if (rebuilt.length > 0) {
    lines.push(rebuiltLine(rebuilt.length));
    if (options.listRebuilt) lines.push(`  ${rebuilt.map((p) => p.name).join(", ")}`);
  }
  lines.push(closureSizeLine(diff, "->", showSizes));
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Table cells: escapeMarkdown also escapes `|` and folds newlines. */
const cell = escapeMarkdown;

function sectionMarkdown(section: Section, showSizes: boolean): string[] {
  const header = showSizes ? "|  | # | Package | Size | Versions |" : "|  | # | Package | Versions |";
  const rule = showSizes ? "|---|--:|---|--:|---|" : "|---|--:|---|---|";
  const lines = [`**${section.title}**`, "", header, rule];
  section.packages.forEach((p, i) => {
    const selected = p.selectedBefore || p.selectedAfter;
    const name = selected ? `**${cell(p.name)}**` : cell(p.name);
    const cells = [`\`${marker(p)}\``, String(i + 1), name];
    if (showSizes) cells.push(shownSize(p));
    cells.push(cell(shownVersions(p, section.both, "→")));
    lines.push(`| ${cells.join(" | ")} |`);
  });
  return lines;
}

const MARKDOWN_LEGEND =
  "<sub>U upgraded, D downgraded, C changed, A added, R removed; " +
  "`*` selected (in `environment.systemPackages`), `+` newly selected, `-` no longer selected, " +
  "`.` not selected. Bold: selected.</sub>";

function riskLinesMarkdown(risks: readonly RiskFlag[], needsReboot: boolean): string[] {
  if (risks.length === 0) return [];
  const lines = [needsReboot ? "**Risks — reboot needed**" : "**Risks**", ""];
  for (const r of risks) {
    const title = r.title.replaceAll(" -> ", " → ");
    lines.push(`- **${SEVERITY_LABEL[r.severity]}** · ${cell(title)}: ${escapeMarkdown(r.reason)}`);
  }
  return lines;
}

/** A code span for any text: a fence longer than its longest backtick run, padded when needed. */
function codeSpan(text: string): string {
  const shown = printableFile(text);
  const longest = Math.max(0, ...Array.from(shown.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = shown.startsWith("`") || shown.endsWith("`") || shown.startsWith(" ") ? " " : "";
  return `${fence}${pad}${shown}${pad}${fence}`;
}

function secretLinesMarkdown(scan: SecretScan | undefined): string[] {
  if (!scan) return [];
  const lines: string[] = [];
  if (scan.findings.length > 0) {
    lines.push("**Secrets in the store** (readable by every user)", "");
    for (const f of scan.findings) lines.push(`- ${f.kind}: ${codeSpan(findingLocation(f))}`);
  }
  const gaps = secretScanGaps(scan);
  if (gaps !== undefined) {
    if (lines.length > 0) lines.push("");
    lines.push(`_${escapeMarkdown(gaps)}_`);
  }
  return lines;
}

/**
 * The diff for a pull request body: risk flags, then one table per nvd section, rebuilt packages
 * collapsed, the closure size line. Selected packages are bold. Ends with a newline.
 */
export function renderClosureDiffMarkdown(diff: ClosureDiff, options: ClosureMarkdownOptions = {}): string {
  const showSizes = options.sizes ?? true;
  const maxRebuilt = options.maxRebuiltNames ?? 100;
  const blocks: string[][] = [];
  const risks = riskLinesMarkdown(diff.risks, diff.needsReboot);
  if (risks.length > 0) blocks.push(risks);
  const secrets = secretLinesMarkdown(diff.secrets);
  if (secrets.length > 0) blocks.push(secrets);
  // Store names cannot contain backticks, so code spans need no escaping.
  blocks.push([`\`${rootLabel(diff.before)}\` → \`${rootLabel(diff.after)}\``]);
  const note = notSystemNote(diff);
  if (note !== undefined) blocks.push([`_Note: ${escapeMarkdown(note)}_`]);
  const all = sections(diff);
  for (const section of all) blocks.push(sectionMarkdown(section, showSizes));
  if (all.length === 0) blocks.push(["No version or selection state changes."]);
  else blocks.push([MARKDOWN_LEGEND]);
  const rebuilt = diff.packages.filter((p) => p.kind === "rebuilt");
  if (rebuilt.length > 0) {
    const names = rebuilt.slice(0, maxRebuilt).map((p) => cell(p.name));
    const more = rebuilt.length - names.length;
    blocks.push([
      `<details><summary>${rebuiltLine(rebuilt.length)}</summary>`,
      "",
      names.join(", ") + (more > 0 ? `, … and ${more} more` : ""),
      "",
      "</details>",
    ]);
  }
  blocks.push([closureSizeLine(diff, "→", showSizes)]);
  return `${blocks.map((b) => b.join("\n")).join("\n\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// JSON

export const CLOSURE_DIFF_SCHEMA_VERSION = 1;

export interface ClosureSideJson {
  path: string;
  name: string;
  version: string;
  paths: number;
  narSize: number;
  swPath: string | null;
  selectedFrom: "sw" | "root";
  kernelVersions: string[];
}

export interface PackageChangeJson {
  name: string;
  kind: Exclude<ChangeKind, "rebuilt">;
  selection: PackageChange["selection"];
  selectedBefore: boolean;
  selectedAfter: boolean;
  versionsBefore: string[];
  versionsAfter: string[];
  narSizeBefore: number;
  narSizeAfter: number;
  sizeDelta: number;
  pathsBefore: string[];
  pathsAfter: string[];
}

export interface RebuiltPackageJson {
  name: string;
  versions: string[];
  selection: PackageChange["selection"];
  sizeDelta: number;
  pathsBefore: number;
  pathsAfter: number;
}

export interface ClosureDiffJson {
  schemaVersion: typeof CLOSURE_DIFF_SCHEMA_VERSION;
  kind: "closure-diff";
  before: ClosureSideJson;
  after: ClosureSideJson;
  packages: PackageChangeJson[];
  rebuilt: RebuiltPackageJson[];
  risks: RiskFlag[];
  /** The secret scan of the after side's new store paths; null when not scanned. */
  secrets: SecretScanJson | null;
  summary: {
    upgraded: number;
    downgraded: number;
    changed: number;
    added: number;
    removed: number;
    rebuilt: number;
    selectionChanged: number;
    pathsBefore: number;
    pathsAfter: number;
    pathsAdded: number;
    pathsRemoved: number;
    narSizeBefore: number;
    narSizeAfter: number;
    narSizeDelta: number;
    needsReboot: boolean;
  };
}

export interface SecretScanJson {
  findings: { storePath: string; file: string; kind: string }[];
  newPaths: number;
  pathsScanned: number;
  pathsOverBudget: number;
  filesScanned: number;
  bytesScanned: number;
  skippedBinary: number;
  skippedTooLarge: number;
  skippedOther: number;
}

export function secretsJson(scan: SecretScan | undefined): SecretScanJson | null {
  if (!scan) return null;
  return {
    ...scan,
    findings: scan.findings.map((f) => ({ storePath: f.storePath, file: f.file, kind: f.kind })),
  };
}

function sideJson(side: ClosureSide): ClosureSideJson {
  return {
    path: side.root,
    name: side.rootName,
    version: side.rootVersion,
    paths: side.paths,
    narSize: side.narSize,
    swPath: side.swPath ?? null,
    selectedFrom: side.selectedFrom,
    kernelVersions: [...side.kernelVersions],
  };
}

/** The diff as a plain, JSON-serialisable object (docs/json-schema.md, "closure-diff v1"). */
export function toClosureDiffJson(diff: ClosureDiff): ClosureDiffJson {
  const packages: PackageChangeJson[] = [];
  const rebuilt: RebuiltPackageJson[] = [];
  for (const p of diff.packages) {
    if (p.kind === "rebuilt") {
      rebuilt.push({
        name: p.name,
        versions: [...p.after.versions],
        selection: p.selection,
        sizeDelta: p.sizeDelta,
        pathsBefore: p.before.paths.length,
        pathsAfter: p.after.paths.length,
      });
      continue;
    }
    packages.push({
      name: p.name,
      kind: p.kind,
      selection: p.selection,
      selectedBefore: p.selectedBefore,
      selectedAfter: p.selectedAfter,
      versionsBefore: [...p.before.versions],
      versionsAfter: [...p.after.versions],
      narSizeBefore: p.before.narSize,
      narSizeAfter: p.after.narSize,
      sizeDelta: p.sizeDelta,
      pathsBefore: [...p.before.paths],
      pathsAfter: [...p.after.paths],
    });
  }
  return {
    schemaVersion: CLOSURE_DIFF_SCHEMA_VERSION,
    kind: "closure-diff",
    before: sideJson(diff.before),
    after: sideJson(diff.after),
    packages,
    rebuilt,
    risks: diff.risks.map((r) => ({ ...r, packages: [...r.packages] })),
    secrets: secretsJson(diff.secrets),
    summary: { ...diff.counts, ...diff.sizes, needsReboot: diff.needsReboot },
  };
}
