/**
 * Channel-based systems on the command line: `inputs` and `update` without a flake, and
 * `ternix channel switch NAME [URL]` (a release jump, with the store-schema warning).
 */
import {
  applyChannelSwitch,
  channelAsInput,
  describeRunningNix,
  channelStalenessPolicy,
  listChannels,
  planChannelSwitch,
  updateChannels,
} from "../app/channels.js";
import { resolve } from "node:path";
import type { Config } from "../config/config.js";
import { ExitCode, UsageError } from "../errors.js";
import { assessInputs, policyPassed } from "../lock/staleness.js";
import {
  channelSwitchWarning,
  renderChannelDiffText,
  renderChannelsText,
  renderChannelSwitchText,
  toChannelDiffJson,
  toChannelsJson,
  toChannelSwitchJson,
} from "../report/channels.js";
import { channelDeps } from "./channel-mode.js";
import type { AppEvent } from "../app/effects.js";
import { action, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import type { Runtime } from "./runtime.js";
import { askYesNo } from "./system-context.js";

const print = (value: unknown) => JSON.stringify(value, null, 2);

/** Settings for channel mode: ternix.toml in --flake DIR when given, else /etc/nixos's, else defaults. */
async function channelConfig(rt: Runtime, dir: string | undefined): Promise<Config> {
  // A missing file is the defaults; a malformed one is an error, as for a flake's.
  return rt.config(resolve(rt.cwd, dir ?? "/etc/nixos"));
}

export async function runChannelInputs(
  rt: Runtime,
  options: { flake?: string; json?: boolean; check?: boolean; maxAge?: number; upstream?: boolean },
): Promise<number> {
  if (options.upstream) {
    throw new UsageError("--upstream compares flake inputs; channels have no upstream lock to compare.", {
      hint: "Run `ternix update --dry-run` to see what updating the channels would fetch.",
    });
  }
  const config = await channelConfig(rt, options.flake);
  if (options.maxAge !== undefined) config.staleness["max-age-days"] = options.maxAge;
  const now = rt.effects.now();
  const { channels } = await listChannels(await channelDeps(rt));
  const verdicts = assessInputs(channels.map(channelAsInput), channelStalenessPolicy(config), now);
  const rows = channels.map((channel, i) => ({ channel, verdict: verdicts[i] as (typeof verdicts)[number] }));
  rt.output.stdout(
    options.json
      ? print(toChannelsJson(rows, now))
      : renderChannelsText(rows, { color: rt.output.color, now }),
  );
  if (options.check && !policyPassed(verdicts)) {
    if (!options.json) rt.output.warn("the staleness policy failed (see the verdicts above).");
    return ExitCode.checkFailed;
  }
  return ExitCode.ok;
}

export async function runChannelUpdate(
  rt: Runtime,
  names: readonly string[],
  options: { dryRun?: boolean; commit?: boolean; json?: boolean },
): Promise<number> {
  if (options.commit) {
    throw new UsageError("--commit commits flake.lock; channels have none.", {
      hint: "Update the channels without --commit.",
    });
  }
  const progress = createProgress(rt.output);
  const deps = await channelDeps(rt);
  const result = await updateChannels(
    { names, dryRun: options.dryRun ?? false },
    { ...deps, effects: { ...deps.effects, onEvent: (e) => progress.onEvent(e) } },
  ).finally(() => progress.done());
  if (options.json) {
    rt.output.stdout(print(toChannelDiffJson(result.changes, result)));
  } else {
    rt.output.stdout(renderChannelDiffText(result.changes, { color: rt.output.color }));
    if (result.dryRun && result.changes.some((c) => c.changed))
      rt.output.info("Dry run: the channels were not changed.");
    else if (result.generationAfter !== undefined && result.generationAfter !== result.generationBefore)
      rt.output.info(`Channels generation ${result.generationAfter}.`);
  }
  return ExitCode.ok;
}

export const registerChannel: RegisterCommand = (program, runtime) => {
  const channel = program
    .command("channel")
    .description("Channel-based systems: move a channel to another release (see docs/channels.md)");
  channel
    .command("switch")
    .description(
      "Point a channel at another release (nixos-24.11 → nixos-25.05, or nixos-unstable): shows the release jump and warns when the new channel's Nix may upgrade the store schema irreversibly",
    )
    .argument("<name>", "the channel (with URL), or the release to move the `nixos` channel to (without)")
    .argument("[url]", "the channel URL, e.g. https://nixos.org/channels/nixos-25.05")
    .option("-y, --yes", "don't ask")
    .option("--json", "print JSON (schema: docs/json-schema.md); implies no question, so needs --yes")
    .addHelpText(
      "after",
      "\nExit codes: 0 switched, 1 error or answered no (nothing changed), 64 usage error.\n" +
        "After switching, `ternix switch` builds and activates the system from the new channel.",
    )
    .action(
      action(async (name: string, url: string | undefined, options: { yes?: boolean; json?: boolean }) => {
        const rt = runtime();
        const progress = createProgress(rt.output);
        const deps = await channelDeps(rt);
        const withProgress = {
          ...deps,
          effects: { ...deps.effects, onEvent: (e: AppEvent) => progress.onEvent(e) },
        };
        const planned = await planChannelSwitch({ name, url }, withProgress).finally(() => progress.done());
        const plan = { ...planned, running: describeRunningNix(deps.nix) };
        if (!options.json) rt.output.stdout(renderChannelSwitchText(plan, { color: rt.output.color }));
        const warning = channelSwitchWarning(plan);
        if (warning !== undefined && !options.json) rt.output.warn(warning);
        if (!options.yes) {
          if (options.json || !rt.output.interactive) {
            throw new UsageError("switching a channel needs a confirmation.", {
              hint: "Re-run with --yes once you have read the preview.",
            });
          }
          if (!(await askYesNo(`Switch channel ${plan.name} to ${plan.url}?`))) {
            rt.output.stdout("Aborted; nothing was changed.");
            return ExitCode.error;
          }
        }
        await applyChannelSwitch(plan, withProgress).finally(() => progress.done());
        if (options.json) rt.output.stdout(print(toChannelSwitchJson(plan, { switched: true })));
        else
          rt.output.info(
            `Channel ${plan.name} now follows ${plan.url}. \`ternix switch\` builds and activates the system from it.`,
          );
        return ExitCode.ok;
      }),
    );
};
