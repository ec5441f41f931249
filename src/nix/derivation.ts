/**
 * `nix show-derivation` (Nix < 2.15) / `nix derivation show` (2.15+) output, recursive or not, as one
 * model. Recorded shapes (testdata/derivation-show-*.json):
 *   Nix 2.8:  `inputDrvs: { "/nix/store/…drv": ["out"] }`
 *   Nix 2.24: `inputDrvs: { "/nix/store/…drv": { "outputs": ["out"], "dynamicOutputs": {} } }`
 * Store paths printed without the store directory are made absolute. Checked by hand
 * (no zod): a NixOS host's derivation closure is thousands of entries with large environments.
 */
import { absoluteStorePath, DEFAULT_STORE_DIR, NixOutputError } from "./schemas.js";

export interface Derivation {
  /** Output name → store path (absent for content-addressed outputs not yet known). */
  outputs: Record<string, string>;
  /** Input derivation → the outputs of it this derivation uses. */
  inputDrvs: Record<string, string[]>;
  inputSrcs: string[];
  env: Record<string, string>;
  args: string[];
  builder: string;
  /** A fixed-output derivation (a download: source tarball, patch). */
  fixedOutput: boolean;
}

const WHAT = "nix derivation show";
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const stringList = (v: unknown): string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string") ? v : [];

export function parseDerivationShow(text: string, storeDir = DEFAULT_STORE_DIR): Map<string, Derivation> {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new NixOutputError(WHAT, error instanceof Error ? error.message : String(error));
  }
  if (!isObject(json)) throw new NixOutputError(WHAT, "expected an object keyed by derivation path");
  const result = new Map<string, Derivation>();
  for (const [key, value] of Object.entries(json)) {
    if (!isObject(value) || !isObject(value.outputs)) {
      throw new NixOutputError(WHAT, `${key} has no outputs`);
    }
    const outputs: Record<string, string> = {};
    let fixedOutput = false;
    for (const [name, output] of Object.entries(value.outputs)) {
      if (!isObject(output)) continue;
      if (typeof output.path === "string") outputs[name] = absoluteStorePath(output.path, storeDir);
      if (typeof output.hash === "string" && output.hash !== "") fixedOutput = true;
    }
    const inputDrvs: Record<string, string[]> = {};
    if (isObject(value.inputDrvs)) {
      for (const [drv, wanted] of Object.entries(value.inputDrvs)) {
        inputDrvs[absoluteStorePath(drv, storeDir)] = Array.isArray(wanted)
          ? stringList(wanted)
          : isObject(wanted)
            ? stringList(wanted.outputs)
            : [];
      }
    }
    const env: Record<string, string> = {};
    if (isObject(value.env)) {
      for (const [name, v] of Object.entries(value.env)) if (typeof v === "string") env[name] = v;
    }
    const srcs = stringList(value.inputSrcs).map((p) => absoluteStorePath(p, storeDir));
    result.set(absoluteStorePath(key, storeDir), {
      outputs,
      inputDrvs,
      inputSrcs: srcs,
      env,
      args: stringList(value.args),
      builder: typeof value.builder === "string" ? value.builder : "",
      fixedOutput,
    });
  }
  return result;
}
