import type { RegisterCommand } from "./command.js";

/**
 * Every subcommand, in the order `--help` lists them (the order of the update loop), each loaded
 * only when needed: `ternix diff` should not pay for loading the forge clients or the apply code.
 */
export const commandLoaders: readonly (readonly [string, () => Promise<RegisterCommand>])[] = [
  // Look before moving, move the lock.
  ["inputs", async () => (await import("./lock-commands.js")).registerInputs],
  ["update", async () => (await import("./lock-commands.js")).registerUpdate],
  ["pin", async () => (await import("./pin.js")).registerPin],
  ["unpin", async () => (await import("./pin.js")).registerUnpin],
  ["lock-diff", async () => (await import("./lock-commands.js")).registerLockDiff],
  // Know what changes, review it.
  ["diff", async () => (await import("./diff.js")).registerDiff],
  ["plan", async () => (await import("./plan.js")).registerPlan],
  ["pr", async () => (await import("./pr.js")).registerPr],
  // On the machine: apply safely, roll back, keep what a rollback needs.
  ["build", async () => (await import("./build.js")).registerBuild],
  ["test", async () => (await import("./test.js")).registerTest],
  ["switch", async () => (await import("./switch.js")).registerSwitch],
  ["boot", async () => (await import("./boot.js")).registerBoot],
  ["rollback", async () => (await import("./rollback.js")).registerRollback],
  ["generations", async () => (await import("./generations.js")).registerGenerations],
  ["gc", async () => (await import("./gc.js")).registerGc],
  ["upgrade", async () => (await import("./upgrade.js")).registerUpgrade],
  // The fleet from one terminal.
  ["deploy", async () => (await import("./deploy.js")).registerDeploy],
  ["status", async () => (await import("./status.js")).registerStatus],
  // Set-up.
  ["init", async () => (await import("./init-ci.js")).registerInit],
  ["completion", async () => (await import("./completion.js")).registerCompletion],
];

/** Global options that take a value, so the command name can be found after them. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["--nix-option"]);

/** The subcommand named on the command line, if it is a known one. */
export function requestedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
      continue;
    }
    return commandLoaders.some(([name]) => name === arg) ? arg : undefined;
  }
  return undefined;
}

/** The register functions for argv: just the named command, or all of them (help, typos). */
export async function loadCommands(argv: readonly string[]): Promise<RegisterCommand[]> {
  const name = requestedCommand(argv);
  if (name === undefined && (argv.includes("--version") || argv.includes("-V"))) return [];
  const wanted = name === undefined ? commandLoaders : commandLoaders.filter(([n]) => n === name);
  return Promise.all(wanted.map(([, load]) => load()));
}
