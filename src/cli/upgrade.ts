/** `ternix upgrade [HOST]` and `ternix upgrade --status`: a host converges on the reviewed commit (docs/upgrade.md). */
import { resolve } from "node:path";
import { Option } from "commander";
import { checkSpecsFromConfig } from "../app/machine/checks.js";
import { resolveHostName } from "../app/machine/system-build.js";
import { realSystemEffects } from "../app/machine/system-effects.js";
import { resolveRepo, upgradeStatus, upgradeSystem, type UpgradeReport } from "../app/machine/upgrade.js";
import { forgeTargetFor } from "../app/forge-target.js";
import { loadConfigFile, type Config } from "../config/config.js";
import { ExitCode, UsageError } from "../errors.js";
import type { StatusForge } from "../forge/types.js";
import { renderCheckLine } from "../report/system.js";
import { parseRebootWindow } from "../system/reboot.js";
import type { UpgradeResult, UpgradeState } from "../system/state.js";
import { action, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import type { Runtime } from "./runtime.js";
import {
  addSystemPathOptions,
  commandLine,
  pathsFromOptions,
  waitOption,
  type SystemPathOptions,
} from "./system-context.js";

export const HOST_CONFIG_FILE = "/etc/ternix/ternix.toml";

interface UpgradeOptions extends SystemPathOptions {
  repo?: string;
  branch?: string;
  flakeDir?: string;
  config?: string;
  operation?: "switch" | "boot" | "test";
  allowReboot?: boolean;
  rebootWindow?: string;
  requireSigned?: string;
  dryRun?: boolean;
  retry?: boolean;
  json?: boolean;
  status?: boolean;
  prebuilt?: boolean;
  reportToForge?: boolean;
  forgeTokenFile?: string;
}

const EXIT_CODES = `
Exit codes:
  0  up to date, or upgraded (with --dry-run: would upgrade)
  1  error: fetch, evaluation or build failed (nothing changed)
  ${ExitCode.checkFailed}  checks failed: the previous system was re-activated, the commit quarantined
  ${ExitCode.refused}  commit refused: not a fast-forward of the deployed commit, or not signed (nothing built)
  ${ExitCode.quarantined}  the newest commit is quarantined (nothing done; a newer commit or --retry tries again)
  64 usage error`;

export const registerUpgrade: RegisterCommand = (program, runtime) => {
  const command = program
    .command("upgrade")
    .description(
      "On a host: fetch the reviewed commit, check it is trusted, build it, activate it in two phases gated on health checks, reboot if needed and allowed, and record the result",
    )
    .argument(
      "[host]",
      "a host of nixosConfigurations (default: [upgrade] host, else this machine's host name)",
    )
    .option("--repo <url>", "the repository to fetch (any URL git can fetch, or a path; [upgrade] repo)")
    .option("--branch <name>", "the branch to follow (default main; [upgrade] branch)")
    .option("--flake-dir <subdir>", "the flake's directory inside the repository (default: the root)")
    .option("--config <file>", `the host config (default ${HOST_CONFIG_FILE})`)
    .addOption(
      new Option("--operation <op>", "switch (default), boot (phase 2 only, unchecked) or test").choices([
        "switch",
        "boot",
        "test",
      ]),
    )
    .option("--allow-reboot", "reboot ([system] reboot) when the kernel, initrd or modules changed")
    .option("--reboot-window <HH:MM-HH:MM>", "only reboot inside this local-time window (may wrap midnight)")
    .option(
      "--require-signed <allowed-signers>",
      "refuse commits without a valid SSH signature by these keys",
    )
    .option("--dry-run", "fetch, check trust, build and show the diff; activate nothing, record nothing")
    .option("--retry", "try the newest commit even if it is quarantined")
    .option(
      "--prebuilt",
      "substitute the system named by the commit's ternix-hosts.json when it matches the commit's files, instead of evaluating ([upgrade] prebuilt; docs/upgrade.md)",
    )
    .option("--json", "print JSON (schema: docs/json-schema.md, upgrade v1 / upgrade-status v1)")
    .option("--status", "print what the last runs recorded (read-only)")
    .option(
      "--report-to-forge",
      "post the verdict as the commit status ternix/host/HOST on the forge ([upgrade] report-to-forge; docs/rollout.md)",
    )
    .option("--no-report-to-forge", "do not report, even if the config says so")
    .option(
      "--forge-token-file <file>",
      "the forge API token, in a file only the user running ternix can read ([upgrade] forge-token-file)",
    )
    .addOption(waitOption());
  addSystemPathOptions(command, { systemctl: true, activation: true })
    .addHelpText("after", EXIT_CODES)
    .action(
      action(async (hostArg: string | undefined, options: UpgradeOptions) => {
        const rt = runtime();
        const configFile = options.config ?? HOST_CONFIG_FILE;
        const config = await loadConfigFile(configFile, options.config !== undefined);
        const paths = pathsFromOptions(config, options, rt.cwd);
        if (options.status) {
          const state = await upgradeStatus(paths);
          rt.output.stdout(
            options.json
              ? JSON.stringify({ schemaVersion: 1, kind: "upgrade-status", ...state }, null, 2)
              : renderStatus(state),
          );
          return ExitCode.ok;
        }
        const u = config.upgrade;
        const repo = options.repo ?? u.repo;
        if (repo === undefined) {
          throw new UsageError("no repository to upgrade from.", {
            hint: `Pass --repo URL, or set [upgrade] repo in ${configFile}.`,
          });
        }
        const system = realSystemEffects();
        const host = resolveHostName(hostArg ?? u.host, system.hostname());
        const reportTo =
          (options.reportToForge ?? u["report-to-forge"]) && !(options.dryRun ?? false)
            ? await statusForgeFor(config, configFile, repo, options.forgeTokenFile, rt)
            : undefined;
        const window = options.rebootWindow ?? u["reboot-window"];
        const signers = options.requireSigned ?? u["require-signed"];
        const nix = await rt.nix(config);
        const progress = createProgress(rt.output);
        const report = await upgradeSystem(
          {
            host,
            repo: resolveRepo(repo, rt.cwd),
            branch: options.branch ?? u.branch,
            flakeDir: options.flakeDir ?? u["flake-dir"],
            operation: options.operation ?? u.operation,
            allowReboot: options.allowReboot ?? u["allow-reboot"],
            rebootWindow: window === undefined ? undefined : parseRebootWindow(window),
            rebootCommand: config.system.reboot,
            requireSigned: signers === undefined ? undefined : resolve(rt.cwd, signers),
            metricsFile: u["metrics-file"],
            dryRun: options.dryRun ?? false,
            retry: options.retry ?? false,
            prebuilt: options.prebuilt ?? u.prebuilt,
            wait: options.wait ?? false,
            paths,
            hostChecks: checkSpecsFromConfig(config.checks),
            argv: commandLine(program),
          },
          {
            nix,
            git: rt.git,
            effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) },
            system,
            statusForge: reportTo,
            onCheck: options.json
              ? undefined
              : (r) => rt.output.stdout(`  ${renderCheckLine(r, { color: rt.output.color })}`),
          },
        ).finally(() => progress.done());
        rt.output.stdout(options.json ? JSON.stringify(toUpgradeJson(report), null, 2) : report.message);
        return EXIT[report.result];
      }),
    );
};

/**
 * The forge the verdicts go to: `[forge]` (kind, url, repository) or the repository URL, with the
 * token from a file only the running user can read. Checked before anything runs.
 */
async function statusForgeFor(
  config: Config,
  configFile: string,
  repo: string,
  tokenFileFlag: string | undefined,
  rt: Runtime,
): Promise<StatusForge> {
  const tokenFile = tokenFileFlag ?? config.upgrade["forge-token-file"];
  if (tokenFile === undefined) {
    throw new UsageError("--report-to-forge needs a token file.", {
      hint: `Pass --forge-token-file FILE, or set [upgrade] forge-token-file in ${configFile} (services.ternix.upgrade.reportStatus.tokenFile).`,
    });
  }
  const { readForgeTokenFile } = await import("../forge/token-file.js");
  const token = await readForgeTokenFile(resolve(rt.cwd, tokenFile), process.getuid?.());
  let target;
  try {
    target = forgeTargetFor(config.forge, {}, {}, repo);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`--report-to-forge: ${error.message}`, {
      hint: `Set [forge] kind, url and repository in ${configFile} (services.ternix.upgrade.reportStatus.forge).`,
    });
  }
  const { createForge } = await import("../forge/index.js");
  return createForge(target, {
    fetch: globalThis.fetch,
    token,
    // A run waits for its report; a forge that is down costs it at most a few seconds more.
    timeoutMs: 15_000,
    retries: 2,
    onRetry: (e) =>
      rt.output.warn(
        `${e.method} ${e.url}: ${e.reason}; retrying in ${Math.ceil(e.delayMs / 1000)}s (attempt ${e.attempt + 1})`,
      ),
  });
}

const EXIT: Record<UpgradeResult, number> = {
  up_to_date: ExitCode.ok,
  upgraded: ExitCode.ok,
  checks_failed: ExitCode.checkFailed,
  refused: ExitCode.refused,
  quarantined: ExitCode.quarantined,
  error: ExitCode.error,
};

function toUpgradeJson(report: UpgradeReport) {
  return {
    schemaVersion: 1,
    kind: "upgrade",
    result: report.result,
    host: report.host,
    commit: report.commit ?? null,
    dryRun: report.dryRun,
    message: report.message,
    storePath: report.storePath ?? null,
    generation: report.generation ?? null,
    counts: report.diff?.counts ?? null,
    risks: report.diff?.risks.map((r) => ({ severity: r.severity, title: r.title })) ?? [],
    checks: report.checks ?? null,
    reboot: report.reboot ?? null,
    prebuilt: report.prebuilt ?? null,
  };
}

function renderStatus(state: UpgradeState): string {
  const lines: string[] = [];
  const run = state.lastRun;
  lines.push(run ? `Last run:      ${run.at}  ${run.result}  ${run.message}` : "Last run:      never");
  lines.push(`Last success:  ${state.lastSuccessAt ?? "never"}`);
  const d = state.deployed;
  lines.push(
    d
      ? `Deployed:      ${d.commit} (generation ${d.generation ?? "-"}, ${d.checked ? "checked" : "unchecked"}, ${d.at})`
      : "Deployed:      nothing yet",
  );
  lines.push(
    state.rebootPending
      ? `Reboot:        pending since ${state.rebootPending.since} (${state.rebootPending.reason})`
      : "Reboot:        not pending",
  );
  const f = state.forgeReport;
  if (f) {
    lines.push(
      f.ok
        ? `Forge report:  ${f.state} on ${f.commit} as ${f.context} (${f.at})`
        : `Forge report:  FAILED to post ${f.state} on ${f.commit} (${f.at}): ${f.error ?? "unknown error"}`,
    );
  }
  if (state.quarantined.length === 0) lines.push("Quarantined:   none");
  else {
    lines.push("Quarantined:");
    for (const q of state.quarantined) lines.push(`  ${q.commit}  since ${q.at}: ${q.reason}`);
  }
  return lines.join("\n");
}
