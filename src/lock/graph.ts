import { formatFlakeRef, repoFromUrl, shortRefName } from "./flake-ref.js";
import { resolveInputPath } from "./resolve.js";
import type { FlakeLock, LockInputRef, LockInputType, LockNode, LockRef } from "./schema.js";

/**
 * One input of the flake, direct or transitive, named by its input path from the root.
 *
 * A `follows` input has no node of its own: `follows` holds the path the lock gives and
 * `followsTarget` the id of the input that owns the node it ends at. Its source fields (type,
 * source, rev, ...) describe that target node, so a reader need not look it up.
 */
export interface LockedInput {
  /** Input path joined with `/`: `home/nixpkgs`. */
  id: string;
  path: readonly string[];
  /** The last path element: the name the parent flake uses. */
  name: string;
  /** Id of the input this one belongs to; undefined for direct inputs of the root flake. */
  parent: string | undefined;
  /** 0 for direct inputs. */
  depth: number;
  direct: boolean;
  /** The node this input resolves to (for a follows input: the target's node). */
  nodeKey: string;
  follows?: readonly string[];
  /** Id of the input owning the followed node; `""` when it follows the root flake itself (`follows = ""`). */
  followsTarget?: string;
  /** Other (non-follows) inputs that reach the very same node by another path. */
  sameNodeAs: readonly string[];
  /** False for `flake = false` inputs. */
  flake: boolean;
  /** The fetcher that locked it (`locked.type`); an `indirect` original resolves to a concrete type. */
  type: LockInputType;
  /** The reference as written in flake.nix (`original`), for display: `github:NixOS/nixpkgs/nixos-24.11`. */
  source: string;
  /** `source` without ref or rev (`github:NixOS/nixpkgs`): when it differs, the input moved elsewhere. */
  location: string;
  owner?: string;
  repo?: string;
  host?: string;
  url?: string;
  dir?: string;
  /** Branch or tag: `original.ref`, else the locked ref, without `refs/heads/`. */
  ref?: string;
  rev?: string;
  shortRev?: string;
  lastModified?: Date;
  narHash?: string;
  revCount?: number;
}

/**
 * Every input reachable from the root, depth first with names sorted (code-unit order), so the
 * output is the same for the same lock. A node shared by several paths appears under each of them
 * (see `sameNodeAs`); a follows input is listed but not descended into, its target is.
 */
export function lockInputs(lock: FlakeLock): LockedInput[] {
  const out: LockedInput[] = [];
  const walk = (nodeKey: string, parentPath: readonly string[], stack: readonly string[]): void => {
    const inputs = lock.nodes.get(nodeKey)?.inputs ?? new Map<string, LockInputRef>();
    for (const name of [...inputs.keys()].sort(compareNames)) {
      const ref = inputs.get(name);
      if (ref === undefined) continue;
      const path = [...parentPath, name];
      if (typeof ref === "string") {
        out.push(makeInput(lock, path, ref, undefined));
        // parseFlakeLock rejects node cycles; the stack check keeps hand-built locks from looping.
        if (!stack.includes(ref)) walk(ref, path, [...stack, ref]);
      } else {
        const target = resolveInputPath(lock, ref);
        if (!target.ok) throw new Error(`flake.lock input ${path.join("/")}: ${target.problem}`);
        out.push(
          makeInput(lock, path, target.nodeKey, { path: ref, target: target.canonicalPath.join("/") }),
        );
      }
    }
  };
  walk(lock.root, [], [lock.root]);

  const byNode = new Map<string, string[]>();
  for (const input of out) {
    if (input.follows === undefined)
      byNode.set(input.nodeKey, [...(byNode.get(input.nodeKey) ?? []), input.id]);
  }
  return out.map((input) =>
    input.follows === undefined
      ? { ...input, sameNodeAs: (byNode.get(input.nodeKey) ?? []).filter((id) => id !== input.id) }
      : input,
  );
}

/** Sort input names and ids the same way everywhere. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Depth-first order of input paths: a parent before its children, siblings by name. */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareNames(a[i] ?? "", b[i] ?? "");
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

function makeInput(
  lock: FlakeLock,
  path: readonly string[],
  nodeKey: string,
  follows: { path: readonly string[]; target: string } | undefined,
): LockedInput {
  const node: LockNode | undefined = lock.nodes.get(nodeKey);
  const base = {
    id: path.join("/"),
    path,
    name: path.at(-1) ?? "",
    parent: path.length > 1 ? path.slice(0, -1).join("/") : undefined,
    depth: path.length - 1,
    direct: path.length === 1,
    nodeKey,
    ...(follows === undefined ? {} : { follows: follows.path, followsTarget: follows.target }),
    sameNodeAs: [],
    flake: node?.flake ?? true,
  };
  const locked = node?.locked;
  if (locked === undefined) {
    // Only the root node has no `locked`: this input follows the root flake itself.
    return { ...base, type: "path", source: "self", location: "self" };
  }
  const original: LockRef = node?.original ?? locked;
  return { ...base, ...describeSource(locked, original) };
}

type SourceFields = Omit<
  LockedInput,
  | "id"
  | "path"
  | "name"
  | "parent"
  | "depth"
  | "direct"
  | "nodeKey"
  | "follows"
  | "followsTarget"
  | "sameNodeAs"
  | "flake"
>;

function describeSource(locked: LockRef, original: LockRef): SourceFields {
  const fields: SourceFields = {
    type: locked.type,
    source: formatFlakeRef(original),
    location: formatFlakeRef(original, { withRef: false }),
  };
  const assign = <K extends keyof SourceFields>(key: K, value: SourceFields[K] | undefined): void => {
    if (value !== undefined) fields[key] = value;
  };
  const url = locked.url ?? original.url;
  const fromUrl =
    url !== undefined && (locked.type === "git" || locked.type === "tarball")
      ? repoFromUrl(url, locked.type)
      : undefined;
  assign("owner", locked.owner ?? original.owner ?? fromUrl?.owner);
  assign("repo", locked.repo ?? original.repo ?? fromUrl?.repo);
  assign("host", locked.host ?? original.host ?? fromUrl?.host);
  assign("url", url);
  assign("dir", original.dir ?? locked.dir);
  assign("ref", shortRefName(original.ref ?? locked.ref));
  assign("rev", locked.rev);
  assign("shortRev", locked.rev?.slice(0, 7));
  assign(
    "lastModified",
    locked.lastModified === undefined ? undefined : new Date(locked.lastModified * 1000),
  );
  assign("narHash", locked.narHash);
  assign("revCount", locked.revCount);
  return fields;
}
