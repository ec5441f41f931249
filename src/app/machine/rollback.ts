/**
 * `ternix rollback [--to N]`: back to the previous (or Nth) generation through the activation
 * engine: activated with `test` and checked (failed units) first, then made the profile's current
 * generation and the boot default.
 */
import { ExitCode, TernixError, UsageError } from "../../errors.js";
import type { Nix } from "../../nix/nix.js";
import { findGeneration, previousGeneration, type Generation } from "../../system/generations.js";
import { requireNixosSystem } from "./activation.js";
import { localTarget, runActivation } from "./engine.js";
import { acquireApplyLock } from "./apply-lock.js";
import type { Effects } from "../effects.js";
import { readProfile } from "./profile.js";
import { loadState } from "./state-file.js";
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
  await loadState(paths);
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
      message: `Rolling back ${paths.profile} to generation ${target.number}…`,
    });
    const result = await runActivation(
      {
        storePath: target.storePath,
        operation: "switch",
        host: null,
        command: "rollback",
        checks: [],
        rollback: true,
        existingGeneration: target.number,
      },
      { target: localTarget(deps.nix, deps.effects.run, paths), effects: deps.effects, system: deps.system },
    );
    if (result.outcome !== "switched") {
      const why = result.checks?.results.find((r) => r.status === "failed");
      throw new TernixError(
        `generation ${target.number} failed its checks (${why ? `${why.name}: ${why.detail}` : "see above"}); the running system was re-activated and the profile is unchanged.`,
        {
          hint: "Fix what failed, or choose another generation with `ternix rollback --to N`.",
          exitCode: ExitCode.checkFailed,
        },
      );
    }
    return { from: profile.current, to: target };
  } finally {
    await lock.release();
  }
}
