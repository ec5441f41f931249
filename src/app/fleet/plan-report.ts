/**
 * Reading a saved `ternix plan --format json` report back into the plan's model, so `ternix pr
 * --report FILE` renders the same Markdown as a fresh plan without building anything again.
 *
 * The JSON (schema "plan v1", `toPlanJson`) carries everything the renderers read. Two things are
 * not in it: the store paths of rebuilt packages (only their counts are), which come back as empty
 * lists, and the facts read from each toplevel's files (kernel, initrd, bootspec), which come back
 * as an empty set; no renderer shows either. Pure: text in, model out.
 */
import { z } from "zod";
import type { ClosureDiff, ClosureSide, PackageChange, SelectionMarker } from "../../closure/model.js";
import { InputError } from "../../errors.js";
import type { InputDiff, LockDiff } from "../../lock/diff.js";
import type { LockedInput } from "../../lock/graph.js";
import { LockInputType } from "../../lock/schema.js";
import type { HostBuild } from "./hosts.js";
import type { HostPlan, PlanResult } from "./plan-model.js";

const nullableString = z.string().nullable();
const isoDate = z.iso.datetime({ offset: true }).nullable();

const LockedInputJson = z.object({
  id: z.string(),
  path: z.array(z.string()),
  parent: nullableString,
  depth: z.number().int(),
  direct: z.boolean(),
  nodeKey: z.string(),
  follows: z.array(z.string()).nullable(),
  followsTarget: nullableString,
  sameNodeAs: z.array(z.string()),
  flake: z.boolean(),
  type: LockInputType,
  source: z.string(),
  location: z.string(),
  owner: nullableString,
  repo: nullableString,
  host: nullableString,
  url: nullableString,
  dir: nullableString,
  ref: nullableString,
  rev: nullableString,
  shortRev: nullableString,
  lastModified: isoDate,
  narHash: nullableString,
  revCount: z.number().int().nullable(),
});
type LockedInputJson = z.infer<typeof LockedInputJson>;

const change = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value }).nullable();

const InputDiffJson = z.object({
  id: z.string(),
  path: z.array(z.string()),
  parent: nullableString,
  depth: z.number().int(),
  direct: z.boolean(),
  status: z.enum(["added", "removed", "changed", "unchanged"]),
  oldRev: nullableString,
  newRev: nullableString,
  oldLastModified: isoDate,
  newLastModified: isoDate,
  daysMoved: z.number().nullable(),
  revChanged: z.boolean(),
  contentChanged: z.boolean(),
  refChange: change(nullableString),
  releaseJump: z
    .object({ from: z.string(), to: z.string(), direction: z.enum(["forward", "backward"]) })
    .nullable(),
  sourceChange: change(z.string()),
  typeChange: change(LockInputType),
  followsChange: change(nullableString),
  flakeChange: change(z.boolean()),
  compareUrl: nullableString,
  before: LockedInputJson.nullable(),
  after: LockedInputJson.nullable(),
});
type InputDiffJson = z.infer<typeof InputDiffJson>;

const LockDiffJson = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal("lock-diff"),
  changed: z.boolean(),
  counts: z.object({
    added: z.number().int(),
    removed: z.number().int(),
    changed: z.number().int(),
    unchanged: z.number().int(),
  }),
  inputs: z.array(InputDiffJson),
});

const Selection = z.enum(["*", "+", "-", "."]);

const ClosureSideJson = z.object({
  path: z.string(),
  name: z.string(),
  version: z.string(),
  paths: z.number().int(),
  narSize: z.number(),
  swPath: nullableString,
  selectedFrom: z.enum(["sw", "root"]),
  kernelVersions: z.array(z.string()),
});
type ClosureSideJson = z.infer<typeof ClosureSideJson>;

const ClosureDiffJson = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal("closure-diff"),
  before: ClosureSideJson,
  after: ClosureSideJson,
  packages: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(["upgraded", "downgraded", "changed", "added", "removed", "unchanged"]),
      selection: Selection,
      selectedBefore: z.boolean(),
      selectedAfter: z.boolean(),
      versionsBefore: z.array(z.string()),
      versionsAfter: z.array(z.string()),
      narSizeBefore: z.number(),
      narSizeAfter: z.number(),
      sizeDelta: z.number(),
      pathsBefore: z.array(z.string()),
      pathsAfter: z.array(z.string()),
    }),
  ),
  rebuilt: z.array(
    z.object({
      name: z.string(),
      versions: z.array(z.string()),
      selection: Selection,
      sizeDelta: z.number(),
      pathsBefore: z.number().int(),
      pathsAfter: z.number().int(),
    }),
  ),
  risks: z.array(
    z.object({
      id: z.string(),
      severity: z.enum(["reboot", "test-first", "caution", "info"]),
      title: z.string(),
      reason: z.string(),
      packages: z.array(z.string()),
      source: z.enum(["system", "packages"]),
    }),
  ),
  summary: z.object({
    upgraded: z.number().int(),
    downgraded: z.number().int(),
    changed: z.number().int(),
    added: z.number().int(),
    removed: z.number().int(),
    rebuilt: z.number().int(),
    selectionChanged: z.number().int(),
    pathsBefore: z.number().int(),
    pathsAfter: z.number().int(),
    pathsAdded: z.number().int(),
    pathsRemoved: z.number().int(),
    narSizeBefore: z.number(),
    narSizeAfter: z.number(),
    narSizeDelta: z.number(),
    needsReboot: z.boolean(),
  }),
});
type ClosureDiffJson = z.infer<typeof ClosureDiffJson>;

const HostBuildJson = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), toplevel: z.string(), drvPath: z.string() }),
  z.object({
    ok: z.literal(false),
    stage: z.enum(["eval", "build"]),
    error: z.string(),
    logTail: nullableString,
    drvPath: nullableString,
  }),
]);
type HostBuildJson = z.infer<typeof HostBuildJson>;

/** The `ternix plan --format json` document, schema version 1 (docs/json-schema.md). */
export const PlanJson = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal("plan"),
  outcome: z.enum(["changed", "lock-unchanged", "no-host-changed", "host-broken"]),
  exitCode: z.number().int(),
  flake: z.string(),
  mode: z.enum(["update", "skip-update"]),
  /** Added with `plan --no-build`; reports made before it are built ones. */
  basis: z.enum(["build", "derivations"]).default("build"),
  inputs: z.array(z.string()),
  lockState: z.enum(["updated", "restored", "untouched"]),
  lock: LockDiffJson,
  hosts: z.array(
    z.object({
      host: z.string(),
      status: z.enum(["changed", "unchanged", "broken", "fixed", "failing"]),
      before: HostBuildJson,
      after: HostBuildJson,
      diff: ClosureDiffJson.nullable(),
      cost: z
        .object({ toBuild: z.array(z.string()), fetchPaths: z.number().int(), downloadBytes: z.number() })
        .nullable()
        .default(null),
      buildTimeChanges: z
        .array(
          z.object({
            name: z.string(),
            kind: z.enum(["upgraded", "downgraded", "changed", "added", "removed", "rebuilt", "unchanged"]),
            versionsBefore: z.array(z.string()),
            versionsAfter: z.array(z.string()),
          }),
        )
        .default([]),
    }),
  ),
  skippedHosts: z.array(z.string()),
  timingsMs: z.record(z.string(), z.number()),
});
export type PlanJson = z.infer<typeof PlanJson>;

/** Parses a saved plan report; errors name the file and the JSON path. */
export function parsePlanJson(text: string, file: string): PlanResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`, {
      hint: "Pass the file `ternix plan --format json --output FILE` wrote.",
    });
  }
  const kind = (data as { kind?: unknown } | null)?.kind;
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (kind !== "plan") {
    throw new InputError(`${file} is not a ternix plan report (kind ${JSON.stringify(kind ?? null)}).`, {
      hint: "Pass the file `ternix plan --format json --output FILE` wrote.",
    });
  }
  if (version !== 1) {
    throw new InputError(
      `${file} is a plan report with schemaVersion ${JSON.stringify(version ?? null)}; this Ternix reads version 1.`,
      {
        hint: "Make the report with the same Ternix version that opens the pull request.",
      },
    );
  }
  const parsed = PlanJson.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new InputError(`${file}: ${where}: ${issue?.message ?? "invalid"}`, {
      hint: "The report was changed or cut short; make it again with `ternix plan --format json --output FILE`.",
    });
  }
  return planFromJson(parsed.data);
}

export function planFromJson(json: PlanJson): PlanResult {
  return {
    outcome: json.outcome,
    flakeDir: json.flake,
    mode: json.mode,
    basis: json.basis,
    inputs: [...json.inputs],
    lockDiff: lockDiffFromJson(json.lock),
    hosts: json.hosts.map((h): HostPlan =>
      compact({
        host: h.host,
        status: h.status,
        before: hostBuildFromJson(h.host, h.before),
        after: hostBuildFromJson(h.host, h.after),
        diff: h.diff === null ? undefined : closureDiffFromJson(h.diff),
        cost:
          h.cost === null
            ? undefined
            : {
                toBuild: h.cost.toBuild.map((drvPath) => ({ drvPath, inputDrvs: 0 })),
                fetchPaths: h.cost.fetchPaths,
                downloadBytes: h.cost.downloadBytes,
                heavyThreshold: 0,
              },
        buildTimeChanges:
          h.buildTimeChanges.length === 0
            ? undefined
            : h.buildTimeChanges.map((p): PackageChange => ({
                name: p.name,
                kind: p.kind,
                selection: ".",
                selectedBefore: false,
                selectedAfter: false,
                before: { versions: [...p.versionsBefore], paths: [], narSize: 0 },
                after: { versions: [...p.versionsAfter], paths: [], narSize: 0 },
                sizeDelta: 0,
              })),
      }),
    ),
    skippedHosts: [...json.skippedHosts],
    lockState: json.lockState,
    timings: { ...json.timingsMs },
  };
}

function lockDiffFromJson(json: z.infer<typeof LockDiffJson>): LockDiff {
  return { changed: json.changed, counts: { ...json.counts }, inputs: json.inputs.map(inputDiffFromJson) };
}

function inputDiffFromJson(i: InputDiffJson): InputDiff {
  const opt = <T>(c: { from: T | null; to: T | null } | null) =>
    c === null ? undefined : { from: c.from ?? undefined, to: c.to ?? undefined };
  return compact({
    id: i.id,
    path: [...i.path],
    name: i.path.at(-1) ?? "",
    parent: i.parent ?? undefined,
    depth: i.depth,
    direct: i.direct,
    status: i.status,
    before: i.before === null ? undefined : lockedInputFromJson(i.before),
    after: i.after === null ? undefined : lockedInputFromJson(i.after),
    oldRev: i.oldRev ?? undefined,
    newRev: i.newRev ?? undefined,
    oldLastModified: date(i.oldLastModified),
    newLastModified: date(i.newLastModified),
    daysMoved: i.daysMoved ?? undefined,
    revChanged: i.revChanged,
    contentChanged: i.contentChanged,
    refChange: opt(i.refChange),
    releaseJump: i.releaseJump ?? undefined,
    sourceChange: i.sourceChange ?? undefined,
    typeChange: i.typeChange ?? undefined,
    followsChange: opt(i.followsChange),
    flakeChange: i.flakeChange ?? undefined,
    compareUrl: i.compareUrl ?? undefined,
  });
}

function lockedInputFromJson(i: LockedInputJson): LockedInput {
  return compact({
    id: i.id,
    path: [...i.path],
    name: i.path.at(-1) ?? "",
    parent: i.parent ?? undefined,
    depth: i.depth,
    direct: i.direct,
    nodeKey: i.nodeKey,
    follows: i.follows ?? undefined,
    followsTarget: i.followsTarget ?? undefined,
    sameNodeAs: [...i.sameNodeAs],
    flake: i.flake,
    type: i.type,
    source: i.source,
    location: i.location,
    owner: i.owner ?? undefined,
    repo: i.repo ?? undefined,
    host: i.host ?? undefined,
    url: i.url ?? undefined,
    dir: i.dir ?? undefined,
    ref: i.ref ?? undefined,
    rev: i.rev ?? undefined,
    shortRev: i.shortRev ?? undefined,
    lastModified: date(i.lastModified),
    narHash: i.narHash ?? undefined,
    revCount: i.revCount ?? undefined,
  });
}

function hostBuildFromJson(host: string, b: HostBuildJson): HostBuild {
  if (b.ok) return { host, ok: true, drvPath: b.drvPath, toplevel: b.toplevel };
  return compact({
    host,
    ok: false as const,
    stage: b.stage,
    error: b.error,
    logTail: b.logTail ?? undefined,
    drvPath: b.drvPath ?? undefined,
  });
}

const SELECTED: Record<SelectionMarker, [before: boolean, after: boolean]> = {
  "*": [true, true],
  "+": [false, true],
  "-": [true, false],
  ".": [false, false],
};

function closureDiffFromJson(d: ClosureDiffJson): ClosureDiff {
  const changes: PackageChange[] = d.packages.map((p) => ({
    name: p.name,
    kind: p.kind,
    selection: p.selection,
    selectedBefore: p.selectedBefore,
    selectedAfter: p.selectedAfter,
    before: { versions: [...p.versionsBefore], paths: [...p.pathsBefore], narSize: p.narSizeBefore },
    after: { versions: [...p.versionsAfter], paths: [...p.pathsAfter], narSize: p.narSizeAfter },
    sizeDelta: p.sizeDelta,
  }));
  // The report keeps only counts for rebuilt packages' paths and no per-side sizes.
  const rebuilt: PackageChange[] = d.rebuilt.map((p) => {
    const [selectedBefore, selectedAfter] = SELECTED[p.selection];
    return {
      name: p.name,
      kind: "rebuilt",
      selection: p.selection,
      selectedBefore,
      selectedAfter,
      before: { versions: [...p.versions], paths: [], narSize: 0 },
      after: { versions: [...p.versions], paths: [], narSize: 0 },
      sizeDelta: p.sizeDelta,
    };
  });
  const s = d.summary;
  return {
    before: sideFromJson(d.before),
    after: sideFromJson(d.after),
    packages: [...changes, ...rebuilt].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    counts: {
      upgraded: s.upgraded,
      downgraded: s.downgraded,
      changed: s.changed,
      added: s.added,
      removed: s.removed,
      rebuilt: s.rebuilt,
      selectionChanged: s.selectionChanged,
    },
    sizes: {
      pathsBefore: s.pathsBefore,
      pathsAfter: s.pathsAfter,
      pathsAdded: s.pathsAdded,
      pathsRemoved: s.pathsRemoved,
      narSizeBefore: s.narSizeBefore,
      narSizeAfter: s.narSizeAfter,
      narSizeDelta: s.narSizeDelta,
    },
    risks: d.risks.map((r) => ({ ...r, packages: [...r.packages] })),
    needsReboot: s.needsReboot,
  };
}

function sideFromJson(s: ClosureSideJson): ClosureSide {
  return compact({
    // The JSON leaves out the facts read from the toplevel's files. A plan's roots are NixOS
    // toplevels, which have them: an empty set keeps the renderers from calling them "not a system".
    system: {},
    root: s.path,
    rootName: s.name,
    rootVersion: s.version,
    paths: s.paths,
    narSize: s.narSize,
    swPath: s.swPath ?? undefined,
    selectedFrom: s.selectedFrom,
    kernelVersions: [...s.kernelVersions],
  });
}

function date(iso: string | null): Date | undefined {
  return iso === null ? undefined : new Date(iso);
}

/** The object without its undefined properties (the model leaves absent optional fields out). */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
