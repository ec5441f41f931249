/** Reading and writing the state file; writes are atomic and happen under the apply lock. */
import { mkdir } from "node:fs/promises";
import { InputError } from "../../errors.js";
import { readUserFile, writeFileAtomic } from "../../proc/files.js";
import { emptyState, parseState, serializeState, type SystemState } from "../../system/state.js";
import { stateFilePath, type SystemPaths } from "./system-paths.js";

export async function loadState(paths: SystemPaths): Promise<SystemState> {
  const file = stateFilePath(paths);
  const moveAside = `Move it aside (\`mv ${file} ${file}.bad\`); Ternix starts a new one, forgetting which generations were known good.`;
  const text = await readUserFile(file, { hint: moveAside });
  if (text === undefined) return emptyState();
  const parsed = parseState(text);
  if (!parsed.ok) {
    throw new InputError(`${file}: ${parsed.reason}`, {
      hint: moveAside,
    });
  }
  return parsed.state;
}

export async function saveState(paths: SystemPaths, state: SystemState): Promise<void> {
  await mkdir(paths.stateDir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(stateFilePath(paths), serializeState(state));
}

/** Load, change and save in one step (callers hold the apply lock). */
export async function updateState(
  paths: SystemPaths,
  change: (state: SystemState) => SystemState,
): Promise<SystemState> {
  const next = change(await loadState(paths));
  await saveState(paths, next);
  return next;
}
