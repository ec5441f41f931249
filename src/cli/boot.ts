/** `ternix boot [HOST]`: build and make it the boot default, without activating it now. */
import { channelsOption } from "./channel-mode.js";
import { action, type RegisterCommand } from "./command.js";
import { APPLY_EXIT_CODES, runApply, type ApplyOptions } from "./apply-command.js";
import { addSystemPathOptions, flakeOption, waitOption } from "./system-context.js";

export const registerBoot: RegisterCommand = (program, runtime) => {
  const command = program
    .command("boot")
    .description(
      "Build, add the generation and make it the boot default (switch-to-configuration boot); active after a reboot",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .addOption(flakeOption())
    .addOption(channelsOption())
    .option(
      "--nixos-config <path>",
      "channel mode: the configuration.nix to build (default /etc/nixos/configuration.nix)",
    )
    .option("-y, --yes", "don't ask first")
    .addOption(waitOption());
  addSystemPathOptions(command, { activation: true })
    .addHelpText("after", APPLY_EXIT_CODES)
    .action(
      action(async (host: string | undefined, options: ApplyOptions) =>
        runApply("boot", host, options, runtime(), program),
      ),
    );
};
