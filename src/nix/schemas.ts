/**
 * Schemas for every JSON document Nix prints to Ternix, and parsers that turn each version's shape
 * into one model. Parsers accept every recorded shape regardless of the detected version, so a
 * mis-detected version degrades to "still works" rather than a crash.
 */
import { z } from "zod";

export const DEFAULT_STORE_DIR = "/nix/store";

export interface StorePathInfo {
  path: string;
  narSize: number;
  references: string[];
  valid: boolean;
  closureSize?: number | undefined;
  deriver?: string | undefined;
  registrationTime?: number | undefined;
}

const PathInfoEntry = z.looseObject({
  path: z.string().optional(),
  valid: z.boolean().optional(),
  narSize: z.number().optional(),
  closureSize: z.number().optional(),
  references: z.array(z.string()).optional(),
  deriver: z.string().nullable().optional(),
  registrationTime: z.number().nullable().optional(),
  storeDir: z.string().optional(),
});

/** `nix path-info --json`: an array of entries with `path` (< 2.19); an object keyed by path (≥ 2.19), `null` for invalid paths. */
export const PathInfoJson = z.union([z.array(PathInfoEntry), z.record(z.string(), PathInfoEntry.nullable())]);

/** Some newer JSON formats print store paths without the store directory; make them absolute. */
export function absoluteStorePath(path: string, storeDir = DEFAULT_STORE_DIR): string {
  return path.startsWith("/") ? path : `${storeDir}/${path}`;
}

export function parsePathInfoJson(text: string): StorePathInfo[] {
  const data = PathInfoJson.parse(JSON.parse(text));
  const entries: [string, z.infer<typeof PathInfoEntry> | null][] = Array.isArray(data)
    ? data.map((e) => [e.path ?? "", e])
    : Object.entries(data);
  return entries.map(([path, entry]) => {
    const storeDir = entry?.storeDir ?? DEFAULT_STORE_DIR;
    const valid = entry !== null && entry.valid !== false && entry.narSize !== undefined;
    return {
      path: absoluteStorePath(path, storeDir),
      narSize: entry?.narSize ?? 0,
      references: (entry?.references ?? []).map((r) => absoluteStorePath(r, storeDir)),
      valid,
      closureSize: entry?.closureSize,
      deriver: entry?.deriver ? absoluteStorePath(entry.deriver, storeDir) : undefined,
      registrationTime: entry?.registrationTime ?? undefined,
    };
  });
}

/**
 * `nix build --json`: `[{ drvPath, outputs: { out: PATH } }]` for derivations; an installable that is
 * already a store path (not a derivation) comes back as `{ path }`.
 */
export const BuildJson = z.array(
  z.looseObject({
    drvPath: z.string().optional(),
    outputs: z.record(z.string(), z.string()).optional(),
    path: z.string().optional(),
  }),
);

export interface BuildResult {
  drvPath?: string | undefined;
  outputs: Record<string, string>;
}

/** Reads `nix build --json` output, or `--print-out-paths` lines (one output path per line). */
export function parseBuildOutput(text: string): BuildResult[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (trimmed.startsWith("[")) {
    return BuildJson.parse(JSON.parse(trimmed)).map((b) => ({
      drvPath: b.drvPath,
      outputs: b.outputs ?? (b.path !== undefined ? { out: b.path } : {}),
    }));
  }
  return trimmed.split("\n").map((line) => ({ outputs: { out: line.trim() } }));
}

/** `nix derivation show` / `nix show-derivation`: object keyed by drv path (keys without store dir in newest Nix). */
export const DerivationShowJson = z.record(
  z.string(),
  z.looseObject({
    name: z.string().optional(),
    outputs: z.record(z.string(), z.looseObject({ path: z.string().optional() })),
    env: z.record(z.string(), z.string()).optional(),
  }),
);

export function parseDerivationShow(
  text: string,
): Map<string, { name?: string | undefined; outputs: Record<string, string> }> {
  const data = DerivationShowJson.parse(JSON.parse(text));
  const result = new Map<string, { name?: string | undefined; outputs: Record<string, string> }>();
  for (const [drv, value] of Object.entries(data)) {
    const outputs: Record<string, string> = {};
    for (const [name, out] of Object.entries(value.outputs)) {
      if (out.path) outputs[name] = absoluteStorePath(out.path);
    }
    result.set(absoluteStorePath(drv), { name: value.name ?? value.env?.name, outputs });
  }
  return result;
}
