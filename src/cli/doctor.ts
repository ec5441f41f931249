/** `ternix doctor [HOST] [--json]`: the production triage order as one command, a verdict per finding. */
import { isAbsolute, resolve } from "node:path";
import { runDoctor } from "../app/machine/doctor.js";
import { resolveHostName } from "../app/machine/system-build.js";
import { parseDuration } from "../config/config.js";
import { ExitCode, UsageError } from "../errors.js";
import { renderDoctorText, toDoctorJson } from "../report/doctor.js";
import { action, parseCount, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import {
  addSystemPathOptions,
  flakeOption,
  systemContext,
  type SystemPathOptions,
} from "./system-context.js";

interface DoctorOptions extends SystemPathOptions {
  json?: boolean;
  journalctl?: string;
  nixChannel?: string;
  storeDir?: string;
  roots?: number;
}

export const registerDoctor: RegisterCommand = (program, runtime) => {
  const command = program
    .command("doctor")
    .description(
      "Diagnose this machine fast: running vs booted vs the flake, known good, failed units, errors since boot, the store, secrets in the running closure, Nix, channels",
    )
    .argument("[host]", "the host of nixosConfigurations this machine should run (default: its host name)")
    .option("--json", "print JSON (schema: docs/json-schema.md, doctor v1)")
    .option("--journalctl <path>", "the journalctl to read errors since boot with (config system.journalctl)")
    .option("--nix-channel <path>", "the nix-channel to list channels with (config system.nix-channel)")
    .option("--store-dir <dir>", "where to measure free space (default /nix/store, config system.store-dir)")
    .option("--roots <n>", "how many of the largest GC roots to show (default 5)", parseCount("--roots", 1))
    .addOption(flakeOption())
    .addHelpText(
      "after",
      "\nNeeds no root and changes nothing. Exit codes: 0 no finding failed (warnings allowed), 5 a finding failed, 1 error.",
    );
  addSystemPathOptions(command, { systemctl: true }).action(
    action(async (hostArg: string | undefined, options: DoctorOptions) => {
      const rt = runtime();
      const ctx = await systemContext(rt, options, false);
      let host: string | undefined;
      try {
        host = resolveHostName(hostArg, ctx.system.hostname());
      } catch (error) {
        // A machine whose own name is no valid host name is still diagnosed, without the flake check.
        if (hostArg !== undefined || !(error instanceof UsageError)) throw error;
      }
      const nix = await rt.nix(ctx.config);
      const sys = ctx.config.system;
      const executable = (name: string) =>
        name.includes("/") && !isAbsolute(name) ? resolve(rt.cwd, name) : name;
      const keepSince = ctx.config.gc["keep-since"];
      const progress = createProgress(rt.output);
      const report = await runDoctor(
        {
          host,
          flake: ctx.flake,
          paths: ctx.paths,
          tools: {
            journalctl: executable(options.journalctl ?? sys.journalctl),
            nixChannel: executable(options.nixChannel ?? sys["nix-channel"]),
            storeDir: resolve(rt.cwd, options.storeDir ?? sys["store-dir"]),
          },
          keep: ctx.config.gc.keep,
          keepSinceMs: keepSince === undefined ? undefined : parseDuration(keepSince),
          topRoots: options.roots ?? 5,
        },
        {
          nix,
          effects: {
            ...rt.effects,
            // The store ternix.toml's Nix options name (a chroot store too); none when it is not here.
            scanStore: rt.storeScanner(ctx.config),
            onEvent: (e) => progress.onEvent(e),
          },
          system: ctx.system,
        },
      ).finally(() => progress.done());
      rt.output.stdout(
        options.json
          ? JSON.stringify(toDoctorJson(report), null, 2)
          : renderDoctorText(report, { color: rt.output.color }).trimEnd(),
      );
      return report.findings.some((f) => f.verdict === "fail") ? ExitCode.checkFailed : ExitCode.ok;
    }),
  );
};
