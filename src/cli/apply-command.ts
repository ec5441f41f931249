/** The shared body of `ternix build | test | switch | boot`. */
import type { Command } from "commander";
import { applySystem, type ApplyMode, type ApplyPreview, type ApplyResult } from "../app/machine/apply.js";
import { checkSpecsFromConfig } from "../app/machine/checks.js";
import { resolveHostName } from "../app/machine/system-build.js";
import { ExitCode } from "../errors.js";
import { renderClosureDiffText } from "../report/closure.js";
import { renderCheckLine } from "../report/system.js";
import { createStyle } from "../report/style.js";
import type { RiskKind } from "../closure/risk.js";
import { failOnHits } from "./fail-on.js";
import { createProgress } from "./progress.js";
import type { Runtime } from "./runtime.js";
import {
  askYesNo,
  commandLine,
  pathsFromOptions,
  systemContext,
  type SystemContext,
  type SystemPathOptions,
} from "./system-context.js";
import {
  channelSystemSource,
  DEFAULT_NIXOS_CONFIG,
  updateChannels,
  type ChannelSystemSource,
} from "../app/channels.js";
import type { AppEvent } from "../app/effects.js";
import type { FlakeLocation } from "../app/flake.js";
import { locateSystemFlake } from "../app/machine/system-build.js";
import { realSystemEffects } from "../app/machine/system-effects.js";
import { UsageError } from "../errors.js";
import { renderChannelDiffText } from "../report/channels.js";
import { flakeOrChannels } from "./channel-mode.js";
import { dirname, resolve } from "node:path";

export interface ApplyOptions extends SystemPathOptions {
  yes?: boolean;
  /** Build from the channels (`<nixpkgs/nixos>`), not a flake. */
  channels?: boolean;
  /** Channel mode: the configuration.nix to build (default /etc/nixos/configuration.nix). */
  nixosConfig?: string;
  /** switch: update the channels first (`nixos-rebuild switch --upgrade`). */
  upgrade?: boolean;
  /** commander's `--no-rollback` sets this to false. */
  rollback?: boolean;
  commit?: boolean;
  /** build only: exit 5 when the new system carries a risk of these kinds. */
  failOn?: RiskKind[];
}

const QUESTION: Record<Exclude<ApplyMode, "build">, string> = {
  test: "Activate it now (not the boot default)?",
  switch: "Switch to it (activate and make it the boot default)?",
  boot: "Make it the boot default for the next boot?",
};

export async function runApply(
  mode: ApplyMode,
  hostArg: string | undefined,
  options: ApplyOptions,
  rt: Runtime,
  program: Command,
): Promise<number> {
  const channelMode =
    (await flakeOrChannels(rt, options.channels, () => locateSystemFlake(options.flake, rt.cwd, rt.git))) ===
    undefined;
  if (!channelMode && options.upgrade) {
    throw new UsageError("--upgrade updates the channels; this system is built from a flake.", {
      hint: "Move the flake's lock with `ternix update`, then `ternix switch`.",
    });
  }
  const ctx: SystemContext & { nixosConfig?: string } = channelMode
    ? await channelSystemContext(rt, options)
    : await systemContext(rt, options, true);
  const host = resolveHostName(hostArg, ctx.system.hostname());
  const nix = await rt.nix(ctx.config);
  const progress = createProgress(rt.output);
  const s = createStyle(rt.output.color);
  let flake: FlakeLocation | ChannelSystemSource;
  if (channelMode) {
    const deps = { nix, effects: { ...rt.effects, onEvent: (e: AppEvent) => progress.onEvent(e) } };
    if (options.upgrade) {
      const updated = await updateChannels({ names: [], dryRun: false }, deps);
      progress.done();
      rt.output.stdout(renderChannelDiffText(updated.changes, { color: rt.output.color }));
    }
    flake = await channelSystemSource(deps, ctx.nixosConfig ?? DEFAULT_NIXOS_CONFIG);
  } else {
    flake = ctx.flake as FlakeLocation;
  }
  let checksShown = false;
  const review = async (preview: ApplyPreview): Promise<boolean> => {
    progress.done();
    rt.output.stdout(renderPreview(preview, rt.output.color));
    if (mode === "build") return true;
    if (options.yes || !rt.output.interactive) return true;
    return askYesNo(QUESTION[mode]);
  };
  const result = await applySystem(
    {
      mode,
      host,
      flake,
      paths: ctx.paths,
      checks: checkSpecsFromConfig(ctx.config.checks),
      rollback: options.rollback ?? true,
      commit: options.commit ?? false,
      wait: options.wait ?? false,
      argv: commandLine(program),
    },
    {
      nix,
      git: rt.git,
      effects: { ...rt.effects, scanStore: rt.storeScanner(ctx.config), onEvent: (e) => progress.onEvent(e) },
      system: ctx.system,
      review,
      onCheck: (r) => {
        if (!checksShown) rt.output.stdout("\nChecks:");
        checksShown = true;
        rt.output.stdout(`  ${renderCheckLine(r, { color: rt.output.color })}`);
      },
    },
  ).finally(() => progress.done());
  const outcome = outcomeText(result, s);
  if (outcome !== "") rt.output.stdout(outcome);
  const hits = failOnHits(result.preview.diff, options.failOn);
  for (const kind of hits) rt.output.info(`--fail-on ${kind}: the new system carries a ${kind} risk.`);
  if (hits.length > 0 && result.outcome === "built") return ExitCode.checkFailed;
  return exitCodeOf(result);
}

/**
 * Channel mode's context: the configuration.nix to build, ternix.toml beside it (as a flake's sits
 * beside flake.nix), and the system paths.
 */
async function channelSystemContext(
  rt: Runtime,
  options: ApplyOptions,
): Promise<SystemContext & { nixosConfig: string }> {
  const nixosConfig = resolve(rt.cwd, options.nixosConfig ?? DEFAULT_NIXOS_CONFIG);
  const config = await rt.config(dirname(nixosConfig));
  return {
    flake: undefined,
    config,
    paths: pathsFromOptions(config, options, rt.cwd),
    system: realSystemEffects(),
    nixosConfig,
  };
}

function renderPreview(preview: ApplyPreview, color: boolean): string {
  const lines = [`${preview.host}: ${preview.storePath}`];
  if (preview.diff) lines.push("", renderClosureDiffText(preview.diff, { color }).trimEnd());
  else if (preview.diffNote) lines.push(`(no diff: ${preview.diffNote})`);
  return `${lines.join("\n")}\n`;
}

function outcomeText(result: ApplyResult, s: ReturnType<typeof createStyle>): string {
  const gen = result.generation === undefined ? "" : ` (generation ${result.generation})`;
  const reboot = result.preview.diff?.needsReboot
    ? " A reboot is recommended: the kernel or boot setup changed."
    : "";
  switch (result.outcome) {
    case "built":
      return "";
    case "aborted":
      return "Aborted; nothing was changed.";
    case "tested":
      return s.green(
        `${result.preview.host} is active now; the boot default is unchanged. \`ternix switch\` makes it stick.`,
      );
    case "switched": {
      const commit =
        result.commit === undefined
          ? ""
          : result.commit.sha === undefined
            ? " flake.lock had nothing to commit."
            : ` Committed flake.lock as ${result.commit.sha.slice(0, 12)}.`;
      return s.green(
        `Switched ${result.preview.host}${gen}; all checks passed, recorded as known good.${commit}${reboot}`,
      );
    }
    case "boot-default":
      return `${result.preview.host}${gen} is the boot default. Reboot to use it.`;
    case "rolled-back": {
      const to = result.rolledBackTo;
      const where =
        to?.generation !== undefined
          ? `generation ${to.generation}`
          : (to?.storePath ?? "the previous system");
      return s.red(`A check failed; re-activated ${where}. The profile and the boot default are unchanged.`);
    }
    case "checks-failed":
      return s.red(
        `A check failed; ${result.preview.host} was left active (no rollback), but it is not the boot default: rebooting (or \`ternix rollback --to N\`) goes back.`,
      );
  }
}

function exitCodeOf(result: ApplyResult): number {
  switch (result.outcome) {
    case "built":
    case "tested":
    case "switched":
    case "boot-default":
      return ExitCode.ok;
    case "aborted":
      return ExitCode.error;
    case "rolled-back":
    case "checks-failed":
      return ExitCode.checkFailed;
  }
}

export const APPLY_EXIT_CODES = `
Exit codes:
  0  done (for switch: activated and every check passed)
  1  error (nothing changed if the build failed), or you answered no
  ${ExitCode.checkFailed}  a check failed after activation (the previous system re-activated unless --no-rollback;
     the profile and the boot default are unchanged either way)
  64 usage error`;
