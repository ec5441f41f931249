import { describe, expect, it } from "vitest";
import { ACTIVATION_UNIT, systemdRunArgs, systemdRunProbeArgs } from "./activation-command.js";

const SCRIPT = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web/bin/switch-to-configuration";

describe("systemdRunArgs", () => {
  it("runs the script in the foreground as a transient service, with its output piped back", () => {
    expect(systemdRunArgs(SCRIPT, "switch", {})).toEqual([
      "--collect",
      "--no-ask-password",
      "--pipe",
      "--quiet",
      "--same-dir",
      "--service-type=exec",
      `--unit=${ACTIVATION_UNIT}`,
      "--wait",
      "--",
      SCRIPT,
      "switch",
    ]);
  });

  it("passes LOCALE_ARCHIVE and NIXOS_INSTALL_BOOTLOADER into the service when they are set", () => {
    const args = systemdRunArgs(SCRIPT, "boot", {
      LOCALE_ARCHIVE: "/run/current-system/sw/lib/locale/locale-archive",
      NIXOS_INSTALL_BOOTLOADER: "1",
      HOME: "/root",
    });
    expect(args.slice(0, 4)).toEqual([
      "--setenv",
      "LOCALE_ARCHIVE=/run/current-system/sw/lib/locale/locale-archive",
      "--setenv",
      "NIXOS_INSTALL_BOOTLOADER=1",
    ]);
    expect(args.join(" ")).not.toContain("HOME");
  });

  it("probes with the same options, its own unit and `true`", () => {
    const probe = systemdRunProbeArgs({});
    expect(probe).toContain(`--unit=${ACTIVATION_UNIT}-probe`);
    expect(probe).not.toContain(`--unit=${ACTIVATION_UNIT}`);
    expect(probe.slice(-2)).toEqual(["--", "true"]);
  });
});
