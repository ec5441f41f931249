/** `ternix status [HOST…|@TAG…]`: which host runs what, compared with the flake (docs/status.md). */
import { locateFlake } from "../app/flake.js";
import { status } from "../app/fleet/status.js";
import { UsageError } from "../errors.js";
import { renderStatusMetrics, renderStatusText, toStatusJson } from "../report/status.js";
import { statusExitCode } from "../system/host-status.js";
import { action, collect, parseCount, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";

interface StatusOptions {
  flake?: string;
  ref?: string;
  json?: boolean;
  prom?: boolean;
  exclude?: string;
  sshOption?: string[];
  connectTimeout?: number;
  parallel?: number;
  jobs?: number;
}

export const registerStatus: RegisterCommand = (program, runtime) => {
  program
    .command("status")
    .description(
      "For every host, over SSH: the running and booted system, generation, failed units, free space and the upgrade agent's state, compared with what the flake builds",
    )
    .argument("[hosts...]", "host names and @tags (default: every host, minus [hosts] exclude)")
    .option("--flake <dir>", "the directory holding flake.nix")
    .option("--ref <rev>", "compare with the flake at this git revision (default: the checkout as it is)")
    .option("--json", "print JSON (schema: docs/json-schema.md, status v1)")
    .option("--prom", "print Prometheus metrics (text format, for a textfile collector or push gateway)")
    .option("--exclude <regex>", "leave out hosts matching this unless named (default: [hosts] exclude)")
    .option(
      "--ssh-option <NAME=VALUE>",
      "passed to ssh as -o NAME=VALUE (repeatable; after [deploy] ssh-options)",
      collect,
    )
    .option(
      "--connect-timeout <seconds>",
      "give up connecting to a host after this long (default 10, [deploy] connect-timeout)",
      parseCount("--connect-timeout", 1),
    )
    .option("--parallel <n>", "hosts probed at once (default 16)", parseCount("--parallel", 1))
    .option("--jobs <n>", "concurrent evaluations (default: number of cores)", parseCount("--jobs", 1))
    .addHelpText(
      "after",
      `
States (most severe first): unreachable, checks-failing, eval-failed, drifted, behind,
reboot-pending, up-to-date (docs/status.md defines each).

Exit codes:
  0  every host is up to date
  1  a host is unreachable, has failed units, or the flake does not evaluate for it
  3  no host is failing, but some are behind, drifted or pending a reboot
 64  usage error`,
    )
    .action(
      action(async (selectors: string[], options: StatusOptions) => {
        if (options.json && options.prom)
          throw new UsageError("--json and --prom are two formats of the same report.", {
            hint: "Pick one of them.",
          });
        const rt = runtime();
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const config = await rt.config(flake.dir);
        const nix = await rt.nix(config);
        const progress = createProgress(rt.output);
        const result = await status(
          {
            flake,
            config,
            selectors,
            exclude: options.exclude,
            ref: options.ref,
            sshOptions: options.sshOption,
            trustConfig: program.opts<{ trustConfig?: boolean }>().trustConfig ?? false,
            connectTimeout: options.connectTimeout,
            parallel: options.parallel,
            jobs: options.jobs,
          },
          {
            nix,
            git: rt.git,
            effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) },
            database: rt.storeDatabase(config),
          },
        ).finally(() => progress.done());
        rt.output.stdout(
          options.json
            ? JSON.stringify(toStatusJson(result), null, 2) + "\n"
            : options.prom
              ? await renderStatusMetrics(result)
              : renderStatusText(result, { color: rt.output.color }),
        );
        return statusExitCode(result.hosts.map((h) => h.state));
      }),
    );
};
