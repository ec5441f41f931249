/** `ternix deploy [HOST…|@TAG…]`: build, compare, copy and activate over SSH with a dead man's switch (docs/deploy.md). */
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { deploy, deployExitCode, type DeployResult } from "../app/fleet/deploy.js";
import { realSystemEffects } from "../app/machine/system-effects.js";
import { ExitCode } from "../errors.js";
import { deployJson, renderDeployPreview, renderDeployReport } from "../report/deploy.js";
import { renderCheckLine } from "../report/system.js";
import { action, collect, parseCount, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import { askYesNo } from "./system-context.js";

interface DeployOptions {
  flake?: string;
  operation?: "switch" | "test" | "boot";
  yes?: boolean;
  dryRun?: boolean;
  parallel?: number;
  canary?: string[];
  maxFailures?: number;
  exclude?: string;
  sshOption?: string[];
  confirmTimeout?: string;
  json?: boolean;
}

const EXIT_CODES = `
Exit codes:
  0  every selected host deployed or unchanged (with --dry-run: every host built and reachable)
  1  a host failed (build, copy, phase 1, checks, phase 2), was skipped or unreachable; or you answered no
  ${ExitCode.checkFailed}  a host's checks failed and it was rolled back to its previous system
  64 usage error
  130 interrupted (no new host started; hosts mid-activation are left to their dead man's switch)`;

export const registerDeploy: RegisterCommand = (program, runtime) => {
  program
    .command("deploy")
    .description(
      "Build the selected hosts, show what changes on each, copy the closures over SSH and activate them with health checks and a dead man's switch; canaries first",
    )
    .argument("[hosts...]", "host names and @tags (default: every host, minus [hosts] exclude)")
    .option("--flake <dir>", "the directory holding flake.nix")
    .addOption(
      new Option("--operation <op>", "switch (default), test (active, not the boot default) or boot").choices(
        ["switch", "test", "boot"],
      ),
    )
    .option("-y, --yes", "don't ask before deploying")
    .option("--dry-run", "build and compare only; change nothing")
    .option("--parallel <n>", "hosts at once (default [deploy] parallel, 4)", parseCount("--parallel", 1))
    .option("--canary <host|@tag>", "deploy it first, alone (repeatable; default [deploy] canary)", collect)
    .option(
      "--max-failures <n>",
      "failures tolerated before no further host starts (default [deploy] max-failures, 0)",
      parseCount("--max-failures", 0),
    )
    .option("--exclude <regex>", "leave out hosts whose name matches (default [hosts] exclude)")
    .option("--ssh-option <NAME=VALUE>", "pass -o NAME=VALUE to every ssh and nix copy (repeatable)", collect)
    .option(
      "--confirm-timeout <duration>",
      "when the dead man's switch fires (default [deploy] confirm-timeout, 60s)",
    )
    .option("--json", "print JSON (schema: docs/json-schema.md, deploy v1)")
    .addHelpText("after", EXIT_CODES)
    .action(
      action(async (hosts: string[], options: DeployOptions) => {
        const rt = runtime();
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const config = await rt.config(flake.dir);
        const nix = await rt.nix(config);
        const progress = createProgress(rt.output);
        const color = rt.output.color;
        let result: DeployResult;
        try {
          result = await deploy(
            {
              flake,
              config,
              selectors: hosts,
              exclude: options.exclude,
              operation: options.operation ?? "switch",
              dryRun: options.dryRun ?? false,
              parallel: options.parallel,
              canary: options.canary,
              maxFailures: options.maxFailures,
              sshOptions: options.sshOption,
              trustConfig: program.opts<{ trustConfig?: boolean }>().trustConfig ?? false,
              confirmTimeout: options.confirmTimeout,
            },
            {
              nix,
              effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) },
              system: realSystemEffects(),
              review: async (preview, canaries) => {
                progress.done();
                const view = { ...emptyView(), preview, canaries };
                // The preview goes to stderr with --json, so stdout stays one JSON document.
                if (options.json)
                  rt.output.info(renderDeployPreview(view, { color: rt.output.stderrColor }).trimEnd());
                else rt.output.stdout(renderDeployPreview(view, { color }));
                const changing = preview.filter((p) => p.status === "changed").length;
                if (options.dryRun || changing === 0) return true;
                if (options.yes || !rt.output.interactive) return true;
                return askYesNo(`Deploy ${changing} host${changing === 1 ? "" : "s"}?`);
              },
              onCheck: options.json
                ? undefined
                : (host, r) =>
                    rt.output.info(`${host}: ${renderCheckLine(r, { color: rt.output.stderrColor })}`),
              onHostDone: (h) =>
                rt.output.info(
                  `${h.host}: ${h.state}${h.stage ? ` (${h.stage})` : ""}${h.reason ? `: ${h.reason}` : ""}`,
                ),
            },
          );
        } finally {
          progress.done();
        }
        if (options.json) rt.output.stdout(JSON.stringify(deployJson(result), null, 2));
        else if (result.aborted) rt.output.stdout("Aborted; nothing was changed.");
        else if (!result.dryRun) rt.output.stdout(`\n${renderDeployReport(result, { color }).trimEnd()}`);
        return deployExitCode(result);
      }),
    );
};

function emptyView(): Omit<DeployResult, "preview" | "canaries"> {
  return { operation: "switch", dryRun: false, aborted: false, interrupted: false, hosts: [], excluded: [] };
}
