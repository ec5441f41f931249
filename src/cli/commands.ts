import type { RegisterCommand } from "./command.js";
import { registerInputs, registerLockDiff, registerUpdate } from "./lock-commands.js";
import { registerPlan } from "./plan.js";
import { registerDiff } from "./diff.js";
import { registerBoot } from "./boot.js";
import { registerBuild } from "./build.js";
import { registerGc } from "./gc.js";
import { registerGenerations } from "./generations.js";
import { registerRollback } from "./rollback.js";
import { registerSwitch } from "./switch.js";
import { registerTest } from "./test.js";

/** Every subcommand, in the order `--help` lists them (the order of the update loop). */
export const commands: RegisterCommand[] = [
  registerInputs,
  registerUpdate,
  registerLockDiff,
  registerDiff,
  registerPlan,
];
// On the machine: apply safely, roll back, keep what a rollback needs.
commands.push(
  registerBuild,
  registerTest,
  registerSwitch,
  registerBoot,
  registerRollback,
  registerGenerations,
  registerGc,
);
// In CI: one reviewed pull request per update, and the workflow that runs it.
import { registerInit } from "./init-ci.js";
import { registerPr } from "./pr.js";
commands.splice(commands.indexOf(registerPlan) + 1, 0, registerPr);
commands.push(registerInit);
