/** `ternix inputs`: every locked input with its age, a staleness verdict, and how far behind it is. */
import { join } from "node:path";
import type { Config } from "../../config/config.js";
import { pinnedInputs } from "../../lock/flake-nix.js";
import { diffLocks } from "../../lock/diff.js";
import { lockInputs } from "../../lock/graph.js";
import { parseFlakeLock } from "../../lock/parse.js";
import { assessInputs, policyPassed, type StalenessPolicy } from "../../lock/staleness.js";
import { upstreamStatus, type InputRow } from "../../lock/upstream.js";
import { readUserFile } from "../../proc/files.js";
import { readLockText, type FlakeLocation } from "../flake.js";
import { updatedLockInCopy, type UpdateDeps } from "./update.js";

export interface InputsResult {
  verdicts: InputRow[];
  policyPassed: boolean;
  /** Whether upstream was asked (`--upstream`). */
  upstreamChecked: boolean;
}

export function stalenessPolicy(config: Config): Partial<StalenessPolicy> {
  return {
    maxAgeDays: config.staleness["max-age-days"],
    supportedBranches: config.staleness["supported-branches"],
    allowedOwners: config.staleness["allowed-owners"],
  };
}

export interface ListInputsOptions {
  /** Fetch every input's upstream (a dry-run update in a copy: needs Nix and the network). */
  upstream?: { deps: UpdateDeps; forgeHosts: readonly string[] } | undefined;
}

export async function listInputs(
  flake: FlakeLocation,
  config: Config,
  now: Date,
  options: ListInputsOptions = {},
): Promise<InputsResult> {
  const lockText = await readLockText(flake);
  const lock = parseFlakeLock(lockText, flake.lockPath);
  // Pins are marked in flake.nix (`# ternix:pin`); a flake.nix Ternix cannot read has none.
  const flakeNix = (await readUserFile(join(flake.dir, "flake.nix")).catch(() => undefined)) ?? "";
  const pinned = new Set(pinnedInputs(flakeNix));
  const verdicts: InputRow[] = assessInputs(lockInputs(lock), { ...stalenessPolicy(config), pinned }, now);
  if (options.upstream !== undefined) {
    const updatedText = await updatedLockInCopy(
      flake,
      [],
      options.upstream.deps,
      "Asking every input's upstream (an update in a copy of the flake)…",
    );
    const updated = parseFlakeLock(updatedText, `${flake.lockPath} (updated)`);
    const diff = diffLocks(lock, updated, { forgeHosts: options.upstream.forgeHosts });
    const byId = new Map(diff.inputs.map((d) => [d.id, d]));
    for (const row of verdicts) row.upstream = upstreamStatus(row.input, byId.get(row.input.id));
  }
  return { verdicts, policyPassed: policyPassed(verdicts), upstreamChecked: options.upstream !== undefined };
}
