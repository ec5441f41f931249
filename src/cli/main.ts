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
    .option(
      "--trust-config",
      "pass ternix.toml [nix] options that can run commands or change what Nix trusts (e.g. post-build-hook, substituters); see docs/config.md",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  for (const register of commands) register(program, getRuntime);
  return program;
}

/** Why a run stops early: a signal, or a closed stdout/stderr. */
type Interruption = "SIGINT" | "SIGTERM" | "pipe";

/** What a closed stdout/stderr does while a command runs (see main). */
let onClosedPipe: (() => void) | undefined;
let streamsGuarded = false;

/**
 * A write to a pipe whose reader went away fails with EPIPE, reported as an 'error' event, possibly
 * after the last write of a finished command: without a handler Node prints a stack trace. Installed
 * once per process; later writes to the destroyed stream fail the same way and are ignored.
 */
function guardStreams(): void {
  if (streamsGuarded) return;
  streamsGuarded = true;
  const onStreamError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
    if (onClosedPipe !== undefined) onClosedPipe();
    else process.exitCode = ExitCode.pipeClosed;
  };
  process.stdout.on("error", onStreamError);
  process.stderr.on("error", onStreamError);
}

/** How long an interrupted command may take to unwind and restore files before it is cut short. */
const INTERRUPT_GRACE_MS = 10_000;

export async function main(argv: string[]): Promise<number> {
  guardStreams();
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
  // A closed stdout or stderr (`| head`, `| grep -q`, `2>&1 | true`) is the same interruption: the
  // reader is gone, so nothing more can be reported; Ternix restores and exits quietly.
  let interrupted: Interruption | undefined;
  const interruptedExit = (why: Interruption) =>
    why === "pipe" ? ExitCode.pipeClosed : why === "SIGINT" ? ExitCode.interrupted : 143;
  const reportInterruption = (why: Interruption) => {
    if (why !== "pipe")
      (runtime?.output ?? createOutput({ verbose: false })).error(new InterruptedError(why));
  };
  const forceExit = async (why: Interruption) => {
    await cleanup.runAll();
    reportInterruption(why);
    process.exit(interruptedExit(why));
  };
  const interrupt = (why: Interruption) => {
    if (interrupted !== undefined) {
      // A second signal cuts the unwinding short; further errors of a closed pipe do not.
      if (why !== "pipe") void forceExit(interrupted);
      return;
    }
    interrupted = why;
    interruptChildren(why === "pipe" ? "SIGTERM" : why);
    setTimeout(() => void forceExit(why), INTERRUPT_GRACE_MS).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => interrupt(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  onClosedPipe = () => interrupt("pipe");

  try {
    await program.parseAsync(argv, { from: "user" });
    // A closed pipe is reported a tick after the last write: let it arrive while it still counts.
    await new Promise((resolve) => setImmediate(resolve));
    if (interrupted === "pipe") {
      // The command finished, but its output did not all reach its reader: release what is still held.
      for (const e of await cleanup.runAll()) runtime?.output.error(e);
      return interruptedExit(interrupted);
    }
    if (interrupted !== undefined) throw new InterruptedError(interrupted);
    return exitCode;
  } catch (caught) {
    const error =
      interrupted !== undefined && interrupted !== "pipe" ? new InterruptedError(interrupted) : caught;
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
    if (interrupted === undefined) output.error(error);
    else reportInterruption(interrupted);
    for (const e of cleanupErrors) output.error(e);
    if (interrupted !== undefined) return interruptedExit(interrupted);
    return error instanceof TernixError ? error.exitCode : ExitCode.error;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    onClosedPipe = undefined;
  }
}
