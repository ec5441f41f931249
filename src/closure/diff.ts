/**
 * Package-level diff of two closures: group store paths by package name, compare version sets,
 * mark selected packages, sum sizes, then attach risk flags. Linear in the number of paths apart
 * from sorting, so a pair of 3,000-path NixOS closures takes milliseconds.
 *
 * Semantics, and where they differ from nvd and `nix store diff-closures`:
 * - Package identity is the `pname` (see store-name.ts); output suffixes (`-bin`, `-dev`, …) are
 *   neither name nor version, so a package's outputs form one line, as in both tools.
 * - A NixOS system's root (`nixos-system-web-24.11…`, or any root with a `sw`) is not listed as a
 *   package: its version changes on every update and says nothing about what runs. It is reported
 *   in `before`/`after` instead and counted in the sizes. nvd lists it as an ordinary package. Any
 *   other root is a package like every other (`git-2.47.0` -> `git-2.49.0` is git upgraded).
 * - Upgrade/downgrade: see {@link classifyVersionChange}. Versions compare with Nix's own
 *   `compareVersions` (but numbers past 2^31 stay numbers: see version.ts); nvd uses an
 *   approximation of it.
 * - Rebuilds (same versions, different paths) are classified and counted; nvd ignores them, and
 *   diff-closures shows them only as a size change above 8 KiB.
 * - Selected packages: the references of `sw` (`system.swPath`, else the root reference named
 *   `system-path`) when BOTH sides have one, else the references of each root — nvd's rule, and the
 *   right one for mixed pairs (a system against a plain package or a bare closure): a selection
 *   marker compares one side's selection with the other's, which means something only when both
 *   were read the same way. Deciding per side would mark every `environment.systemPackages` entry
 *   `-` and every reference of the other root `+` merely because the sides are of different kinds.
 */
import { parseStorePath } from "./store-name.js";
import { compareVersions, sortVersions } from "./version.js";
import type {
  ChangeKind,
  ClosureDiff,
  ClosureDiffCounts,
  ClosureInput,
  ClosureSide,
  PackageChange,
  PackageSide,
  SelectionMarker,
  StorePathInfo,
} from "./model.js";
import { assessRisks, isKernelPname } from "./risk.js";

interface PackageGroup {
  versions: Set<string>;
  paths: string[];
  narSize: number;
}

interface IndexedClosure {
  side: ClosureSide;
  byPath: ReadonlyMap<string, StorePathInfo>;
  groups: Map<string, PackageGroup>;
  rootInfo: StorePathInfo | undefined;
  swInfo: StorePathInfo | undefined;
}

/** Index one closure: dedupe paths, group them by package, find its `sw`. */
function indexClosure(input: ClosureInput): IndexedClosure {
  const byPath = new Map<string, StorePathInfo>();
  for (const info of input.paths) byPath.set(info.path, info);

  const rootInfo = byPath.get(input.root);
  // NixOS's `sw` is the `system-path` derivation; a suffix test avoids parsing every root reference.
  const swPath = input.system?.swPath ?? rootInfo?.references.find((ref) => ref.endsWith("-system-path"));
  const swInfo = swPath === undefined ? undefined : byPath.get(swPath);
  const rootParsed = parseStorePath(input.root);
  const isSystem =
    input.system !== undefined ||
    swInfo !== undefined ||
    rootParsed?.pname.startsWith("nixos-system-") === true;

  let narSize = 0;
  const groups = new Map<string, PackageGroup>();
  for (const info of byPath.values()) {
    narSize += info.narSize;
    if (isSystem && info.path === input.root) continue;
    const parsed = parseStorePath(info.path);
    if (!parsed) continue;
    let group = groups.get(parsed.pname);
    if (!group) {
      group = { versions: new Set(), paths: [], narSize: 0 };
      groups.set(parsed.pname, group);
    }
    group.versions.add(parsed.version);
    group.paths.push(info.path);
    group.narSize += info.narSize;
  }

  const side: ClosureSide = {
    root: input.root,
    rootName: rootParsed?.pname ?? input.root,
    rootVersion: rootParsed?.version ?? "",
    paths: byPath.size,
    narSize,
    // Decided for both sides together, in diffClosures.
    selectedFrom: "root",
    kernelVersions: sortVersions(
      new Set(
        [...groups]
          .filter(([pname]) => isKernelPname(pname))
          .flatMap(([, group]) => [...group.versions].filter((v) => v !== "")),
      ),
    ),
  };
  if (swInfo) side.swPath = swInfo.path;
  if (input.system) side.system = input.system;
  return { side, byPath, groups, rootInfo, swInfo };
}

/** The pnames `source` references (itself and the root excepted): the packages the user selected. */
function selectedPackages(source: StorePathInfo | undefined, root: string): Set<string> {
  const selected = new Set<string>();
  for (const ref of source?.references ?? []) {
    if (ref === source?.path || ref === root) continue;
    const parsed = parseStorePath(ref);
    if (parsed) selected.add(parsed.pname);
  }
  return selected;
}

function toSide(group: PackageGroup): PackageSide {
  const versions = group.versions.size === 1 ? [...group.versions] : sortVersions(group.versions);
  return { versions, paths: group.paths.sort(), narSize: group.narSize };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Classify a version-set change; `before` and `after` are sorted ascending and differ. Versions kept
 * on both sides are ignored. Of the rest, the change is an upgrade when every new version is higher
 * than every old one (`{1.0} -> {1.1, 1.2}`, as nvd says), a downgrade when every new one is lower.
 * Otherwise, with as many versions gone as came, they pair up in order, each pair one package line
 * (`{1.0, 2.0} -> {1.1, 2.1}`: both lines upgraded, so upgraded; nvd says changed, since 1.1 < 2.0).
 * Anything else (a version only added or dropped, pairs that disagree) is changed.
 */
export function classifyVersionChange(
  before: readonly string[],
  after: readonly string[],
): "upgraded" | "downgraded" | "changed" {
  const beforeSet = new Set(before);
  const afterSet = new Set(after);
  const gone = before.filter((v) => !afterSet.has(v));
  const came = after.filter((v) => !beforeSet.has(v));
  if (gone.length === 0 || came.length === 0) return "changed";
  // Sorted ascending, so comparing the extremes compares every pair.
  if (compareVersions(gone.at(-1) ?? "", came[0] ?? "") < 0) return "upgraded";
  if (compareVersions(came.at(-1) ?? "", gone[0] ?? "") < 0) return "downgraded";
  if (gone.length !== came.length) return "changed";
  let up = true;
  let down = true;
  gone.forEach((old, i) => {
    const order = compareVersions(old, came[i] ?? "");
    if (order >= 0) up = false;
    if (order <= 0) down = false;
  });
  return up ? "upgraded" : down ? "downgraded" : "changed";
}

export function selectionMarker(before: boolean, after: boolean): SelectionMarker {
  return before ? (after ? "*" : "-") : after ? "+" : ".";
}

/** Diff two closures at package level and assess the risks of switching from `before` to `after`. */
export function diffClosures(before: ClosureInput, after: ClosureInput): ClosureDiff {
  const left = indexClosure(before);
  const right = indexClosure(after);
  // One rule for both sides (see the header): `sw` when both have one, else each root.
  const fromSw = left.swInfo !== undefined && right.swInfo !== undefined;
  left.side.selectedFrom = right.side.selectedFrom = fromSw ? "sw" : "root";
  const leftSelected = selectedPackages(fromSw ? left.swInfo : left.rootInfo, before.root);
  const rightSelected = selectedPackages(fromSw ? right.swInfo : right.rootInfo, after.root);

  const names = new Set([...left.groups.keys(), ...right.groups.keys()]);
  const packages: PackageChange[] = [];
  for (const name of [...names].sort(byCodeUnit)) {
    const b = left.groups.get(name);
    const a = right.groups.get(name);
    const beforeSide = b ? toSide(b) : { versions: [], paths: [], narSize: 0 };
    const afterSide = a ? toSide(a) : { versions: [], paths: [], narSize: 0 };
    let kind: ChangeKind;
    if (!b) kind = "added";
    else if (!a) kind = "removed";
    else if (sameMembers(beforeSide.versions, afterSide.versions)) {
      kind = sameMembers(beforeSide.paths, afterSide.paths) ? "unchanged" : "rebuilt";
    } else kind = classifyVersionChange(beforeSide.versions, afterSide.versions);

    const selectedBefore = leftSelected.has(name);
    const selectedAfter = rightSelected.has(name);
    if (kind === "unchanged" && selectedBefore === selectedAfter) continue;
    packages.push({
      name,
      kind,
      selection: selectionMarker(selectedBefore, selectedAfter),
      selectedBefore,
      selectedAfter,
      before: beforeSide,
      after: afterSide,
      sizeDelta: afterSide.narSize - beforeSide.narSize,
    });
  }

  const counts: ClosureDiffCounts = {
    upgraded: 0,
    downgraded: 0,
    changed: 0,
    added: 0,
    removed: 0,
    rebuilt: 0,
    selectionChanged: 0,
  };
  for (const p of packages) {
    if (p.kind !== "unchanged") counts[p.kind]++;
    if (isSelectionOnlyChange(p)) counts.selectionChanged++;
  }

  let pathsAdded = 0;
  for (const path of right.byPath.keys()) if (!left.byPath.has(path)) pathsAdded++;
  let pathsRemoved = 0;
  for (const path of left.byPath.keys()) if (!right.byPath.has(path)) pathsRemoved++;

  const core = {
    before: left.side,
    after: right.side,
    packages,
    counts,
    sizes: {
      pathsBefore: left.side.paths,
      pathsAfter: right.side.paths,
      pathsAdded,
      pathsRemoved,
      narSizeBefore: left.side.narSize,
      narSizeAfter: right.side.narSize,
      narSizeDelta: right.side.narSize - left.side.narSize,
    },
  };
  const { risks, needsReboot } = assessRisks(core);
  return { ...core, risks, needsReboot };
}

/**
 * nvd's "Selection state changes": packages whose versions did not change (they may have been
 * rebuilt) but which became selected or unselected.
 */
export function isSelectionOnlyChange(p: PackageChange): boolean {
  return (p.kind === "unchanged" || p.kind === "rebuilt") && p.selectedBefore !== p.selectedAfter;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
