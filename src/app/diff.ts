/** `ternix diff BEFORE AFTER`: the package diff between two system closures. */
import { diffClosures } from "../closure/diff.js";
import type { ClosureDiff } from "../closure/model.js";
import type { ClosureCache } from "./closure-cache.js";
import type { StoreDatabase } from "../nix/store-db-reader.js";
import { loadClosures, resolveStorePath, type NixSource } from "./closure-load.js";

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
): Promise<DiffResult> {
  const [before, after] = await Promise.all([
    resolveStorePath(request.before, request.cwd),
    resolveStorePath(request.after, request.cwd),
  ]);
  // One closure query for both sides (they mostly overlap), none for a side already cached; the
  // same path twice is a valid, empty diff. With the store database, Nix is not started at all.
  const closures = await loadClosures(nix, [before, after], cache, database);
  const diff = diffClosures(
    closures.get(before) ?? { root: before, paths: [] },
    closures.get(after) ?? { root: after, paths: [] },
  );
  return { before, after, diff };
}
