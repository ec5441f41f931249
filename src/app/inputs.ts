/** `ternix inputs`: every locked input with its age and a staleness verdict. */
import type { Config } from "../config/config.js";
import { lockInputs } from "../lock/graph.js";
import { parseFlakeLock } from "../lock/parse.js";
import { assessInputs, policyPassed, type InputVerdict, type StalenessPolicy } from "../lock/staleness.js";
import { readLockText, type FlakeLocation } from "./flake.js";

export interface InputsResult {
  verdicts: InputVerdict[];
  policyPassed: boolean;
}

export function stalenessPolicy(config: Config): Partial<StalenessPolicy> {
  return {
    maxAgeDays: config.staleness["max-age-days"],
    supportedBranches: config.staleness["supported-branches"],
    allowedOwners: config.staleness["allowed-owners"],
  };
}

export async function listInputs(flake: FlakeLocation, config: Config, now: Date): Promise<InputsResult> {
  const lock = parseFlakeLock(await readLockText(flake), flake.lockPath);
  const verdicts = assessInputs(lockInputs(lock), stalenessPolicy(config), now);
  return { verdicts, policyPassed: policyPassed(verdicts) };
}
