import { comparePaths, lockInputs, type LockedInput } from "./graph.js";
import { compareReleases, parseRelease } from "./release.js";
import type { FlakeLock, LockInputType } from "./schema.js";
import { calendarDaysBetween } from "./time.js";

export { lockCommitMessage, prTitle } from "./messages.js";

export type InputStatus = "added" | "removed" | "changed" | "unchanged";

export interface Change<T> {
  from: T;
  to: T;
}

export interface ReleaseJump {
  /** `24.11` */
  from: string;
  to: string;
  direction: "forward" | "backward";
}

/** How one input (by input path) differs between two locks. */
export interface InputDiff {
  id: string;
  path: readonly string[];
  name: string;
  /** Id of the input this one belongs to; transitive inputs follow their parent in `LockDiff.inputs`. */
  parent: string | undefined;
  depth: number;
  direct: boolean;
  status: InputStatus;
  before?: LockedInput;
  after?: LockedInput;
  oldRev?: string;
  newRev?: string;
  oldLastModified?: Date;
  newLastModified?: Date;
  /** UTC calendar days from the old to the new lastModified; negative when the input moved back. */
  daysMoved?: number;
  revChanged: boolean;
  /** The narHash differs: the fetched content changed (the only signal for inputs without a rev). */
  contentChanged: boolean;
  refChange?: Change<string | undefined>;
  releaseJump?: ReleaseJump;
  /** Where the input comes from (`location`, ref excluded) changed. */
  sourceChange?: Change<string>;
  typeChange?: Change<LockInputType>;
  /** Followed input ids; `undefined` on a side where the input has its own node. */
  followsChange?: Change<string | undefined>;
  flakeChange?: Change<boolean>;
  /** A web page showing the commits between the two revisions, when both sides are one repo on a known forge. */
  compareUrl?: string;
}

export interface LockDiff {
  /** True when any input was added, removed or changed. */
  changed: boolean;
  /** Every input of either lock, depth first by name; transitive inputs come right after their parent. */
  inputs: InputDiff[];
  counts: Record<InputStatus, number>;
}

export interface LockDiffOptions {
  /** Forgejo/Gitea hosts (besides codeberg.org) whose `git` inputs get compare links. */
  forgeHosts?: readonly string[];
}

export function diffLocks(before: FlakeLock, after: FlakeLock, options: LockDiffOptions = {}): LockDiff {
  const old = new Map(lockInputs(before).map((i) => [i.id, i]));
  const now = new Map(lockInputs(after).map((i) => [i.id, i]));
  const paths = new Map<string, readonly string[]>();
  for (const input of [...old.values(), ...now.values()]) paths.set(input.id, input.path);
  const ordered = [...paths.values()].sort(comparePaths);

  const forgeHosts = new Set(["codeberg.org", ...(options.forgeHosts ?? []).map((h) => h.toLowerCase())]);
  const inputs = ordered.map((path) => {
    const id = path.join("/");
    return diffInput(path, old.get(id), now.get(id), forgeHosts);
  });
  const counts: Record<InputStatus, number> = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  for (const input of inputs) counts[input.status]++;
  return { changed: counts.added + counts.removed + counts.changed > 0, inputs, counts };
}

/** The inputs that were added, removed or changed, in diff order. */
export function changedInputs(diff: LockDiff): InputDiff[] {
  return diff.inputs.filter((i) => i.status !== "unchanged");
}

function diffInput(
  path: readonly string[],
  before: LockedInput | undefined,
  after: LockedInput | undefined,
  forgeHosts: ReadonlySet<string>,
): InputDiff {
  const base = {
    id: path.join("/"),
    path,
    name: path.at(-1) ?? "",
    parent: path.length > 1 ? path.slice(0, -1).join("/") : undefined,
    depth: path.length - 1,
    direct: path.length === 1,
  };
  if (before === undefined && after === undefined) throw new Error(`input ${base.id} is in neither lock`);
  if (before === undefined || after === undefined) {
    const side = (before ?? after) as LockedInput;
    const added = before === undefined;
    return {
      ...base,
      status: added ? "added" : "removed",
      ...(added ? { after: side } : { before: side }),
      ...defined(
        added
          ? { newRev: side.rev, newLastModified: side.lastModified }
          : { oldRev: side.rev, oldLastModified: side.lastModified },
      ),
      revChanged: false,
      contentChanged: false,
    };
  }

  const bothFollow = before.follows !== undefined && after.follows !== undefined;
  const changes: Partial<InputDiff> = {};
  if (before.followsTarget !== after.followsTarget) {
    changes.followsChange = { from: before.followsTarget, to: after.followsTarget };
  }
  // Two follows inputs with the same target are the same input; changes show on the target itself.
  const revChanged = !bothFollow && before.rev !== after.rev;
  const contentChanged = !bothFollow && before.narHash !== after.narHash;
  if (!bothFollow) {
    if (before.ref !== after.ref) changes.refChange = { from: before.ref, to: after.ref };
    const jump = releaseJump(before.ref, after.ref);
    if (jump) changes.releaseJump = jump;
    if (before.location !== after.location)
      changes.sourceChange = { from: before.location, to: after.location };
    if (before.type !== after.type) changes.typeChange = { from: before.type, to: after.type };
    if (before.flake !== after.flake) changes.flakeChange = { from: before.flake, to: after.flake };
  }
  const datesMoved = !bothFollow && before.lastModified?.getTime() !== after.lastModified?.getTime();
  const changed = revChanged || contentChanged || datesMoved || Object.keys(changes).length > 0;
  if (!changed)
    return { ...base, status: "unchanged", before, after, revChanged: false, contentChanged: false };

  const result: InputDiff = {
    ...base,
    status: "changed",
    before,
    after,
    ...defined({
      oldRev: before.rev,
      newRev: after.rev,
      oldLastModified: before.lastModified,
      newLastModified: after.lastModified,
    }),
    revChanged,
    contentChanged,
    ...changes,
  };
  if (before.lastModified !== undefined && after.lastModified !== undefined) {
    result.daysMoved = calendarDaysBetween(before.lastModified, after.lastModified);
  }
  const url = revChanged ? compareUrl(before, after, forgeHosts) : undefined;
  if (url !== undefined) result.compareUrl = url;
  return result;
}

/** A jump when both refs name a NixOS release and the releases differ (`nixos-24.11` → `nixos-25.05`). */
export function releaseJump(fromRef: string | undefined, toRef: string | undefined): ReleaseJump | undefined {
  const from = parseRelease(fromRef);
  const to = parseRelease(toRef);
  if (from === undefined || to === undefined || from === to) return undefined;
  return { from, to, direction: compareReleases(from, to) < 0 ? "forward" : "backward" };
}

interface ForgeRepo {
  forge: "github" | "gitlab" | "sourcehut" | "gitea";
  host: string;
  owner: string;
  repo: string;
}

function forgeRepo(input: LockedInput, forgeHosts: ReadonlySet<string>): ForgeRepo | undefined {
  const { owner, repo } = input;
  if (owner === undefined || repo === undefined) return undefined;
  const host = input.host?.toLowerCase();
  switch (input.type) {
    case "github":
      return { forge: "github", host: host ?? "github.com", owner, repo };
    case "gitlab":
      return { forge: "gitlab", host: host ?? "gitlab.com", owner: safeDecode(owner), repo };
    case "sourcehut":
      return { forge: "sourcehut", host: host ?? "git.sr.ht", owner, repo };
    case "git": {
      if (host === undefined || !/^(?:https?|ssh|git):/.test(input.url ?? "")) return undefined;
      if (host === "github.com") return { forge: "github", host, owner, repo };
      if (host === "gitlab.com") return { forge: "gitlab", host, owner, repo };
      if (host === "git.sr.ht") return { forge: "sourcehut", host, owner, repo };
      if (forgeHosts.has(host)) return { forge: "gitea", host, owner, repo };
      return undefined;
    }
    case "mercurial":
    case "path":
    case "tarball":
    case "file":
    case "indirect":
      return undefined;
  }
}

/**
 * GitHub, Forgejo/Gitea: `/O/R/compare/OLD...NEW`; GitLab: `/O/R/-/compare/OLD...NEW`.
 * SourceHut has no compare view, so we link the log starting at the new revision: its first
 * entries are exactly the commits the update brings in, down to the old revision.
 */
function compareUrl(
  before: LockedInput,
  after: LockedInput,
  forgeHosts: ReadonlySet<string>,
): string | undefined {
  const a = forgeRepo(before, forgeHosts);
  const b = forgeRepo(after, forgeHosts);
  if (a === undefined || b === undefined || before.rev === undefined || after.rev === undefined)
    return undefined;
  const same =
    a.forge === b.forge &&
    a.host === b.host &&
    a.owner.toLowerCase() === b.owner.toLowerCase() &&
    a.repo.toLowerCase() === b.repo.toLowerCase();
  if (!same) return undefined;
  const project = `https://${b.host}/${[...b.owner.split("/"), b.repo].map(encodeURIComponent).join("/")}`;
  const range = `${encodeURIComponent(before.rev)}...${encodeURIComponent(after.rev)}`;
  switch (b.forge) {
    case "github":
    case "gitea":
      return `${project}/compare/${range}`;
    case "gitlab":
      return `${project}/-/compare/${range}`;
    case "sourcehut": {
      const owner = b.owner.startsWith("~") ? b.owner : `~${b.owner}`;
      return `https://${b.host}/${encodeURIComponent(owner)}/${encodeURIComponent(b.repo)}/log/${encodeURIComponent(after.rev)}`;
    }
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Drop undefined values so optional fields are absent rather than present-but-undefined. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
