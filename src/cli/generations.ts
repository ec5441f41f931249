/** `ternix generations`: the system profile's generations with current, booted and known-good markers. */
import { listGenerations } from "../app/machine/generations.js";
import { ExitCode } from "../errors.js";
import { renderGenerationsText, toGenerationsJson } from "../report/system.js";
import { action, type RegisterCommand } from "./command.js";
import {
  addSystemPathOptions,
  flakeOption,
  systemContext,
  type SystemPathOptions,
} from "./system-context.js";

export const registerGenerations: RegisterCommand = (program, runtime) => {
  const command = program
    .command("generations")
    .description(
      "List system generations: date, NixOS version, kernel, closure size; current, booted and known-good markers",
    )
    .option("--json", "print JSON (schema: docs/json-schema.md, generations v1)")
    .option("--diff", "add the package diff between consecutive generations")
    .addOption(flakeOption());
  addSystemPathOptions(command).action(
    action(async (options: SystemPathOptions & { json?: boolean; diff?: boolean }) => {
      const rt = runtime();
      const ctx = await systemContext(rt, options, false);
      const nix = await rt.nix(ctx.config);
      const result = await listGenerations(
        { paths: ctx.paths, diff: options.diff ?? false },
        { nix, closureCache: rt.effects.closureCache },
      );
      rt.output.stdout(
        options.json
          ? JSON.stringify(toGenerationsJson(result), null, 2)
          : renderGenerationsText(result, { color: rt.output.color }),
      );
      return ExitCode.ok;
    }),
  );
};
