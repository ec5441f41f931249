/** `ternix test [HOST]`: build and activate now, without making it the boot default. */
import { channelsOption } from "./channel-mode.js";
import { action, type RegisterCommand } from "./command.js";
import { APPLY_EXIT_CODES, runApply, type ApplyOptions } from "./apply-command.js";
import { addSystemPathOptions, flakeOption, waitOption } from "./system-context.js";

export const registerTest: RegisterCommand = (program, runtime) => {
  const command = program
    .command("test")
    .description(
      "Build and activate now (switch-to-configuration test) without changing the boot default; run the checks",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .addOption(flakeOption())
    .addOption(channelsOption())
    .option(
      "--nixos-config <path>",
      "channel mode: the configuration.nix to build (default /etc/nixos/configuration.nix)",
    )
    .option("-y, --yes", "don't ask before activating")
    .option("--no-rollback", "when a check fails, leave the new system active")
    .addOption(waitOption());
  addSystemPathOptions(command, { systemctl: true, activation: true })
    .addHelpText("after", APPLY_EXIT_CODES)
    .action(
      action(async (host: string | undefined, options: ApplyOptions) =>
        runApply("test", host, options, runtime(), program),
      ),
    );
};
