/** `ternix inputs`, `ternix update`, `ternix lock-diff`: look at the lock and move it reviewably. */
import { Option } from "commander";
import { listInputs } from "../app/fleet/inputs.js";
import { lockDiff } from "../app/fleet/lock-diff.js";
import { updateLock } from "../app/fleet/update.js";
import { locateFlake } from "../app/flake.js";
import { compareLinkHosts } from "../config/config.js";
import { ExitCode } from "../errors.js";
import { renderInputsText, renderLockDiffText, toInputsJson, toLockDiffJson } from "../report/lock.js";
import { action, parseCount, type RegisterCommand } from "./command.js";
import { channelsOption, flakeOrChannels } from "./channel-mode.js";
import { lockingFlake, noWaitOption } from "./flake-lock.js";
import type { Runtime } from "./runtime.js";

const json = () => new Option("--json", "print JSON (schema: docs/json-schema.md)");
export const flakeOption = () =>
  new Option(
    "--flake <dir>",
    "the directory holding flake.nix (default: the current one, or the nearest parent that has one)",
  );

function printJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export const registerInputs: RegisterCommand = (program, runtime) => {
  program
    .command("inputs")
    .description("List every locked input with its revision, date, age and a staleness verdict")
    .addOption(flakeOption())
    .addOption(json())
    .option("--check", `exit ${ExitCode.checkFailed} when the staleness policy fails (for CI)`)
    .option(
      "--upstream",
      "fetch every input's upstream and show how far behind it is (a dry-run update in a copy: needs Nix and the network)",
    )
    .option(
      "--max-age <days>",
      "days after which a nixpkgs-like input is stale (default 30, config staleness.max-age-days)",
      parseCount("--max-age", 1),
    )
    .addOption(channelsOption())
    .action(
      action(
        async (options: {
          flake?: string;
          json?: boolean;
          check?: boolean;
          maxAge?: number;
          upstream?: boolean;
          channels?: boolean;
        }) => {
          const rt = runtime();
          const flake = await flakeOrChannels(rt, options.channels, () =>
            locateFlake(options.flake, rt.cwd, rt.git),
          );
          if (flake === undefined) {
            const { runChannelInputs } = await import("./channel.js");
            return runChannelInputs(rt, options);
          }
          const config = await rt.config(flake.dir);
          if (options.maxAge !== undefined) config.staleness["max-age-days"] = options.maxAge;
          const now = rt.effects.now();
          const upstream = options.upstream
            ? {
                deps: { nix: await rt.nix(config), git: rt.git, effects: rt.effects },
                forgeHosts: compareLinkHosts(config),
              }
            : undefined;
          const result = await listInputs(flake, config, now, { upstream });
          rt.output.stdout(
            options.json
              ? printJson(toInputsJson(result.verdicts, now, { upstreamChecked: result.upstreamChecked }))
              : renderInputsText(result.verdicts, {
                  color: rt.output.color,
                  now,
                  upstream: result.upstreamChecked,
                }),
          );
          if (options.check && !result.policyPassed) {
            if (!options.json) rt.output.warn("the staleness policy failed (see the verdicts above).");
            return ExitCode.checkFailed;
          }
          return ExitCode.ok;
        },
      ),
    );
};

export const registerUpdate: RegisterCommand = (program, runtime) => {
  program
    .command("update")
    .description("Update all inputs (or channels), or the named ones, and show the semantic diff")
    .argument("[inputs...]", "input names (nested ones as parent/name), or channel names; none updates all")
    .addOption(flakeOption())
    .option("--dry-run", "compute the new lock in a temporary copy; leave your files untouched")
    .option("--commit", "commit flake.lock with a message listing each input's old → new revision")
    .addOption(noWaitOption())
    .addOption(json())
    .addOption(channelsOption())
    .action(
      action(
        async (
          inputs: string[],
          options: {
            flake?: string;
            dryRun?: boolean;
            commit?: boolean;
            json?: boolean;
            wait?: boolean;
            channels?: boolean;
          },
        ) => {
          const rt: Runtime = runtime();
          const flake = await flakeOrChannels(rt, options.channels, () =>
            locateFlake(options.flake, rt.cwd, rt.git),
          );
          if (flake === undefined) {
            const { runChannelUpdate } = await import("./channel.js");
            return runChannelUpdate(rt, inputs, options);
          }
          const config = await rt.config(flake.dir);
          const nix = await rt.nix(config);
          const dryRun = options.dryRun ?? false;
          const update = () =>
            updateLock(
              {
                flake,
                inputs,
                dryRun,
                commit: options.commit ?? false,
                forgeHosts: compareLinkHosts(config),
              },
              { nix, git: rt.git, effects: rt.effects },
            );
          // A dry run writes nothing of the flake's, so it needs no lock.
          const result = dryRun
            ? await update()
            : await lockingFlake(rt, flake, { command: "update", wait: options.wait }, update);
          if (options.json) {
            rt.output.stdout(
              printJson({
                ...toLockDiffJson(result.diff),
                dryRun: result.dryRun,
                written: result.written,
                commit: result.commit ?? null,
              }),
            );
          } else {
            rt.output.stdout(renderLockDiffText(result.diff, { color: rt.output.color }));
            if (result.dryRun && result.diff.changed) rt.output.info("Dry run: flake.lock was not changed.");
            if (result.commit) rt.output.info(`Committed flake.lock as ${result.commit.slice(0, 12)}.`);
          }
          return ExitCode.ok;
        },
      ),
    );
};

export const registerLockDiff: RegisterCommand = (program, runtime) => {
  program
    .command("lock-diff")
    .description("Compare two locks: git revisions or lock files (default: HEAD vs the working tree)")
    .argument("[old]", "a git revision or a flake.lock file (default: HEAD)")
    .argument("[new]", "a git revision or a flake.lock file (default: the working tree's flake.lock)")
    .addOption(flakeOption())
    .addOption(json())
    .action(
      action(
        async (
          oldSpec: string | undefined,
          newSpec: string | undefined,
          options: { flake?: string; json?: boolean },
        ) => {
          const rt = runtime();
          // Config (for self-hosted forge compare links) only when there is a flake: two lock files need none.
          const flake = await locateFlake(options.flake, rt.cwd, rt.git).catch(() => undefined);
          const forgeHosts = flake === undefined ? [] : compareLinkHosts(await rt.config(flake.dir));
          const result = await lockDiff(
            { old: oldSpec, new: newSpec, flakeDir: options.flake, cwd: rt.cwd, forgeHosts },
            rt.git,
          );
          rt.output.stdout(
            options.json
              ? printJson({
                  ...toLockDiffJson(result.diff),
                  old: result.before.label,
                  new: result.after.label,
                })
              : renderLockDiffText(result.diff, { color: rt.output.color }),
          );
          return ExitCode.ok;
        },
      ),
    );
};
