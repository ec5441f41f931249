/**
 * How switch-to-configuration is started. Like nixos-rebuild (NixOS/nixpkgs#39118), Ternix runs it
 * as a transient systemd service when systemd-run works, so a dropped SSH session or a closed
 * terminal cannot kill the activation half-way; the service's output is piped back and its exit
 * status waited for. Pure: the app decides whether systemd-run works.
 */

/** The transient unit's name: a fixed one, so systemd itself refuses two activations at once. */
export const ACTIVATION_UNIT = "ternix-switch-to-configuration";

/** Variables switch-to-configuration reads from its caller, passed into the service when set. */
const PASSED_VARIABLES = ["LOCALE_ARCHIVE", "NIXOS_INSTALL_BOOTLOADER"] as const;

/** `systemd-run` options that run a command in the foreground as `unit`, as nixos-rebuild does. */
function systemdRunOptions(env: Readonly<Record<string, string | undefined>>, unit: string): string[] {
  const pass = PASSED_VARIABLES.filter((name) => env[name] !== undefined).flatMap((name) => [
    "--setenv",
    `${name}=${env[name] ?? ""}`,
  ]);
  return [
    ...pass,
    "--collect",
    "--no-ask-password",
    "--pipe",
    "--quiet",
    "--same-dir",
    "--service-type=exec",
    `--unit=${unit}`,
    "--wait",
  ];
}

/** The argv (after the executable) that runs `script action` under systemd-run. */
export function systemdRunArgs(
  script: string,
  action: string,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  return [...systemdRunOptions(env, ACTIVATION_UNIT), "--", script, action];
}

/** The probe: systemd-run with the same options running `true` (it fails in containers and chroots). */
export function systemdRunProbeArgs(env: Readonly<Record<string, string | undefined>>): string[] {
  return [...systemdRunOptions(env, `${ACTIVATION_UNIT}-probe`), "--", "true"];
}

/**
 * The dead man's switch: a transient timer unit on the target that re-activates `previous` (its
 * `switch-to-configuration test`) after `seconds`, unless Ternix stops it first. AccuracySec=1s:
 * a timer's default accuracy (one minute) would let it fire up to a minute late.
 */
export function deadMansSwitchArmArgs(unit: string, seconds: number, previous: string): string[] {
  if (!/^ternix-confirm-[A-Za-z0-9_-]+$/.test(unit)) throw new Error(`not a confirm unit name: ${unit}`);
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new Error(`not a timeout in seconds: ${seconds}`);
  if (!previous.startsWith("/nix/store/")) throw new Error(`not a store path: ${previous}`);
  return [
    `--unit=${unit}`,
    `--on-active=${seconds}s`,
    "--timer-property=AccuracySec=1s",
    "--description=ternix deploy: re-activate the previous system unless the deploy is confirmed",
    "--",
    `${previous}/bin/switch-to-configuration`,
    "test",
  ];
}

/** `systemctl stop UNIT.timer`: disarm the switch (fails when it already fired or never existed). */
export function deadMansSwitchDisarmArgs(unit: string): string[] {
  return ["stop", `${unit}.timer`];
}

/** A unit name for one deploy of one host: unique per run (time and a random part). */
export function deadMansSwitchUnit(nowMs: number, random: string): string {
  return `ternix-confirm-${nowMs.toString(36)}-${random.replace(/[^A-Za-z0-9]/g, "").slice(0, 8)}`;
}
