/**
 * The Ternix command line. The only place that catches errors and chooses the exit code; commands
 * return their exit code, errors carry theirs (see ExitCode in src/errors.ts and README "Exit codes").
 */
import { Command, CommanderError, Option } from "commander";
import { Cleanup } from "../app/cleanup.js";
import { ExitCode, InterruptedError, TernixError } from "../errors.js";
import { interruptChildren } from "../proc/run.js";
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

/** How long an interrupted command may take to unwind and restore files before it is cut short. */
const INTERRUPT_GRACE_MS = 10_000;

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

  // On SIGINT/SIGTERM: stop Nix and git (a terminal signals them too, a supervisor may not) and make
  // further calls fail, so the command unwinds through its own error paths, which restore what it
  // changed; cleanup then runs as for any error. A command that does not unwind within the grace
  // period, or a second signal, is cut short after running cleanup here.
  let interrupted: NodeJS.Signals | undefined;
  const interruptedExit = (signal: NodeJS.Signals) => (signal === "SIGINT" ? ExitCode.interrupted : 143);
  const forceExit = async (signal: NodeJS.Signals) => {
    await cleanup.runAll();
    (runtime?.output ?? createOutput({ verbose: false })).error(new InterruptedError(signal));
    process.exit(interruptedExit(signal));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== undefined) {
      void forceExit(signal);
      return;
    }
    interrupted = signal;
    interruptChildren(signal);
    setTimeout(() => void forceExit(signal), INTERRUPT_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    await program.parseAsync(argv, { from: "user" });
    if (interrupted !== undefined) throw new InterruptedError(interrupted);
    return exitCode;
  } catch (caught) {
    const error = interrupted !== undefined ? new InterruptedError(interrupted) : caught;
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
    if (interrupted !== undefined) return interruptedExit(interrupted);
    return error instanceof TernixError ? error.exitCode : ExitCode.error;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}
