/**
 * Closures from derivations alone, for `plan --no-build`: what a system will contain, read from its
 * `.drv` graph before anything is built.
 *
 * A built closure's edges are the references Nix finds by scanning outputs; before the build they
 * are unknown. The approximation: an input derivation's output is a run-time dependency when its
 * store path appears in the derivation's environment (or builder arguments) outside the attributes
 * stdenv uses only at build time (`nativeBuildInputs`, `depsBuildBuild`, `stdenv`, `src`, `patches`,
 * …). That keeps what NixOS writes into unit files, `system-path`, `buildInputs` and
 * `propagatedBuildInputs`, and drops compilers, build tools and sources. Output names carry versions
 * as built paths do, so the diff engine runs unchanged; sizes are unknown (0).
 *
 * Limits: a `buildInputs` entry that the build does not actually reference (a header-only library, a
 * static one) is counted as run-time; a dependency reached only through a file the builder reads at
 * build time is missed. Everything else in the derivation closure (build-time packages) is diffed
 * separately, so its version changes can be shown apart.
 */
import { diffClosures } from "./diff.js";
import type { ClosureDiff, ClosureInput, PackageChange, StorePathInfo } from "./model.js";

/** The parts of a derivation the approximation reads (the Nix adapter's `Derivation` fits). */
export interface DerivationNode {
  outputs: Readonly<Record<string, string>>;
  inputDrvs: Readonly<Record<string, readonly string[]>>;
  inputSrcs: readonly string[];
  env: Readonly<Record<string, string>>;
  args: readonly string[];
  fixedOutput: boolean;
}

export type DerivationGraph = ReadonlyMap<string, DerivationNode>;

/** stdenv attributes whose dependencies are used only while building (plus sources and the builder). */
export const BUILD_TIME_ATTRIBUTES: ReadonlySet<string> = new Set([
  "nativeBuildInputs",
  "propagatedNativeBuildInputs",
  "depsBuildBuild",
  "depsBuildBuildPropagated",
  "depsBuildTarget",
  "depsBuildTargetPropagated",
  "nativeCheckInputs",
  "nativeInstallCheckInputs",
  "checkInputs",
  "installCheckInputs",
  "stdenv",
  "builder",
  "src",
  "srcs",
  "patches",
]);

const HASH_RE = /\/([0-9a-df-np-sv-z]{32})-/g;

function hashOf(storePath: string): string {
  return storePath.slice(storePath.lastIndexOf("/") + 1, storePath.lastIndexOf("/") + 33);
}

/** Store hashes a derivation mentions where they can end up in its output. */
function runtimeHashes(d: DerivationNode): Set<string> {
  const hashes = new Set<string>();
  const scan = (text: string) => {
    for (const m of text.matchAll(HASH_RE)) hashes.add(m[1] as string);
  };
  for (const [name, value] of Object.entries(d.env)) {
    if (BUILD_TIME_ATTRIBUTES.has(name)) continue;
    if (name === "__json") {
      // Structured attributes: the same attribute names, inside one JSON document.
      try {
        const attrs = JSON.parse(value) as Record<string, unknown>;
        for (const [k, v] of Object.entries(attrs))
          if (!BUILD_TIME_ATTRIBUTES.has(k)) scan(JSON.stringify(v));
      } catch {
        scan(value);
      }
      continue;
    }
    scan(value);
  }
  for (const a of d.args) scan(a);
  return hashes;
}

interface Edges {
  /** Output paths of input derivations, with their derivation, that the output can reference. */
  outputs: { drv: string; output: string; path: string }[];
  /** Input sources the output can reference. */
  sources: string[];
}

function runtimeEdges(d: DerivationNode, graph: DerivationGraph): Edges {
  const mentioned = runtimeHashes(d);
  const outputs: Edges["outputs"] = [];
  for (const [drv, wanted] of Object.entries(d.inputDrvs)) {
    const input = graph.get(drv);
    // Downloads (source tarballs, patches) are build inputs, not packages.
    if (!input || input.fixedOutput) continue;
    for (const output of wanted) {
      const path = input.outputs[output];
      if (path !== undefined && mentioned.has(hashOf(path))) outputs.push({ drv, output, path });
    }
  }
  return { outputs, sources: d.inputSrcs.filter((s) => mentioned.has(hashOf(s))) };
}

/** The root derivation and its `out` path, when the graph has them. */
function rootOf(
  rootDrv: string,
  graph: DerivationGraph,
): { root: DerivationNode; rootPath: string } | undefined {
  const root = graph.get(rootDrv);
  const rootPath = root?.outputs.out;
  return root && rootPath !== undefined ? { root, rootPath } : undefined;
}

/**
 * The predicted run-time closure of `rootDrv`'s `out` output: paths with their predicted references,
 * NAR sizes 0. Undefined when the root is not in the graph.
 */
export function runtimeClosureFromDerivations(
  rootDrv: string,
  graph: DerivationGraph,
): ClosureInput | undefined {
  const { root, rootPath } = rootOf(rootDrv, graph) ?? {};
  if (!root || rootPath === undefined) return undefined;
  const edgeCache = new Map<string, Edges>();
  const edgesOf = (drv: string, node: DerivationNode) => {
    let e = edgeCache.get(drv);
    if (!e) edgeCache.set(drv, (e = runtimeEdges(node, graph)));
    return e;
  };
  const infos = new Map<string, StorePathInfo>();
  const queue: { drv: string; path: string }[] = [{ drv: rootDrv, path: rootPath }];
  while (queue.length > 0) {
    const { drv, path } = queue.pop() as { drv: string; path: string };
    if (infos.has(path)) continue;
    const node = graph.get(drv) as DerivationNode;
    const edges = edgesOf(drv, node);
    infos.set(path, {
      path,
      narSize: 0,
      references: [...edges.outputs.map((o) => o.path), ...edges.sources],
    });
    for (const o of edges.outputs) if (!infos.has(o.path)) queue.push({ drv: o.drv, path: o.path });
    for (const s of edges.sources) if (!infos.has(s)) infos.set(s, { path: s, narSize: 0, references: [] });
  }
  const kernelParams = root.env.kernelParams;
  return {
    root: rootPath,
    paths: [...infos.values()],
    ...(kernelParams !== undefined ? { system: { kernelParams } } : {}),
  };
}

/** Every output of every derivation `rootDrv` needs, downloads (fixed-output derivations) left out. */
export function buildClosureFromDerivations(
  rootDrv: string,
  graph: DerivationGraph,
): ClosureInput | undefined {
  const { root, rootPath } = rootOf(rootDrv, graph) ?? {};
  if (!root || rootPath === undefined) return undefined;
  const seen = new Set<string>([rootDrv]);
  const stack = [rootDrv];
  const paths: StorePathInfo[] = [];
  while (stack.length > 0) {
    const drv = stack.pop() as string;
    const node = graph.get(drv);
    if (!node) continue;
    if (!node.fixedOutput)
      for (const path of Object.values(node.outputs)) paths.push({ path, narSize: 0, references: [] });
    for (const input of Object.keys(node.inputDrvs)) {
      if (!seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
    }
  }
  return { root: rootPath, paths };
}

export interface PreviewDiff {
  /** The package diff of the predicted run-time closures; sizes are 0. */
  diff: ClosureDiff;
  /** Version changes (and additions, removals) of packages needed only to build, sorted by name. */
  buildTimeChanges: PackageChange[];
}

const VERSION_KINDS = new Set(["upgraded", "downgraded", "changed", "added", "removed"]);

/** The preview of one host: run-time diff from derivations, build-time version changes apart. */
export function previewDiff(
  beforeDrv: string,
  afterDrv: string,
  graph: DerivationGraph,
): PreviewDiff | undefined {
  const before = runtimeClosureFromDerivations(beforeDrv, graph);
  const after = runtimeClosureFromDerivations(afterDrv, graph);
  const fullBefore = buildClosureFromDerivations(beforeDrv, graph);
  const fullAfter = buildClosureFromDerivations(afterDrv, graph);
  if (!before || !after || !fullBefore || !fullAfter) return undefined;
  const diff = diffClosures(before, after);
  const runtimeNames = new Set(diff.packages.map((p) => p.name));
  const buildTimeChanges = diffClosures(fullBefore, fullAfter).packages.filter(
    (p) => VERSION_KINDS.has(p.kind) && !runtimeNames.has(p.name),
  );
  return { diff, buildTimeChanges };
}
