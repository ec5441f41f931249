/** `ternix promote --to BRANCH`: advance a rollout wave once the previous one is healthy (docs/rollout.md). */
import { resolve } from "node:path";
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { promote, type PromoteOutcome } from "../app/fleet/promote.js";
import { parseDuration } from "../config/config.js";
import { ExitCode, InputError, UsageError } from "../errors.js";
import { promoteJson, renderPromoteText } from "../report/promote.js";
import { action, collect, type RegisterCommand } from "./command.js";

interface PromoteOptions {
  to: string;
  from?: string;
  hosts?: string[];
  host?: string[];
  minAge?: string;
  dryRun?: boolean;
  json?: boolean;
  flake?: string;
  remote?: string;
  forge?: "github" | "forgejo" | "gitea";
  apiUrl?: string;
  serverUrl?: string;
  repository?: string;
}

const EXIT: Record<PromoteOutcome, number> = {
  promoted: ExitCode.ok,
  "would-promote": ExitCode.ok,
  "up-to-date": ExitCode.ok,
  "not-yet": ExitCode.notYet,
  "canary-failed": ExitCode.checkFailed,
  "not-fast-forward": ExitCode.refused,
};

export const registerPromote: RegisterCommand = (program, runtime) => {
  program
    .command("promote")
    .description(
      "Fast-forward a rollout wave's branch to the commit the previous wave's hosts reported healthy for long enough",
    )
    .requiredOption("--to <branch>", "the wave's branch to advance, e.g. deploy/stable")
    .option(
      "--from <ref>",
      "a branch of the remote or a commit to promote (default: the previous wave's branch in [[rollout.waves]], else main)",
    )
    .option(
      "--hosts <name...>",
      "the hosts whose reports must say success (default: the previous wave's hosts); @TAG selects by tag",
    )
    .option("--host <name>", "one more host (for names starting with -)", collect)
    .option(
      "--min-age <duration>",
      "bake time: each host's first success must be this old, e.g. 12h, 2d",
      (v) => {
        parseDuration(v);
        return v;
      },
    )
    .option("--dry-run", "check everything, push nothing")
    .option("--json", "print JSON (schema: docs/json-schema.md, promote v1)")
    .option("--flake <dir>", "a directory inside the repository's clone (default: the current one)")
    .option("--remote <name>", "the git remote to read and push (default origin, config forge.remote)")
    .addOption(
      new Option("--forge <kind>", "the forge's API (default: from CI, --api-url or the remote)").choices([
        "github",
        "forgejo",
        "gitea",
      ]),
    )
    .option("--api-url <url>", "API root: https://api.github.com, https://HOST/api/v3, https://HOST/api/v1")
    .option("--server-url <url>", "web root of a Forgejo/Gitea server")
    .option("--repository <owner/repo>", "the repository on the forge (default: from CI or the remote URL)")
    .addHelpText(
      "after",
      `
The hosts report with \`ternix upgrade --report-to-forge\` (commit status ternix/host/HOST). The token
(TERNIX_FORGE_TOKEN, GITHUB_TOKEN, FORGEJO_TOKEN or GITEA_TOKEN) reads the statuses; the branch is
pushed with the git remote's credentials, never forced, with a lease on the head that was read.

Exit codes:
  0  promoted (or --dry-run: would promote; or the branch is already at the commit)
  1  error, e.g. the branch moved while Ternix was checking it (nothing overwritten)
  ${ExitCode.notYet}  not yet: a host has not reported success, or its success is younger than --min-age
  ${ExitCode.checkFailed}  a canary failed on the commit (fix it on the source branch; see docs/rollout.md)
  ${ExitCode.refused}  not a fast-forward: the branch has commits the source lacks (nothing pushed)
 64  usage error`,
    )
    .action(
      action(async (options: PromoteOptions) => {
        const rt = runtime();
        const dir = resolve(rt.cwd, options.flake ?? ".");
        const root = await rt.git.call(["-C", dir, "rev-parse", "--show-toplevel"], { env: rt.effects.env });
        if (root.exitCode !== 0) {
          throw new InputError(`${dir} is not in a git repository, and \`ternix promote\` pushes a branch.`, {
            hint: "Run it in a clone of the fleet's repository (CI: after the checkout step).",
          });
        }
        const repoDir = root.stdout.trim();
        const flake = await locateFlake(undefined, dir, rt.git).catch(() => undefined);
        const config = await rt.config(flake?.dir ?? repoDir);
        const hosts = [...(options.hosts ?? []), ...(options.host ?? [])];
        if (options.hosts !== undefined && hosts.length === 0) {
          throw new UsageError("--hosts needs at least one host name.");
        }
        const result = await promote(
          {
            repoDir,
            config,
            to: options.to,
            from: options.from,
            hosts: hosts.length > 0 ? hosts : undefined,
            minAge: options.minAge,
            remote: options.remote,
            forge: {
              kind: options.forge,
              apiUrl: options.apiUrl,
              serverUrl: options.serverUrl,
              repository: options.repository,
            },
            dryRun: options.dryRun ?? false,
          },
          { git: rt.git, effects: rt.effects, fetch: globalThis.fetch },
        );
        rt.output.stdout(
          options.json
            ? JSON.stringify(promoteJson(result), null, 2)
            : renderPromoteText(result, rt.effects.now().getTime()),
        );
        return EXIT[result.outcome];
      }),
    );
};
