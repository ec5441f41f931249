/** `ternix diff BEFORE AFTER`: the package diff between two system closures. */
import { diffClosures } from "../closure/diff.js";
import type { ClosureDiff } from "../closure/model.js";
import type { Nix } from "../nix/nix.js";
import { loadClosures, resolveStorePath } from "./closure-load.js";

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

export async function diffSystems(request: DiffRequest, nix: Nix): Promise<DiffResult> {
  const [before, after] = await Promise.all([
    resolveStorePath(request.before, request.cwd),
    resolveStorePath(request.after, request.cwd),
  ]);
  // One closure query per side, run concurrently; the same path twice is a valid, empty diff.
  const [beforeClosures, afterClosures] = await Promise.all([
    loadClosures(nix, [before]),
    loadClosures(nix, [after]),
  ]);
  const diff = diffClosures(
    beforeClosures.get(before) ?? { root: before, paths: [] },
    afterClosures.get(after) ?? { root: after, paths: [] },
  );
  return { before, after, diff };
}
