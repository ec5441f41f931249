/** `ternix init ci`: write the scheduled workflow that runs `ternix pr`. */
import { access, mkdir, writeFile } from "node:fs/promises";
import { readUserFile } from "../proc/files.js";
import { relative, sep } from "node:path";
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import {
  DEFAULT_CI_SCHEDULE,
  DEFAULT_PROMOTE_SCHEDULE,
  renderPromoteWorkflow,
  writeCiWorkflow,
  writeWorkflowFile,
  type CiWorkflowFs,
} from "../app/fleet/init-ci.js";
import { ExitCode } from "../errors.js";
import { action, type RegisterCommand } from "./command.js";
import { VERSION } from "./version.js";

export interface InitCiOptions {
  forge: "github" | "forgejo" | "gitea";
  schedule?: string;
  runsOn?: string;
  force?: boolean;
  flake?: string;
  tokenSecret?: string;
  promote?: boolean;
}

const nodeFs: CiWorkflowFs = {
  exists: (path) =>
    access(path).then(
      () => true,
      () => false,
    ),
  readFile: async (path) => (await readUserFile(path)) ?? "",
  writeFile: (path, content) => writeFile(path, content),
  mkdir: (path, options) => mkdir(path, options),
};

export const registerInit: RegisterCommand = (program, runtime) => {
  const init = program.command("init").description("Set Ternix up in a repository");
  init
    .command("ci")
    .description(
      "Write a scheduled CI workflow that runs `ternix pr` and keeps the full report as an artifact",
    )
    .addOption(
      new Option("--forge <kind>", "which CI to write for")
        .choices(["github", "forgejo", "gitea"])
        .makeOptionMandatory(),
    )
    .option(
      "--schedule <cron>",
      `when to run, 5-field cron in UTC (default "${DEFAULT_CI_SCHEDULE}": daily 02:00)`,
    )
    .option("--runs-on <label>", "runner label (default: ubuntu-latest on GitHub, docker on Forgejo)")
    .option(
      "--token-secret <name>",
      "secret holding the API token (default: the automatic GITHUB_TOKEN / FORGEJO_TOKEN)",
    )
    .option(
      "--promote",
      `write the workflow that runs \`ternix promote\` for each [[rollout.waves]] wave instead (hourly by default, "${DEFAULT_PROMOTE_SCHEDULE}"; docs/rollout.md)`,
    )
    .option("--force", "replace an existing workflow file")
    .option(
      "--flake <dir>",
      "the directory holding flake.nix (default: the current one, or the nearest parent that has one)",
    )
    .addHelpText(
      "after",
      `
Writes .github/workflows/ternix-update.yml (GitHub), .forgejo/workflows/ternix-update.yml
(Forgejo) or .gitea/workflows/ternix-update.yml (Gitea) at the repository root; a flake in a
subdirectory gets a working-directory.
Prints the path written. See docs/pr.md for the repository settings the workflow needs.`,
    )
    .action(
      action(async (options: InitCiOptions) => {
        const rt = runtime();
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const root = flake.gitRoot ?? flake.dir;
        const sub = relative(root, flake.dir).split(sep).join("/");
        const forge = options.forge === "github" ? "github" : "forgejo";
        const workingDirectory = sub === "" ? undefined : sub;
        if (options.promote) {
          const config = await rt.config(flake.dir);
          const workflow = renderPromoteWorkflow({
            forge,
            branches: config.rollout.waves.slice(1).map((w) => w.branch),
            schedule: options.schedule,
            runsOn: options.runsOn,
            tokenSecret: options.tokenSecret,
            workingDirectory,
            ternixVersion: VERSION,
            workflowsDir: options.forge === "gitea" ? ".gitea/workflows" : undefined,
          });
          const written = await writeWorkflowFile(nodeFs, root, workflow, workingDirectory, {
            force: options.force ?? false,
          });
          if (written.unchanged) rt.output.info("The workflow is already up to date.");
          else if (written.replaced) rt.output.info("Replaced the existing workflow.");
          else rt.output.info("Commit it; the hosts must report with --report-to-forge (docs/rollout.md).");
          rt.output.stdout(written.path);
          return ExitCode.ok;
        }
        const written = await writeCiWorkflow(
          nodeFs,
          root,
          {
            forge,
            schedule: options.schedule,
            runsOn: options.runsOn,
            tokenSecret: options.tokenSecret,
            workingDirectory: sub === "" ? undefined : sub,
            // The workflow runs the Ternix that wrote it.
            ternixVersion: VERSION,
            // Gitea runs the Forgejo workflow, but only reads it from .gitea/workflows.
            workflowsDir: options.forge === "gitea" ? ".gitea/workflows" : undefined,
          },
          { force: options.force ?? false },
        );
        if (written.unchanged) rt.output.info("The workflow is already up to date.");
        else if (written.replaced) rt.output.info("Replaced the existing workflow.");
        if (flake.gitRoot === undefined)
          rt.output.warn(
            `${flake.dir} is not in a git repository; forges read workflows from the repository root.`,
          );
        if (!written.unchanged) {
          rt.output.info(
            forge === "github"
              ? 'Commit it, and enable "Allow GitHub Actions to create and approve pull requests" in Settings > Actions > General.'
              : "Commit it; the runner needs Nix or sudo in its image (see docs/pr.md).",
          );
        }
        rt.output.stdout(written.path);
        return ExitCode.ok;
      }),
    );
};
