/** `ternix gc`: delete old system generations (never current, booted or known good), then collect garbage. */
import { InvalidArgumentError } from "commander";
import { collectGarbage } from "../app/machine/gc.js";
import { parseDuration } from "../config/config.js";
import { ExitCode } from "../errors.js";
import { formatSize } from "../report/closure.js";
import { renderGcPlanText } from "../report/system.js";
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

interface GcOptions extends SystemPathOptions {
  keep?: number;
  keepSince?: string;
  dryRun?: boolean;
  optimise?: boolean;
  collect?: boolean;
}

export const registerGc: RegisterCommand = (program, runtime) => {
  const command = program
    .command("gc")
    .description(
      "Delete system generations outside the retention (never the current, booted or newest known-good one), then collect garbage",
    )
    .option("--keep <n>", "keep the newest N generations (default 5, config gc.keep)", parseCount("--keep"))
    .option(
      "--keep-since <duration>",
      "also keep generations younger than this, e.g. 14d (config gc.keep-since)",
      (v) => {
        try {
          parseDuration(v);
        } catch {
          throw new InvalidArgumentError("use a duration like 12h, 14d or 2w.");
        }
        return v;
      },
    )
    .option("--dry-run", "show what would be deleted and roughly how much space it frees; delete nothing")
    .option("--no-collect", "only delete generations; leave `nix-store --gc` to a timer (nix.gc)")
    .option("--optimise", "deduplicate the store afterwards (nix-store --optimise)")
    .addOption(flakeOption())
    .addOption(waitOption());
  addSystemPathOptions(command).action(
    action(async (options: GcOptions) => {
      const rt = runtime();
      const ctx = await systemContext(rt, options, false);
      const nix = await rt.nix(ctx.config);
      const keepSince = options.keepSince ?? ctx.config.gc["keep-since"];
      const dryRun = options.dryRun ?? false;
      const progress = createProgress(rt.output);
      const result = await collectGarbage(
        {
          paths: ctx.paths,
          keep: options.keep ?? ctx.config.gc.keep,
          keepSinceMs: keepSince === undefined ? undefined : parseDuration(keepSince),
          dryRun,
          collect: options.collect ?? true,
          optimise: options.optimise ?? false,
          wait: options.wait ?? false,
          argv: commandLine(program),
        },
        {
          nix,
          effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) },
          system: ctx.system,
          onPlan: (plan) => rt.output.stdout(renderGcPlanText(plan, { color: rt.output.color, dryRun })),
        },
      ).finally(() => progress.done());
      if (!dryRun) {
        const lines: string[] = [];
        if (result.deleted.length > 0)
          lines.push(
            `Deleted generation${result.deleted.length > 1 ? "s" : ""} ${result.deleted.join(", ")}.`,
          );
        if (result.collected)
          lines.push(
            `Garbage collection: ${result.collected.paths} store paths deleted, ${formatSize(result.collected.bytes, false)} freed.`,
          );
        else if (result.collectedRan) lines.push("Garbage collection done.");
        if (result.optimised) lines.push("Store optimised.");
        if (lines.length > 0) rt.output.stdout(lines.join("\n"));
      }
      return ExitCode.ok;
    }),
  );
};
