/** `ternix switch [HOST]`: build, show the diff, activate (test), check, and only then add the generation as the boot default. */
import { channelsOption } from "./channel-mode.js";
import { action, type RegisterCommand } from "./command.js";
import { APPLY_EXIT_CODES, runApply, type ApplyOptions } from "./apply-command.js";
import { addSystemPathOptions, flakeOption, waitOption } from "./system-context.js";

export const registerSwitch: RegisterCommand = (program, runtime) => {
  const command = program
    .command("switch")
    .description(
      "Build, show the diff, activate it and check it; only when the checks pass make it the boot default (a failed check re-activates the previous system)",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .addOption(flakeOption())
    .addOption(channelsOption())
    .option(
      "--nixos-config <path>",
      "channel mode: the configuration.nix to build (default /etc/nixos/configuration.nix)",
    )
    .option("-y, --yes", "don't ask before switching")
    .option(
      "--no-rollback",
      "when a check fails, leave the new system active (not the boot default; exit code is still 5)",
    )
    .option("--commit", "commit flake.lock once the checks passed")
    .option("--upgrade", "channel mode: update the channels first, as `nixos-rebuild switch --upgrade`")
    .addOption(waitOption());
  addSystemPathOptions(command, { systemctl: true, activation: true })
    .addHelpText("after", APPLY_EXIT_CODES)
    .action(
      action(async (host: string | undefined, options: ApplyOptions) =>
        runApply("switch", host, options, runtime(), program),
      ),
    );
};
