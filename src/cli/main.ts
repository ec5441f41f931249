/**
 * The Ternix command line. The only place that catches errors and chooses the exit code; commands
 * return their exit code, errors carry theirs (see ExitCode in src/errors.ts and README "Exit codes").
 */
import { Command, CommanderError, Option } from "commander";
import { Cleanup } from "../app/cleanup.js";
import { ExitCode, InterruptedError, TernixError } from "../errors.js";
import { collect } from "./command.js";
import { loadCommands } from "./commands.js";
import type { RegisterCommand } from "./command.js";
import { createOutput } from "./output.js";
import { createRuntime, type GlobalOptions, type Runtime } from "./runtime.js";
import { VERSION } from "./version.js";

export function buildProgram(getRuntime: () => Runtime, commands: readonly RegisterCommand[]): Command {
  const program = new Command("ternix")
    .description(
      "Safe, reviewable NixOS updates: inspect and move flake.lock, diff every host, open one PR, apply with rollback.",
    )
    .version(VERSION, "-V, --version")
    .option("-v, --verbose", "show the commands Ternix runs and the tail of Nix/git output on errors")
    .addOption(new Option("--color", "force colour output"))
    .addOption(new Option("--no-color", "never use colour (also: NO_COLOR=1)"))
    .option(
      "--nix-option <name=value>",
      "pass `--option name value` to every nix call (repeatable)",
      collect,
      [],
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  for (const register of commands) register(program, getRuntime);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const cleanup = new Cleanup();
  let runtime: Runtime | undefined;
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(
    () => {
      runtime ??= createRuntime(program.opts<GlobalOptions>(), cleanup);
      return runtime;
    },
    await loadCommands(argv),
  );
  program.hook("postAction", (_this, action) => {
    const code: unknown = (action as Command & { ternixExitCode?: unknown }).ternixExitCode;
    if (typeof code === "number") exitCode = code;
  });

  const onSignal = (signal: NodeJS.Signals) => {
    void (async () => {
      await cleanup.runAll();
      const output = runtime?.output ?? createOutput({ verbose: false });
      output.error(new InterruptedError(signal));
      process.exit(signal === "SIGINT" ? ExitCode.interrupted : 143);
    })();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    const cleanupErrors = await cleanup.runAll();
    const output =
      runtime?.output ?? createOutput({ verbose: argv.includes("--verbose") || argv.includes("-v") });
    output.error(error);
    for (const e of cleanupErrors) output.error(e);
    return error instanceof TernixError ? error.exitCode : ExitCode.error;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}
