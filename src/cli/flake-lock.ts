/** The per-flake lock for commands that may write the flake's files, with `--no-wait`. */
import { Option } from "commander";
import type { FlakeLocation } from "../app/flake.js";
import { withFlakeLock } from "../app/flake-lock.js";
import { realSystemEffects } from "../app/machine/system-effects.js";
import type { Runtime } from "./runtime.js";

export const noWaitOption = () =>
  new Option("--no-wait", "fail at once if another Ternix run is changing this flake (default: wait for it)");

/** Run `fn` holding the flake's lock; `wait` false (from `--no-wait`) fails at once when it is held. */
export function lockingFlake<T>(
  rt: Runtime,
  flake: FlakeLocation,
  options: { command: string; wait?: boolean | undefined },
  fn: () => Promise<T>,
): Promise<T> {
  return withFlakeLock(
    flake,
    { command: options.command, wait: options.wait ?? true },
    { git: rt.git, effects: rt.effects, system: realSystemEffects() },
    fn,
  );
}
