/** `ternix switch [HOST]`: build, show the diff, add the generation, activate, check, roll back on failure. */
import { action, type RegisterCommand } from "./command.js";
import { APPLY_EXIT_CODES, runApply, type ApplyOptions } from "./apply-command.js";
import { addSystemPathOptions, flakeOption, waitOption } from "./system-context.js";

export const registerSwitch: RegisterCommand = (program, runtime) => {
  const command = program
    .command("switch")
    .description(
      "Build, show the diff, make it the running system and the boot default, check it, and roll back if a check fails",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .addOption(flakeOption())
    .option("-y, --yes", "don't ask before switching")
    .option("--no-rollback", "when a check fails, stay on the new generation (exit code is still 5)")
    .option("--commit", "commit flake.lock once the checks passed")
    .addOption(waitOption());
  addSystemPathOptions(command, { systemctl: true, activation: true })
    .addHelpText("after", APPLY_EXIT_CODES)
    .action(
      action(async (host: string | undefined, options: ApplyOptions) =>
        runApply("switch", host, options, runtime(), program),
      ),
    );
};
