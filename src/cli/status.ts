/**
 * `ternix status --from-forge`: the fleet table from the hosts' commit statuses, without SSH
 * (docs/rollout.md). The SSH-based `ternix status` lives on another branch (issue 12); until it is
 * merged, this command only knows --from-forge.
 */
import { resolve } from "node:path";
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { statusFromForge } from "../app/fleet/status-forge.js";
import { parseDuration } from "../config/config.js";
import { ExitCode, InputError, UsageError } from "../errors.js";
import { forgeStatusJson, renderForgeStatusText } from "../report/status-forge.js";
import { action, collect, parseCount, type RegisterCommand } from "./command.js";

interface StatusOptions {
  fromForge?: boolean;
  hosts?: string[];
  host?: string[];
  branch?: string;
  staleAfter?: string;
  depth?: number;
  json?: boolean;
  flake?: string;
  remote?: string;
  forge?: "github" | "forgejo" | "gitea";
  apiUrl?: string;
  serverUrl?: string;
  repository?: string;
}

export const registerStatus: RegisterCommand = (program, runtime) => {
  program
    .command("status")
    .description("The fleet's state: with --from-forge, from the commit statuses the hosts report (no SSH)")
    .option("--from-forge", "read the hosts' commit statuses (ternix upgrade --report-to-forge)")
    .option("--hosts <name...>", "only these hosts (default: every host of [[rollout.waves]])")
    .option("--host <name>", "one more host (for names starting with -)", collect)
    .option("--branch <name>", "the branch hosts outside [[rollout.waves]] follow (default main)")
    .option(
      "--stale-after <duration>",
      "a host with no report for this long is stale ([rollout] stale-after, default 2d)",
      (v) => {
        parseDuration(v);
        return v;
      },
    )
    .option("--depth <n>", "how many commits of each branch to read (default 30)", parseCount("--depth", 1))
    .option("--json", "print JSON (schema: docs/json-schema.md, status-forge v1)")
    .option("--flake <dir>", "a directory inside the repository's clone (default: the current one)")
    .option("--remote <name>", "the git remote (default origin, config forge.remote)")
    .addOption(new Option("--forge <kind>", "the forge's API").choices(["github", "forgejo", "gitea"]))
    .option("--api-url <url>", "API root: https://api.github.com, https://HOST/api/v3, https://HOST/api/v1")
    .option("--server-url <url>", "web root of a Forgejo/Gitea server")
    .option("--repository <owner/repo>", "the repository on the forge (default: from CI or the remote URL)")
    .action(
      action(async (options: StatusOptions) => {
        if (!options.fromForge) {
          throw new UsageError("this build of `ternix status` only reads the forge.", {
            hint: "Run `ternix status --from-forge` (docs/rollout.md).",
          });
        }
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
        const hosts = [...(options.hosts ?? []), ...(options.host ?? [])];
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
      }),
    );
};
