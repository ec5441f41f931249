/** `ternix rollback [--to N]`: back to the previous (or Nth) generation, profile and activation. */
import { rollbackSystem } from "../app/machine/rollback.js";
import { ExitCode } from "../errors.js";
import { action, parseCount, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import {
  addSystemPathOptions,
  commandLine,
  flakeOption,
  systemContext,
  waitOption,
  type SystemPathOptions,
} from "./system-context.js";

export const registerRollback: RegisterCommand = (program, runtime) => {
  const command = program
    .command("rollback")
    .description("Go back to the previous system generation (or --to N): profile and activation")
    .option("--to <n>", "the generation to go to (see `ternix generations`)", parseCount("--to", 1))
    .addOption(flakeOption())
    .addOption(waitOption());
  addSystemPathOptions(command, { activation: true })
    .addHelpText(
      "after",
      "\nExit codes:\n  0  the generation is active and the boot default\n  1  error\n  64 no such generation / nothing to roll back to",
    )
    .action(
      action(async (options: SystemPathOptions & { to?: number }) => {
        const rt = runtime();
        const ctx = await systemContext(rt, options, false);
        const nix = await rt.nix(ctx.config);
        const progress = createProgress(rt.output);
        const result = await rollbackSystem(
          { paths: ctx.paths, to: options.to, wait: options.wait ?? false, argv: commandLine(program) },
          { nix, effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) }, system: ctx.system },
        ).finally(() => progress.done());
        rt.output.stdout(
          `Rolled back${result.from === undefined ? "" : ` from generation ${result.from}`} to generation ${result.to.number} (${result.to.storePath}).`,
        );
        return ExitCode.ok;
      }),
    );
};
