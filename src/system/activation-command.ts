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
