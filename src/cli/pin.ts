/** `ternix pin INPUT --url URL [--rev REV]` and `ternix unpin INPUT`: a second input for one package. */
import { Option } from "commander";
import { pinInput, pinSnippet, unpinInput, type PinResult } from "../app/fleet/pin.js";
import { locateFlake } from "../app/flake.js";
import { ExitCode } from "../errors.js";
import { PIN_MARKER } from "../lock/flake-nix.js";
import { renderLockDiffText, toLockDiffJson } from "../report/lock.js";
import { action, type RegisterCommand } from "./command.js";
import { lockingFlake, noWaitOption } from "./flake-lock.js";
import { flakeOption } from "./lock-commands.js";
import type { Runtime } from "./runtime.js";

const jsonOption = () => new Option("--json", "print JSON (schema: docs/json-schema.md, kind pin)");

function report(rt: Runtime, result: PinResult, kind: "pin" | "unpin", json: boolean | undefined): number {
  const snippet = kind === "pin" ? pinSnippet(result.name) : undefined;
  if (json) {
    rt.output.stdout(
      JSON.stringify(
        {
          ...toLockDiffJson(result.diff),
          kind,
          input: result.name,
          url: kind === "pin" ? result.url : null,
          notes: result.notes,
          snippet: snippet ?? null,
        },
        null,
        2,
      ),
    );
    return ExitCode.ok;
  }
  rt.output.stdout(renderLockDiffText(result.diff, { color: rt.output.color }));
  for (const note of result.notes) rt.output.info(`flake.nix: ${note}.`);
  if (snippet !== undefined) {
    rt.output.stdout(`\nTake a package from ${result.name} in a module:\n\n${snippet}`);
  }
  return ExitCode.ok;
}

export const registerPin: RegisterCommand = (program, runtime) => {
  program
    .command("pin")
    .description("Add a pinned input (e.g. nixpkgs at another revision) to flake.nix and lock only it")
    .argument("<input>", "the new input's name, e.g. nixpkgs-2405")
    .requiredOption("--url <url>", "its flake reference, e.g. github:NixOS/nixpkgs/nixos-24.05")
    .option("--rev <rev>", "lock this commit (40 hex characters): adds ?rev= to the URL")
    .addOption(flakeOption())
    .addOption(noWaitOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
flake.nix gets one line in its inputs, \`NAME.url = "URL"; ${PIN_MARKER}\` (and NAME among the
outputs function's arguments when they are listed without \`...\`); nothing else is reformatted. If
the inputs cannot be edited safely (computed, not an attribute set), pin refuses and says why. If
locking fails or is interrupted, flake.nix and flake.lock are restored. \`ternix inputs\` marks pins;
they are exempt from the age and branch checks.`,
    )
    .action(
      action(
        async (
          name: string,
          options: { url: string; rev?: string; flake?: string; json?: boolean; wait?: boolean },
        ) => {
          const rt = runtime();
          const flake = await locateFlake(options.flake, rt.cwd, rt.git);
          const nix = await rt.nix(await rt.config(flake.dir));
          const result = await lockingFlake(rt, flake, { command: "pin", wait: options.wait }, () =>
            pinInput(
              { flake, name, url: options.url, rev: options.rev },
              { nix, git: rt.git, effects: rt.effects },
            ),
          );
          return report(rt, result, "pin", options.json);
        },
      ),
    );
};

export const registerUnpin: RegisterCommand = (program, runtime) => {
  program
    .command("unpin")
    .description("Remove an input added by `ternix pin` from flake.nix and flake.lock")
    .argument("<input>", "the pinned input's name")
    .addOption(flakeOption())
    .addOption(noWaitOption())
    .addOption(jsonOption())
    .action(
      action(async (name: string, options: { flake?: string; json?: boolean; wait?: boolean }) => {
        const rt = runtime();
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const nix = await rt.nix(await rt.config(flake.dir));
        const result = await lockingFlake(rt, flake, { command: "unpin", wait: options.wait }, () =>
          unpinInput(flake, name, { nix, git: rt.git, effects: rt.effects }),
        );
        return report(rt, result, "unpin", options.json);
      }),
    );
};
