/** What the on-machine commands share: the flake/config lookup, the system path flags, the sudo hint. */
import { createInterface } from "node:readline/promises";
import { Option, type Command } from "commander";
import type { FlakeLocation } from "../app/flake.js";
import { locateSystemFlake } from "../app/machine/system-build.js";
import { realSystemEffects, type SystemEffects } from "../app/machine/system-effects.js";
import { systemPaths, type SystemPaths } from "../app/machine/system-paths.js";
import { defaultConfig, type Config } from "../config/config.js";
import { InputError } from "../errors.js";
import type { Runtime } from "./runtime.js";

export interface SystemPathOptions {
  flake?: string;
  profile?: string;
  currentSystem?: string;
  bootedSystem?: string;
  stateDir?: string;
  systemctl?: string;
  systemdRun?: string | false;
  wait?: boolean;
}

export const flakeOption = () =>
  new Option(
    "--flake <dir>",
    "the directory holding flake.nix (default: the current one or a parent, then /etc/nixos)",
  );

/** The path flags every on-machine command takes; ternix.toml [system] sets the same. */
export function addSystemPathOptions(
  command: Command,
  which: { systemctl?: boolean; activation?: boolean } = {},
): Command {
  command
    .option(
      "--profile <path>",
      "the system profile (default /nix/var/nix/profiles/system, config system.profile)",
    )
    .option("--current-system <path>", "the running system's link (default /run/current-system)")
    .option("--booted-system <path>", "the booted system's link (default /run/booted-system)")
    .option("--state-dir <dir>", "where Ternix keeps its state file and lock (default /var/lib/ternix)");
  if (which.systemctl)
    command.option("--systemctl <path>", "the systemctl to ask for failed units (default systemctl)");
  if (which.activation) {
    command
      .option(
        "--systemd-run <path>",
        "activate as a transient service with this systemd-run, when it works (default systemd-run, config system.systemd-run)",
      )
      .option("--no-systemd-run", "run switch-to-configuration directly, not under systemd-run");
  }
  return command;
}

export const waitOption = () =>
  new Option("--wait", "if another Ternix run is changing this system, wait for it instead of failing");

export interface SystemContext {
  flake: FlakeLocation | undefined;
  config: Config;
  paths: SystemPaths;
  system: SystemEffects;
}

/**
 * The flake (required for building; optional for rollback, generations and gc, which only read its
 * ternix.toml) and the resolved system paths.
 */
export async function systemContext(
  rt: Runtime,
  options: SystemPathOptions,
  needFlake: boolean,
): Promise<SystemContext> {
  let flake: FlakeLocation | undefined;
  try {
    flake = await locateSystemFlake(options.flake, rt.cwd, rt.git);
  } catch (error) {
    if (needFlake || options.flake !== undefined || !(error instanceof InputError)) throw error;
  }
  const config = flake ? await rt.config(flake.dir) : defaultConfig();
  return { flake, config, paths: pathsFromOptions(config, options, rt.cwd), system: realSystemEffects() };
}

/** The system paths: the config's `[system]`, overridden by the path flags. */
export function pathsFromOptions(config: Config, options: SystemPathOptions, cwd: string): SystemPaths {
  return systemPaths(
    config,
    {
      profile: options.profile,
      currentSystem: options.currentSystem,
      bootedSystem: options.bootedSystem,
      stateDir: options.stateDir,
      systemctl: options.systemctl,
      systemdRun: options.systemdRun,
    },
    cwd,
  );
}

/** A yes/no question on the terminal (stderr); anything but y/yes is no. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** The command line after `ternix`, for "re-run with sudo" hints (commander keeps it, untyped). */
export function commandLine(program: Command): string[] {
  const raw = (program as unknown as { rawArgs?: unknown }).rawArgs;
  return Array.isArray(raw) ? raw.map(String) : [];
}
