/** `ternix diff`: nvd-grade package diff between two closures, with risk flags. */
import { Option } from "commander";
import { diffSystems } from "../app/diff.js";
import { ExitCode } from "../errors.js";
import { renderClosureDiffMarkdown, renderClosureDiffText, toClosureDiffJson } from "../report/closure.js";
import type { RiskKind } from "../closure/risk.js";
import { action, type RegisterCommand } from "./command.js";
import { failOnOption, failOnHits } from "./fail-on.js";

export const registerDiff: RegisterCommand = (program, runtime) => {
  program
    .command("diff")
    .description(
      "Show the package diff between two system closures (store paths, result links, generations, /run/current-system)",
    )
    .argument("<before>", "the old closure")
    .argument("<after>", "the new closure")
    .addOption(
      new Option("--format <format>", "report format").choices(["text", "markdown", "json"]).default("text"),
    )
    .option("--json", "same as --format json")
    .addOption(failOnOption("the new closure"))
    .addHelpText(
      "after",
      `
Exit codes:
  0  the diff was shown
  1  error
  5  --fail-on: the new closure carries a risk of one of the given kinds (diff still shown)
 64  usage error`,
    )
    .action(
      action(
        async (
          before: string,
          after: string,
          options: { format: "text" | "markdown" | "json"; json?: boolean; failOn?: RiskKind[] },
        ) => {
          const rt = runtime();
          // Nix is asked (and its version detected) only for closures neither in the cache nor
          // readable from the store database.
          const result = await diffSystems(
            { before, after, cwd: rt.cwd },
            () => rt.nix(),
            rt.effects.closureCache,
            rt.storeDatabase(),
            rt.effects.scanStore,
          );
          const format = options.json ? "json" : options.format;
          rt.output.stdout(
            format === "json"
              ? JSON.stringify(toClosureDiffJson(result.diff), null, 2)
              : format === "markdown"
                ? renderClosureDiffMarkdown(result.diff)
                : renderClosureDiffText(result.diff, { color: rt.output.color }),
          );
          const hits = failOnHits(result.diff, options.failOn);
          for (const kind of hits)
            rt.output.info(`--fail-on ${kind}: the new closure carries a ${kind} risk.`);
          return hits.length > 0 ? ExitCode.checkFailed : ExitCode.ok;
        },
      ),
    );
};
