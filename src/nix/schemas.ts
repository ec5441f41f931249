/**
 * Parsers for every JSON document Nix prints to Ternix, turning each version's shape into one model.
 * They accept every recorded shape regardless of the detected version, so a mis-detected version
 * degrades to "still works" rather than a crash.
 *
 * These are checked by hand rather than with zod: `path-info` of a system closure is thousands of
 * entries on the hot path of `diff` and `plan`, where zod's import and validation cost more than
 * the diff itself (bench/README.md). A document of the wrong shape is a `NixOutputError`.
 */
import { TernixError } from "../errors.js";

export const DEFAULT_STORE_DIR = "/nix/store";

export class NixOutputError extends TernixError {
  constructor(what: string, problem: string) {
    super(`unexpected output from ${what}: ${problem}`, {
      hint: "This Nix may print a format Ternix does not know yet; please report it with `nix --version`.",
    });
  }
}

export interface StorePathInfo {
  path: string;
  narSize: number;
  references: string[];
  valid: boolean;
  closureSize?: number | undefined;
  deriver?: string | undefined;
  registrationTime?: number | undefined;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new NixOutputError(what, error instanceof Error ? error.message : String(error));
  }
}

function optionalNumber(entry: Json, key: string, what: string): number | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") throw new NixOutputError(what, `${key} is not a number`);
  return value;
}

function optionalString(entry: Json, key: string, what: string): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new NixOutputError(what, `${key} is not a string`);
  return value;
}

/** Some newer JSON formats print store paths without the store directory; make them absolute. */
export function absoluteStorePath(path: string, storeDir = DEFAULT_STORE_DIR): string {
  return path.startsWith("/") ? path : `${storeDir}/${path}`;
}

/**
 * `nix path-info --json`: an array of entries with `path` (< 2.19; an invalid path is
 * `{ path, valid: false }`), or an object keyed by path (≥ 2.19; `null` for an invalid path).
 */
export function parsePathInfoJson(text: string): StorePathInfo[] {
  const what = "nix path-info --json";
  const data = parseJson(text, what);
  let entries: [string, unknown][];
  if (Array.isArray(data)) {
    entries = data.map((e, i) => {
      if (!isObject(e) || typeof e["path"] !== "string")
        throw new NixOutputError(what, `entry ${i} has no path`);
      return [e["path"], e];
    });
  } else if (isObject(data)) entries = Object.entries(data);
  else throw new NixOutputError(what, "neither an array nor an object");

  return entries.map(([path, entry]) => {
    if (entry === null) return { path: absoluteStorePath(path), narSize: 0, references: [], valid: false };
    if (!isObject(entry)) throw new NixOutputError(what, `the entry for ${path} is not an object`);
    const storeDir = optionalString(entry, "storeDir", what) ?? DEFAULT_STORE_DIR;
    const narSize = optionalNumber(entry, "narSize", what);
    const refs = entry["references"] ?? [];
    if (!Array.isArray(refs) || !refs.every((r) => typeof r === "string")) {
      throw new NixOutputError(what, `references of ${path} are not a list of paths`);
    }
    const deriver = optionalString(entry, "deriver", what);
    return {
      path: absoluteStorePath(path, storeDir),
      narSize: narSize ?? 0,
      references: refs.map((r) => absoluteStorePath(r, storeDir)),
      valid: entry["valid"] !== false && narSize !== undefined,
      closureSize: optionalNumber(entry, "closureSize", what),
      deriver: deriver === undefined ? undefined : absoluteStorePath(deriver, storeDir),
      registrationTime: optionalNumber(entry, "registrationTime", what),
    };
  });
}

export interface BuildResult {
  drvPath?: string | undefined;
  outputs: Record<string, string>;
}

function stringRecord(value: unknown, what: string, key: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw new NixOutputError(what, `${key} is not an object of paths`);
  }
  return value as Record<string, string>;
}

/**
 * `nix build --json`: `[{ drvPath, outputs: { out: PATH } }]` for derivations. An installable that is
 * already a store path (an output, or a bare `.drv` from 2.15 on) comes back as `{ "path": PATH }` up
 * to 2.18 and as the bare string `"PATH"` later (DerivedPath::Opaque's JSON became the store path
 * itself; recorded from 2.8.0 and 2.24.15 in testdata/build-json-*). Also reads `--print-out-paths`
 * lines.
 */
export function parseBuildOutput(text: string): BuildResult[] {
  const what = "nix build --json";
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (!trimmed.startsWith("[")) return trimmed.split("\n").map((line) => ({ outputs: { out: line.trim() } }));
  const data = parseJson(trimmed, what);
  if (!Array.isArray(data)) throw new NixOutputError(what, "not an array");
  return data.map((entry, i) => {
    if (typeof entry === "string") return { drvPath: undefined, outputs: { out: entry } };
    if (!isObject(entry)) throw new NixOutputError(what, `entry ${i} is neither a path nor an object`);
    const drvPath = optionalString(entry, "drvPath", what);
    const path = optionalString(entry, "path", what);
    const outputs =
      entry["outputs"] === undefined
        ? path !== undefined
          ? { out: path }
          : {}
        : stringRecord(entry["outputs"], what, "outputs");
    return { drvPath, outputs };
  });
}

/** `nix derivation show` / `nix show-derivation`: object keyed by drv path (keys without store dir in newest Nix). */
export function parseDerivationShow(
  text: string,
): Map<string, { name?: string | undefined; outputs: Record<string, string> }> {
  const what = "nix derivation show";
  const data = parseJson(text, what);
  if (!isObject(data)) throw new NixOutputError(what, "not an object");
  const result = new Map<string, { name?: string | undefined; outputs: Record<string, string> }>();
  for (const [drv, value] of Object.entries(data)) {
    if (!isObject(value) || !isObject(value["outputs"]))
      throw new NixOutputError(what, `${drv} has no outputs`);
    const outputs: Record<string, string> = {};
    for (const [name, out] of Object.entries(value["outputs"])) {
      if (isObject(out) && typeof out["path"] === "string") outputs[name] = absoluteStorePath(out["path"]);
    }
    const env = isObject(value["env"]) ? value["env"] : {};
    const name =
      optionalString(value, "name", what) ?? (typeof env["name"] === "string" ? env["name"] : undefined);
    result.set(absoluteStorePath(drv), { name, outputs });
  }
  return result;
}

/**
 * Nix warns, exits 0 and leaves the lock as it was when an input name matches nothing: 2.8 for
 * `--update-input X` ("the flag '--update-input X' does not match any input"), 2.19+ for a positional
 * name ("'X' does not match any input of this flake"). Ternix checks names first, so this only fires
 * when its command line is wrong for the installed Nix; the update must fail rather than look empty.
 */
export function unmatchedInputWarning(stderr: string): string | undefined {
  return stderr
    .split("\n")
    .map((line) => line.trim())
    .find((line) => /^warning: .* does not match any input\b/.test(line));
}
