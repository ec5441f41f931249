/**
 * Loading closures for the diff engine: resolve what the user named to a store path, query every
 * path's NAR size and references in one Nix call per side, and read the facts a NixOS toplevel
 * carries about itself (kernel, initrd, params, version, bootspec).
 */
import { lstat, readFile, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import type { ClosureInput, StorePathInfo, SystemFacts } from "../closure/model.js";
import { InputError } from "../errors.js";
import type { Nix } from "../nix/nix.js";
import type { StoreDatabase } from "../nix/store-db-reader.js";
import { DEFAULT_STORE_DIR } from "../nix/schemas.js";
import type { ClosureCache } from "./closure-cache.js";

const STORE_PATH = /^(\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+)(\/.*)?$/;

/**
 * A store path from a store path, a `result` link, a profile generation link or `/run/current-system`.
 * Errors say which of these went wrong.
 */
export async function resolveStorePath(
  spec: string,
  cwd: string,
  storeDir = DEFAULT_STORE_DIR,
): Promise<string> {
  const path = spec.startsWith("/") ? spec : join(cwd, spec);
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const dangling = await lstat(path).then(
      (s) => s.isSymbolicLink(),
      () => false,
    );
    if (dangling) {
      const target = await readlink(path).catch(() => "?");
      throw new InputError(
        `${spec} is a dangling link (to ${target}); its target was garbage-collected or never built.`,
        {
          hint: "Rebuild it, or pick another generation (`ternix generations`).",
        },
      );
    }
    if (code === "ENOENT") {
      throw new InputError(`${spec} does not exist.`, {
        hint: "Pass a store path, a `result` link, a profile generation or /run/current-system.",
      });
    }
    throw error;
  }
  const match = STORE_PATH.exec(real);
  if (!match || !real.startsWith(storeDir + "/")) {
    throw new InputError(`${spec} is not in the Nix store (it resolves to ${real}).`, {
      hint: "Pass a store path, a `result` link, a profile generation or /run/current-system.",
    });
  }
  return match[1] as string;
}

/** Read what a NixOS toplevel says about itself; undefined when `root` is not a NixOS system. */
export async function readSystemFacts(root: string): Promise<SystemFacts | undefined> {
  const link = (name: string) => readlink(join(root, name)).catch(() => undefined);
  const text = (name: string) => readFile(join(root, name), "utf8").catch(() => undefined);
  const [kernel, initrd, swPath, kernelParams, nixosVersion, bootText, rebootTriggers, switchScript] =
    await Promise.all([
      link("kernel"),
      link("initrd"),
      link("sw"),
      text("kernel-params"),
      text("nixos-version"),
      text("boot.json"),
      text("reboot-triggers"),
      lstat(join(root, "bin", "switch-to-configuration")).then(
        () => true,
        () => false,
      ),
    ]);
  if (!switchScript && nixosVersion === undefined && swPath === undefined) return undefined;
  let bootJson: unknown;
  if (bootText !== undefined) {
    try {
      bootJson = JSON.parse(bootText);
    } catch {
      bootJson = undefined;
    }
  }
  const facts: SystemFacts = {};
  if (kernel !== undefined) facts.kernel = kernel;
  if (initrd !== undefined) facts.initrd = initrd;
  if (swPath !== undefined) facts.swPath = swPath;
  if (kernelParams !== undefined) facts.kernelParams = kernelParams.trim();
  if (nixosVersion !== undefined) facts.nixosVersion = nixosVersion.trim();
  if (bootJson !== undefined) facts.bootJson = bootJson;
  if (rebootTriggers !== undefined) facts.rebootTriggers = rebootTriggers;
  return facts;
}

/** The Nix adapter, or a way to get it when first needed (a full cache hit needs none). */
export type NixSource = Nix | (() => Promise<Nix>);

/**
 * The closures of several roots: from the closure cache where it has them, the rest from ONE
 * query (the union comes back and each root's closure is walked from its references in memory),
 * which then fills the cache. The query reads the store database when it can (`database`, else
 * the adapter's), else it is one `nix path-info --recursive` call; with a database given, Nix is
 * not even started unless the database cannot answer.
 */
export async function loadClosures(
  nixSource: NixSource,
  roots: readonly string[],
  cache?: ClosureCache,
  database?: StoreDatabase,
): Promise<Map<string, ClosureInput>> {
  const unique = [...new Set(roots)];
  const closures = new Map<string, StorePathInfo[]>();
  if (cache) {
    const cached = await Promise.all(unique.map((root) => cache.get(root)));
    unique.forEach((root, i) => {
      const hit = cached[i];
      if (hit) closures.set(root, hit);
    });
  }
  const missing = unique.filter((root) => !closures.has(root));
  if (missing.length > 0) {
    const infos =
      (await database?.closures(missing)) ??
      (await (typeof nixSource === "function" ? await nixSource() : nixSource).closurePathInfo(missing));
    const invalid = infos.find((i) => !i.valid);
    if (invalid) {
      throw new InputError(`${invalid.path} is not a valid path in the Nix store.`, {
        hint: "Build it first (or pick a generation that still exists).",
      });
    }
    const byPath = new Map<string, StorePathInfo>();
    for (const info of infos)
      byPath.set(info.path, { path: info.path, narSize: info.narSize, references: info.references });
    for (const root of missing) {
      const closure = closureOf(root, byPath);
      closures.set(root, closure);
      await cache?.put(root, closure);
    }
  }
  const facts = await Promise.all(unique.map((root) => readSystemFacts(root)));
  const result = new Map<string, ClosureInput>();
  unique.forEach((root, index) => {
    const paths = closures.get(root) ?? [];
    const system = facts[index];
    result.set(root, system === undefined ? { root, paths } : { root, paths, system });
  });
  return result;
}

export function closureOf(root: string, byPath: ReadonlyMap<string, StorePathInfo>): StorePathInfo[] {
  const seen = new Set<string>([root]);
  const stack = [root];
  const out: StorePathInfo[] = [];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    const info = byPath.get(path);
    if (!info) continue;
    out.push(info);
    for (const ref of info.references) {
      if (!seen.has(ref)) {
        seen.add(ref);
        stack.push(ref);
      }
    }
  }
  return out;
}
