import { z } from "zod";

/**
 * The fetcher types Nix writes into `flake.lock` (Nix manual, "Flake references" / "Types").
 * Anything else is a schema violation: we would not know how to show or compare it.
 */
export const LockInputType = z.enum(
  ["github", "gitlab", "sourcehut", "git", "mercurial", "path", "tarball", "file", "indirect"],
  { error: (issue) => `unknown input type ${JSON.stringify(issue.input)}` },
);
export type LockInputType = z.infer<typeof LockInputType>;

/**
 * A flake reference in attribute-set form, as found under `locked` and `original`.
 * Only `type` is required; which other attributes appear depends on the type.
 * Unknown attributes are kept so newer Nix versions do not break parsing.
 */
export const LockRef = z.looseObject({
  type: LockInputType,
  owner: z.string().optional(),
  repo: z.string().optional(),
  ref: z.string().optional(),
  rev: z.string().optional(),
  url: z.string().optional(),
  host: z.string().optional(),
  dir: z.string().optional(),
  path: z.string().optional(),
  /** `indirect` references name a registry entry. */
  id: z.string().optional(),
  narHash: z.string().optional(),
  /** Unix seconds. */
  lastModified: z.number().int().optional(),
  revCount: z.number().int().optional(),
  submodules: z.boolean().optional(),
  shallow: z.boolean().optional(),
});
export type LockRef = z.infer<typeof LockRef>;

/**
 * How a node names one of its inputs: a string is a node key; an array is a `follows` path of
 * input names starting at the root node (`["nixpkgs"]`, `["home", "nixpkgs"]`; `[]` is the root flake).
 */
export const LockInputRef = z.union([z.string(), z.array(z.string())], {
  error: "expected a node key (string) or a follows path (array of input names)",
});
export type LockInputRef = z.infer<typeof LockInputRef>;

/**
 * An object whose keys are names from the file (node keys, input names) as a Map: as object keys,
 * a name such as `__proto__` or `constructor` would vanish or resolve to something inherited.
 */
function nameMap<T extends z.ZodType>(value: T) {
  return z.preprocess(
    (json) =>
      typeof json === "object" && json !== null && !Array.isArray(json)
        ? new Map(Object.entries(json))
        : json,
    z.map(z.string(), value),
  );
}

export const LockNode = z.looseObject({
  inputs: nameMap(LockInputRef).optional(),
  locked: LockRef.optional(),
  original: LockRef.optional(),
  /** `false` for `flake = false` inputs; Nix omits it when true. */
  flake: z.boolean().optional(),
});
export type LockNode = z.infer<typeof LockNode>;

/** Lock file versions Ternix reads: current Nix writes 7 and still reads 5 and 6 (libflake `lockfile.cc`). */
export const supportedLockVersions: readonly number[] = [5, 6, 7];

export const FlakeLock = z.looseObject({
  version: z.number().int(),
  root: z.string(),
  nodes: nameMap(LockNode),
});
export type FlakeLock = z.infer<typeof FlakeLock>;
