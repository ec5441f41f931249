/** `ternix plan`: the fleet update preview. */
import { resolve } from "node:path";
import { Option } from "commander";
import { locateFlake } from "../app/flake.js";
import { plan, planExitCode, type PlanResult } from "../app/fleet/plan.js";
import type { RiskKind } from "../closure/risk.js";
import { InputError, UsageError } from "../errors.js";
import { stat } from "node:fs/promises";
import { renderManifest } from "../app/manifest.js";
import { whyNotWritable, writeFileAtomic } from "../proc/files.js";
import { renderPlanMarkdown, renderPlanText, toPlanJson } from "../report/plan.js";
import { action, parseCount, type RegisterCommand } from "./command.js";
import { lockingFlake, noWaitOption } from "./flake-lock.js";
import { failOnOption } from "./fail-on.js";
import { createProgress } from "./progress.js";

export interface PlanOptions {
  flake?: string;
  inputs?: string[];
  skipUpdate?: boolean;
  hosts?: string[];
  exclude?: string;
  format?: "text" | "markdown" | "json";
  json?: boolean;
  output?: string;
  keepResults?: string;
  restoreLock?: boolean;
  jobs?: number;
  budget?: number;
  wait?: boolean;
  build?: boolean;
  heavyBuildInputs?: number;
  pushTo?: string;
  signKey?: string;
  manifest?: string;
  failOn?: RiskKind[];
}

export const registerPlan: RegisterCommand = (program, runtime) => {
  program
    .command("plan")
    .description("Build every host before and after a lock update and report each host's package diff")
    .option("--flake <dir>", "the directory holding flake.nix")
    .option("--inputs <name...>", "update only these inputs (default: all)")
    .option("--skip-update", "don't update: compare the lock at HEAD with the working tree's")
    .option(
      "--hosts <name...>",
      "plan only these hosts (default: all, or ternix.toml [hosts] include); a name starting with - as --hosts=NAME (repeatable)",
    )
    .option("--exclude <regex>", "leave out hosts matching this (default: -minimal$)")
    .addOption(new Option("--format <format>", "report format").choices(["text", "markdown", "json"]))
    .option("--json", "same as --format json")
    .option("--output <file>", "write the report to a file instead of stdout")
    .option("--keep-results <dir>", "keep GC roots <dir>/<host>.before and .after")
    .option("--restore-lock", "put the original flake.lock back afterwards")
    .addOption(noWaitOption())
    .option(
      "--heavy-build-inputs <n>",
      "a derivation in no binary cache with this many direct inputs is a heavy-build risk (default 50)",
      parseCount("--heavy-build-inputs", 1),
    )
    .addOption(failOnOption("any host"))
    .option(
      "--no-build",
      "evaluate only: predict each host's package changes from its derivations (a preview: no sizes; docs/plan.md)",
    )
    .option(
      "--push-to <store-uri>",
      "copy every built after-system (with its closure) to this store, e.g. file:///srv/cache or s3://bucket, in one nix copy",
    )
    .option(
      "--sign-key <file>",
      "with --push-to: sign the closures first with the secret key in this file (nix-store --generate-binary-cache-key)",
    )
    .option(
      "--manifest <file>",
      "write the host manifest (each host's after toplevel and the source tree hash; docs/plan.md) to this file",
    )
    .option(
      "--jobs <n>",
      "concurrent evaluations per side (default: number of cores)",
      parseCount("--jobs", 1),
    )
    .option(
      "--budget <chars>",
      "Markdown size limit (default 60000, config plan.body-limit)",
      parseCount("--budget", 1),
    )
    .addHelpText(
      "after",
      `
Exit codes:
  0  at least one host's closure changed (report on stdout or --output)
  1  error
  2  flake.lock did not change
  3  flake.lock changed but no host's closure differs
  4  the update breaks the build of a host that built before (report still printed)
  5  --fail-on: a host carries a risk of one of the given kinds (report still printed; before 4)
 64  usage error (also: --output names a directory or a missing/unwritable directory)
130  interrupted (no report; flake.lock as it was)
141  stdout or stderr closed by its reader (stopped and restored, quietly)

Another Ternix run changing the same flake is waited for (--no-wait: fail at once).`,
    )
    .action(
      action(async (options: PlanOptions) => {
        if (options.build === false && options.keepResults !== undefined)
          throw new UsageError("--keep-results needs built systems; --no-build builds nothing.", {
            hint: "Drop one of the two options.",
          });
        if (options.build === false && (options.pushTo !== undefined || options.manifest !== undefined))
          throw new UsageError(
            `${options.pushTo !== undefined ? "--push-to" : "--manifest"} needs built systems; --no-build builds nothing.`,
            { hint: "Drop one of the two options." },
          );
        if (options.signKey !== undefined && options.pushTo === undefined)
          throw new UsageError("--sign-key signs what --push-to copies; there is no --push-to.", {
            hint: "Add --push-to STORE_URI, or drop --sign-key.",
          });
        const rt = runtime();
        // A report file that cannot be written fails now, not after every host was built.
        const outputPath = options.output === undefined ? undefined : resolve(rt.cwd, options.output);
        const problem = outputPath === undefined ? undefined : await whyNotWritable(outputPath);
        if (problem !== undefined) {
          throw new UsageError(`cannot write the report: ${problem}.`, {
            hint: "Pass --output a file in an existing, writable directory (or leave it out for stdout).",
          });
        }
        const manifestPath = options.manifest === undefined ? undefined : resolve(rt.cwd, options.manifest);
        const manifestProblem = manifestPath === undefined ? undefined : await whyNotWritable(manifestPath);
        if (manifestProblem !== undefined) {
          throw new UsageError(`cannot write the manifest: ${manifestProblem}.`, {
            hint: "Pass --manifest a file in an existing, writable directory.",
          });
        }
        const signKey =
          options.signKey === undefined ? undefined : await requireKeyFile(options.signKey, rt.cwd);
        const flake = await locateFlake(options.flake, rt.cwd, rt.git);
        const config = await rt.config(flake.dir);
        const nix = await rt.nix(config);
        const progress = createProgress(rt.output);
        const format = options.json ? "json" : (options.format ?? "text");
        const render = (result: PlanResult, toFile: boolean) =>
          format === "json"
            ? JSON.stringify(toPlanJson(result), null, 2) + "\n"
            : format === "markdown"
              ? renderPlanMarkdown(result, { budget: options.budget ?? config.plan["body-limit"] })
              : renderPlanText(result, { color: !toFile && rt.output.color });
        const deliver = async (result: PlanResult) => {
          if (manifestPath !== undefined && result.manifest !== undefined) {
            await writeFileAtomic(manifestPath, renderManifest(result.manifest));
            rt.output.info(`Host manifest written to ${options.manifest}.`);
          }
          if (outputPath === undefined) return;
          try {
            await writeFileAtomic(outputPath, render(result, true));
          } catch (error) {
            // The plan's work is not lost: the report goes to stdout, and plan() puts the lock back.
            const restored =
              result.lockState === "updated" ? { ...result, lockState: "restored" as const } : result;
            rt.output.stdout(render(restored, false));
            throw new InputError(
              `writing the report to ${options.output} failed (${(error as NodeJS.ErrnoException).code ?? String(error)}); it was printed to stdout instead.`,
              {
                hint: "flake.lock was put back as it was; fix the --output path and run the plan again.",
                cause: error,
              },
            );
          }
          rt.output.info(`Report written to ${options.output}.`);
        };
        const result = await lockingFlake(rt, flake, { command: "plan", wait: options.wait }, () =>
          plan(
            {
              flake,
              config,
              inputs: options.inputs ?? [],
              skipUpdate: options.skipUpdate ?? false,
              hosts: options.hosts,
              exclude: options.exclude,
              keepResults:
                options.keepResults === undefined ? undefined : resolve(rt.cwd, options.keepResults),
              restoreLock: options.restoreLock ?? false,
              jobs: options.jobs,
              noBuild: options.build === false,
              heavyBuildInputs: options.heavyBuildInputs,
              pushTo: options.pushTo,
              signKey,
              manifest: manifestPath !== undefined,
              failOn: options.failOn,
            },
            {
              nix,
              git: rt.git,
              // The secret scan reads the store the config's Nix options name (a chroot store, say).
              effects: {
                ...rt.effects,
                scanStore: rt.storeScanner(config),
                onEvent: (e) => progress.onEvent(e),
              },
              deliver,
            },
          ).finally(() => progress.done()),
        );
        if (outputPath === undefined) rt.output.stdout(render(result, false));
        if (manifestPath !== undefined && result.manifest === undefined)
          rt.output.info("flake.lock did not change: nothing was built, no manifest written.");
        if (result.cache !== undefined)
          rt.output.info(
            `Copied ${result.cache.hosts.length} system${result.cache.hosts.length === 1 ? "" : "s"} to ${result.cache.storeUri}${result.cache.signed ? " (signed)" : " (unsigned: hosts that require signatures will not use them)"}.`,
          );
        if (result.lockState === "updated")
          rt.output.info(
            "flake.lock was updated in the working tree (use --restore-lock to keep the old one).",
          );
        for (const hit of result.gate?.hits ?? [])
          rt.output.info(`--fail-on ${hit.kind}: ${JSON.stringify(hit.host)} carries a ${hit.kind} risk.`);
        return planExitCode(result);
      }),
    );
};

/**
 * The signing key must be a readable regular file. Only its path is ever shown, and not even that
 * when the value looks like a key itself (`name:base64`, what `nix-store --generate-binary-cache-key`
 * writes into the file), passed by mistake.
 */
export async function requireKeyFile(raw: string, cwd: string): Promise<string> {
  const path = resolve(cwd, raw);
  const info = await stat(path).catch(() => undefined);
  if (info !== undefined && info.isFile()) return path;
  const looksLikeKey = /^[^\s:/]+:[A-Za-z0-9+/]{40,}={0,2}$/.test(raw.trim());
  throw new UsageError(
    looksLikeKey
      ? "--sign-key takes the path of a key file; the value given is not one (not shown: it looks like a key)."
      : `--sign-key: ${path} is not a readable file.`,
    {
      hint: "Give the secret key file made by `nix-store --generate-binary-cache-key NAME SECRET PUBLIC`; never the key itself.",
    },
  );
}
