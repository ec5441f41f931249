import type { RegisterCommand } from "./command.js";
import { registerInputs, registerLockDiff, registerUpdate } from "./lock-commands.js";
import { registerPlan } from "./plan.js";
import { registerDiff } from "./diff.js";

/** Every subcommand, in the order `--help` lists them (the order of the update loop). */
export const commands: RegisterCommand[] = [registerInputs, registerUpdate, registerLockDiff, registerDiff, registerPlan];
