import type { FlakeLock } from "./schema.js";

/** Where an input path ends: the node it names and the input path that owns that node. */
export type ResolvedInput =
  | {
      ok: true;
      nodeKey: string;
      /**
       * The path of the input that owns the node, with every `follows` along the way replaced by
       * its target. `["home", "nixpkgs"]` resolves to `["nixpkgs"]` when home's nixpkgs follows nixpkgs.
       */
      canonicalPath: readonly string[];
    }
  | { ok: false; problem: string };

/**
 * Resolve an input path from the root node the way Nix resolves `follows`: each step looks the name
 * up in the current node's inputs; a follows step restarts from the root with the follows path.
 * A follows path that reaches itself again is a cycle. An empty path is the root flake itself.
 */
export function resolveInputPath(lock: FlakeLock, path: readonly string[]): ResolvedInput {
  return resolve(lock, path, new Set());
}

function resolve(lock: FlakeLock, path: readonly string[], resolving: Set<string>): ResolvedInput {
  const key = path.join("/");
  if (resolving.has(key)) {
    return { ok: false, problem: `follows cycle: ${[...resolving, key].map(show).join(" → ")}` };
  }
  resolving.add(key);
  let nodeKey = lock.root;
  let canonicalPath: readonly string[] = [];
  for (const name of path) {
    const ref = lock.nodes.get(nodeKey)?.inputs?.get(name);
    if (ref === undefined) {
      return { ok: false, problem: `input ${show([...canonicalPath, name].join("/"))} does not exist` };
    }
    if (typeof ref === "string") {
      if (!lock.nodes.has(ref)) return { ok: false, problem: `node ${show(ref)} does not exist` };
      nodeKey = ref;
      canonicalPath = [...canonicalPath, name];
    } else {
      const target = resolve(lock, ref, resolving);
      if (!target.ok) return target;
      nodeKey = target.nodeKey;
      canonicalPath = target.canonicalPath;
    }
  }
  resolving.delete(key);
  return { ok: true, nodeKey, canonicalPath };
}

function show(id: string): string {
  return id === "" ? "(root)" : `"${id}"`;
}
