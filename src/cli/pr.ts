/** `ternix pr`: plan the update and open or refresh the one pull request that carries it. */
import { basename, dirname, resolve } from "node:path";
import { InvalidArgumentError, Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { DEFAULT_UPDATE_BRANCH, pr, type PrResult } from "../app/fleet/pr.js";
import { plan } from "../app/fleet/plan.js";
import { ExitCode, UsageError } from "../errors.js";
import { action, type RegisterCommand } from "./command.js";
import { requireKeyFile } from "./plan.js";
import { lockingFlake, noWaitOption } from "./flake-lock.js";
import { createProgress } from "./progress.js";

export interface PrOptions {
  flake?: string;
  forge?: "github" | "forgejo" | "gitea";
  apiUrl?: string;
  serverUrl?: string;
  repository?: string;
  branch?: string;
  base?: string;
  remote?: string;
  report?: string;
  reportDir?: string;
  draftOnBreak?: boolean;
  labels?: string[];
  dryRun?: boolean;
  inputs?: string[];
  hosts?: string[];
  exclude?: string;
  jobs?: number;
  wait?: boolean;
  manifest?: boolean;
  pushTo?: string;
  signKey?: string;
}

export const registerPr: RegisterCommand = (program, runtime) => {
  program
    .command("pr")
    .description("Plan the update and open (or refresh) one pull request whose body is the per-host report")
    .option(
      "--flake <dir>",
      "the directory holding flake.nix (default: the current one, or the nearest parent that has one)",
    )
    .addOption(
      new Option("--forge <kind>", "the forge's API (default: from CI, --api-url or the remote)").choices([
        "github",
        "forgejo",
        "gitea",
      ]),
    )
    .option(
      "--api-url <url>",
      "API root: https://api.github.com, https://HOST/api/v3 (GHES), https://HOST/api/v1 (Forgejo/Gitea)",
    )
    .option("--server-url <url>", "web root of a Forgejo/Gitea server, e.g. https://codeberg.org")
    .option(
      "--repository <owner/repo>",
      "the repository to open the pull request in (default: from CI or the remote URL)",
    )
    .option(
      "--branch <name>",
      `the update branch, rebuilt from the base every run (default ${DEFAULT_UPDATE_BRANCH}, config forge.branch)`,
    )
    .option("--base <name>", "the branch the pull request targets (default: the remote's default branch)")
    .option("--remote <name>", "the git remote to push to (default origin, config forge.remote)")
    .option(
      "--report <file>",
      "use a saved `ternix plan --format json` report instead of planning (flake.lock must be its updated lock)",
    )
    .option(
      "--report-dir <dir>",
      "write the full report there as report.md, report.json and report.txt (for a CI artifact)",
    )
    .option(
      "--draft-on-break",
      "open the pull request as a draft while the update breaks a host (config forge.draft-on-break)",
    )
    .option("--no-draft-on-break", "leave the draft state alone even if ternix.toml sets draft-on-break")
    .addOption(noWaitOption())
    .option("--labels <name...>", "labels for a new pull request (config forge.labels)")
    .option(
      "--dry-run",
      "plan and build the commit, print the body; push nothing, call no forge (no token needed)",
    )
    .option("--inputs <name...>", "update only these inputs (default: all)")
    .option(
      "--hosts <name...>",
      "plan only these hosts (default: all, or ternix.toml [hosts] include); a name starting with - as --hosts=NAME (repeatable)",
    )
    .option("--exclude <regex>", "leave out hosts matching this (default: -minimal$)")
    .option("--jobs <n>", "concurrent evaluations per side (default: number of cores)", (v) =>
      positive(v, "--jobs"),
    )
    .option(
      "--manifest",
      "commit the host manifest ternix-hosts.json (each host's after toplevel, the tree hash) with the lock, for `ternix upgrade --prebuilt`",
    )
    .option("--push-to <store-uri>", "copy every built after-system to this binary cache (as plan --push-to)")
    .option("--sign-key <file>", "with --push-to: sign with the secret key in this file")
    .addHelpText(
      "after",
      `
The API token comes from the environment only: TERNIX_FORGE_TOKEN, else GITHUB_TOKEN (GitHub) or
FORGEJO_TOKEN / GITEA_TOKEN (Forgejo/Gitea). It is checked before the plan starts and never printed.
The branch is pushed with your git remote's credentials, as your git identity (docs/pr.md).

Exit codes:
  0  the update changes at least one host: branch pushed, pull request opened or updated
  1  error (your checkout, index and flake.lock are left as they were)
  2  flake.lock did not change: nothing pushed, an open pull request left as it is
  3  flake.lock changed but no host's system differs: nothing pushed, pull request left as it is
  4  the update breaks a host that built before: branch pushed, pull request opened or updated
     (as a draft with --draft-on-break), the breakage listed first
 64  usage error (bad flags, missing token, unknown remote)`,
    )
    .action(
      action(async (options: PrOptions) => {
        if (options.report !== undefined && (options.manifest || options.pushTo !== undefined))
          throw new UsageError(
            `${options.manifest ? "--manifest" : "--push-to"} needs the systems pr builds itself; --report reuses a plan.`,
            {
              hint: "Drop --report (let `ternix pr` run the plan), or push and record with `ternix plan --push-to … --manifest …`.",
            },
          );
        if (options.signKey !== undefined && options.pushTo === undefined)
          throw new UsageError("--sign-key signs what --push-to copies; there is no --push-to.", {
            hint: "Add --push-to STORE_URI, or drop --sign-key.",
          });
        const rt = runtime();
        const signKey =
          options.signKey === undefined ? undefined : await requireKeyFile(options.signKey, rt.cwd);
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const config = await rt.config(flake.dir);
        const progress = createProgress(rt.output);
        const effects = { ...rt.effects, onEvent: progress.onEvent.bind(progress) };
        const result = await lockingFlake(rt, flake, { command: "pr", wait: options.wait }, () =>
          pr(
            {
              flake,
              config,
              source:
                options.report === undefined
                  ? {
                      kind: "plan",
                      inputs: options.inputs ?? [],
                      hosts: options.hosts,
                      exclude: options.exclude,
                      jobs: options.jobs,
                      manifest: options.manifest,
                      pushTo: options.pushTo,
                      signKey: signKey,
                    }
                  : { kind: "report", file: resolve(rt.cwd, options.report) },
              forge: {
                kind: options.forge,
                apiUrl: options.apiUrl,
                serverUrl: options.serverUrl,
                repository: options.repository,
              },
              branch: options.branch,
              base: options.base,
              remote: options.remote,
              labels: options.labels,
              draftOnBreak: options.draftOnBreak,
              reportDir: options.reportDir === undefined ? undefined : resolve(rt.cwd, options.reportDir),
              dryRun: options.dryRun ?? false,
            },
            {
              git: rt.git,
              effects,
              fetch: globalThis.fetch,
              runPlan: async (request) => plan(request, { nix: await rt.nix(config), git: rt.git, effects }),
            },
          ),
        ).finally(() => progress.done());
        report(
          result,
          (text) => rt.output.stdout(text),
          (text) => rt.output.info(text),
        );
        return result.exitCode;
      }),
    );
};

/** stdout: the pull request's URL (or, on a dry run, the body); stderr: what happened. */
function report(result: PrResult, stdout: (text: string) => void, info: (text: string) => void): void {
  const first = result.reportFiles[0];
  if (first !== undefined) {
    info(
      `Full report written to ${dirname(first)} (${result.reportFiles.map((f) => basename(f)).join(", ")}).`,
    );
  }
  switch (result.action) {
    case "nothing-to-review":
    case "base-up-to-date":
      return;
    case "dry-run":
      info(`Dry run: title: ${result.title ?? ""}`);
      if (result.bodyTruncated) info("Dry run: the body was shortened to fit the forge's limit.");
      stdout(result.body ?? "");
      return;
    case "opened":
    case "updated": {
      const p = result.pullRequest;
      if (p === undefined) return;
      const what = result.action === "opened" ? "Opened" : "Updated";
      const draft = p.draft ? " (draft)" : "";
      info(`${what} pull request #${p.number}${draft}: ${result.title ?? p.title}`);
      if (result.exitCode === ExitCode.hostBroken) info("The update breaks a host; see the pull request.");
      stdout(p.url);
      return;
    }
  }
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${flag} takes a positive whole number.`);
  return n;
}
