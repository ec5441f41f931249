/** Reading and writing the state file; writes are atomic and happen under the apply lock. */
import { mkdir, readFile } from "node:fs/promises";
import { InputError } from "../../errors.js";
import { writeFileAtomic } from "../../proc/files.js";
import { emptyState, parseState, serializeState, type SystemState } from "../../system/state.js";
import { stateFilePath, type SystemPaths } from "./system-paths.js";

export async function loadState(paths: SystemPaths): Promise<SystemState> {
  const file = stateFilePath(paths);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
    throw error;
  }
  const parsed = parseState(text);
  if (!parsed.ok) {
    throw new InputError(`${file}: ${parsed.reason}`, {
      hint: `Move it aside (\`mv ${file} ${file}.bad\`); Ternix starts a new one, forgetting which generations were known good.`,
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
