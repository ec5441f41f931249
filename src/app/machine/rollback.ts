/** `ternix rollback [--to N]`: back to the previous (or Nth) generation: profile and activation. */
import { UsageError } from "../../errors.js";
import type { Nix } from "../../nix/nix.js";
import { findGeneration, previousGeneration, type Generation } from "../../system/generations.js";
import { activate, activationError, requireNixosSystem } from "./activation.js";
import { acquireApplyLock } from "./apply-lock.js";
import type { Effects } from "../effects.js";
import { readProfile, switchGeneration } from "./profile.js";
import type { SystemEffects } from "./system-effects.js";
import { lockFilePath, requireSystemAccess, type SystemPaths } from "./system-paths.js";

export interface RollbackRequest {
  paths: SystemPaths;
  /** The generation to go to; default: the newest one older than the current one. */
  to?: number | undefined;
  wait: boolean;
  argv?: readonly string[] | undefined;
}

export interface RollbackResult {
  from: number | undefined;
  to: Generation;
}

export async function rollbackSystem(
  request: RollbackRequest,
  deps: { nix: Nix; effects: Effects; system: SystemEffects },
): Promise<RollbackResult> {
  const { paths } = request;
  await requireSystemAccess(paths, deps.system, "rollback", request.argv);
  const lock = await acquireApplyLock(
    { path: lockFilePath(paths), command: "rollback", wait: request.wait },
    deps,
  );
  try {
    const profile = await readProfile(paths.profile);
    const numbers = profile.generations.map((g) => g.number).join(", ") || "(none)";
    let target: Generation | undefined;
    if (request.to !== undefined) {
      target = findGeneration(profile.generations, request.to);
      if (target === undefined) {
        throw new UsageError(`${paths.profile} has no generation ${request.to}.`, {
          hint: `Generations: ${numbers} (\`ternix generations\`).`,
        });
      }
    } else {
      if (profile.current === undefined) {
        throw new UsageError(`${paths.profile} has no current generation to roll back from.`, {
          hint: "Run `ternix switch` first.",
        });
      }
      target = previousGeneration(profile.generations, profile.current);
      if (target === undefined) {
        throw new UsageError(
          `generation ${profile.current} is the oldest of ${paths.profile}; there is nothing to roll back to.`,
          {
            hint: `Generations: ${numbers}.`,
          },
        );
      }
    }
    await requireNixosSystem(target.storePath);
    deps.effects.onEvent({
      type: "phase",
      message: `Switching ${paths.profile} to generation ${target.number}…`,
    });
    await switchGeneration(deps.nix, paths.profile, target.number);
    deps.effects.onEvent({ type: "phase", message: "Activating (switch-to-configuration switch)…" });
    const activation = await activate(target.storePath, "switch", deps, { systemdRun: paths.systemdRun });
    if (!activation.ok) {
      throw activationError(
        activation,
        `the profile is on generation ${target.number}, but activating it failed.`,
        `It is the boot default now; rebooting activates it. Run with --verbose to see switch-to-configuration's output.`,
      );
    }
    return { from: profile.current, to: target };
  } finally {
    await lock.release();
  }
}
