/** The machine paths the on-machine commands touch; all configurable so tests run against temp dirs. */
import { isAbsolute, join, resolve } from "node:path";
import type { Config } from "../../config/config.js";
import { formatArgv, TernixError } from "../../errors.js";
import type { SystemEffects } from "./system-effects.js";

export interface SystemPaths {
  /** The system profile, e.g. /nix/var/nix/profiles/system. */
  profile: string;
  /** The running system's link, e.g. /run/current-system. */
  currentSystem: string;
  /** The system the machine booted, e.g. /run/booted-system. */
  bootedSystem: string;
  /** Where Ternix keeps its state file and apply lock, e.g. /var/lib/ternix. */
  stateDir: string;
  /** The systemctl executable. */
  systemctl: string;
  /** The systemd-run executable that activations run under when it works; undefined: never. */
  systemdRun?: string | undefined;
}

/** Config values, overridden by flags; relative paths are taken from `cwd`. */
export type SystemPathOverrides = Partial<Omit<SystemPaths, "systemdRun">> & {
  /** A path or name, or false for `--no-systemd-run`. */
  systemdRun?: string | false | undefined;
};

export function systemPaths(config: Config, overrides: SystemPathOverrides, cwd: string): SystemPaths {
  const pick = (key: Exclude<keyof SystemPaths, "systemdRun">, fromConfig: string) =>
    overrides[key] ?? fromConfig;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const systemctl = pick("systemctl", config.system.systemctl);
  const systemdRun = overrides.systemdRun ?? config.system["systemd-run"];
  // A bare name is looked up on PATH; anything with a slash is a path.
  const executable = (name: string) => (name.includes("/") ? abs(name) : name);
  return {
    profile: abs(pick("profile", config.system.profile)),
    currentSystem: abs(pick("currentSystem", config.system["current-system"])),
    bootedSystem: abs(pick("bootedSystem", config.system["booted-system"])),
    stateDir: abs(pick("stateDir", config.system["state-dir"])),
    systemctl: executable(systemctl),
    systemdRun: systemdRun === false || systemdRun === "" ? undefined : executable(systemdRun),
  };
}

export const STATE_FILE = "state.json";
export const LOCK_FILE = "apply.lock";

export const stateFilePath = (paths: SystemPaths) => join(paths.stateDir, STATE_FILE);
export const lockFilePath = (paths: SystemPaths) => join(paths.stateDir, LOCK_FILE);

/**
 * Changing the profile and activating need root (or, in tests, a profile and state directory the
 * user owns). Checked before anything is built, so nobody waits for a build to learn this.
 */
export async function requireSystemAccess(
  paths: SystemPaths,
  system: SystemEffects,
  command: string,
  /** The command line as typed (after `ternix`), for the hint. */
  argv: readonly string[] = [command],
): Promise<void> {
  if (system.isRoot()) return;
  const profileDir = join(paths.profile, "..");
  const [profileOk, stateOk] = await Promise.all([
    system.canWrite(profileDir),
    system.canWrite(paths.stateDir),
  ]);
  if (profileOk && stateOk) return;
  const what = profileOk ? `the state directory ${paths.stateDir}` : `the system profile ${paths.profile}`;
  throw new TernixError(
    `\`ternix ${command}\` needs root: it changes ${what}${command === "gc" ? "" : " and activates the system"}.`,
    {
      hint: `Re-run it with sudo: \`${formatArgv(["sudo", "ternix", ...argv])}\` (\`ternix build\` needs no root).`,
    },
  );
}
