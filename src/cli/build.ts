/** `ternix build [HOST]`: build the system and show its diff against the running one. */
import { channelsOption } from "./channel-mode.js";
import { action, type RegisterCommand } from "./command.js";
import { runApply, type ApplyOptions } from "./apply-command.js";
import { failOnOption } from "./fail-on.js";
import { flakeOption } from "./system-context.js";

export const registerBuild: RegisterCommand = (program, runtime) => {
  program
    .command("build")
    .description(
      "Build this machine's system (or HOST's) and show the package diff against the running system",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .addOption(flakeOption())
    .addOption(channelsOption())
    .option(
      "--nixos-config <path>",
      "channel mode: the configuration.nix to build (default /etc/nixos/configuration.nix)",
    )
    .option(
      "--current-system <path>",
      "the running system's link to compare with (default /run/current-system)",
    )
    .addOption(failOnOption("the new system"))
    .addHelpText(
      "after",
      "\nNeeds no root: nothing on the machine changes.\n\nExit codes: 0 built, 1 error, 5 --fail-on: the new system carries a risk of one of the given kinds (diff still shown), 64 usage error.",
    )
    .action(
      action(async (host: string | undefined, options: ApplyOptions) =>
        runApply("build", host, options, runtime(), program),
      ),
    );
};
