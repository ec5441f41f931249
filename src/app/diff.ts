/** `ternix diff BEFORE AFTER`: the package diff between two system closures. */
import { diffClosures } from "../closure/diff.js";
import type { ClosureDiff } from "../closure/model.js";
import type { ClosureCache } from "./closure-cache.js";
import type { StoreDatabase } from "../nix/store-db-reader.js";
import { loadClosures, resolveStorePath, type NixSource } from "./closure-load.js";
import { withSecretScan, type StorePathScanner } from "./store-scan.js";

export interface DiffRequest {
  before: string;
  after: string;
  cwd: string;
}

export interface DiffResult {
  before: string;
  after: string;
  diff: ClosureDiff;
}

export async function diffSystems(
  request: DiffRequest,
  nix: NixSource,
  cache?: ClosureCache,
  database?: StoreDatabase,
  /** Scans the after side's new store paths for secrets (absent: no scan). */
  scanner?: StorePathScanner,
): Promise<DiffResult> {
  const [before, after] = await Promise.all([
    resolveStorePath(request.before, request.cwd),
    resolveStorePath(request.after, request.cwd),
  ]);
  // One closure query for both sides (they mostly overlap), none for a side already cached; the
  // same path twice is a valid, empty diff. With the store database, Nix is not started at all.
  const closures = await loadClosures(nix, [before, after], cache, database);
  const b = closures.get(before) ?? { root: before, paths: [] };
  const a = closures.get(after) ?? { root: after, paths: [] };
  const diff = await withSecretScan(diffClosures(b, a), b.paths, a.paths, scanner);
  return { before, after, diff };
}
