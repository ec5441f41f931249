/**
 * `ternix status [HOST…|@TAG…]`: which host runs what, compared with the flake (docs/status.md);
 * with `--from-forge`, the same fleet from the commit statuses the hosts report, without SSH
 * (docs/rollout.md).
 */
import { resolve } from "node:path";
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { status } from "../app/fleet/status.js";
import { statusFromForge } from "../app/fleet/status-forge.js";
import { parseDuration } from "../config/config.js";
import { ExitCode, InputError, UsageError } from "../errors.js";
import { forgeStatusJson, renderForgeStatusText } from "../report/status-forge.js";
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
  fromForge?: boolean;
  branch?: string;
  staleAfter?: string;
  depth?: number;
  remote?: string;
  forge?: "github" | "forgejo" | "gitea";
  apiUrl?: string;
  serverUrl?: string;
  repository?: string;
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
    .option(
      "--from-forge",
      "read the hosts' commit statuses instead of SSH (ternix upgrade --report-to-forge)",
    )
    .option(
      "--branch <name>",
      "--from-forge: the branch hosts outside [[rollout.waves]] follow (default main)",
    )
    .option(
      "--stale-after <duration>",
      "--from-forge: a host with no report for this long is stale ([rollout] stale-after, default 2d)",
      (v) => {
        parseDuration(v);
        return v;
      },
    )
    .option(
      "--depth <n>",
      "--from-forge: commits of each branch to read (default 30)",
      parseCount("--depth", 1),
    )
    .option("--remote <name>", "--from-forge: the git remote (default origin, config forge.remote)")
    .addOption(
      new Option("--forge <kind>", "--from-forge: the forge's API").choices(["github", "forgejo", "gitea"]),
    )
    .option("--api-url <url>", "--from-forge: API root (https://api.github.com, https://HOST/api/v1)")
    .option("--server-url <url>", "--from-forge: web root of a Forgejo/Gitea server")
    .option("--repository <owner/repo>", "--from-forge: the repository (default: from CI or the remote URL)")
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
        if (options.fromForge) {
          if (options.prom)
            throw new UsageError("--prom is not available with --from-forge.", {
              hint: "Use --json or the text table.",
            });
          return await fromForge(selectors, options);
        }
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

  async function fromForge(selectors: string[], options: StatusOptions): Promise<number> {
    const rt = runtime();
    const dir = resolve(rt.cwd, options.flake ?? ".");
    const root = await rt.git.call(["-C", dir, "rev-parse", "--show-toplevel"], { env: rt.effects.env });
    if (root.exitCode !== 0) {
      throw new InputError(`${dir} is not in a git repository.`, {
        hint: "Run it in a clone of the fleet's repository.",
      });
    }
    const repoDir = root.stdout.trim();
    const flake = await locateFlake(undefined, dir, rt.git).catch(() => undefined);
    const config = await rt.config(flake?.dir ?? repoDir);
    const hosts = selectors;
    const result = await statusFromForge(
      {
        repoDir,
        config,
        hosts: hosts.length > 0 ? hosts : undefined,
        branch: options.branch,
        staleAfter: options.staleAfter,
        depth: options.depth,
        remote: options.remote,
        forge: {
          kind: options.forge,
          apiUrl: options.apiUrl,
          serverUrl: options.serverUrl,
          repository: options.repository,
        },
      },
      { git: rt.git, effects: rt.effects, fetch: globalThis.fetch },
    );
    rt.output.stdout(
      options.json ? JSON.stringify(forgeStatusJson(result), null, 2) : renderForgeStatusText(result),
    );
    return ExitCode.ok;
  }
};
