import { describe, expect, it } from "vitest";
import {
  ACTIVATION_UNIT,
  deadMansSwitchArmArgs,
  deadMansSwitchDisarmArgs,
  deadMansSwitchUnit,
  systemdRunArgs,
  systemdRunProbeArgs,
} from "./activation-command.js";

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

describe("the dead man's switch", () => {
  const prev = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web";
  it("arms a timer that re-activates the previous system", () => {
    expect(deadMansSwitchArmArgs("ternix-confirm-abc-12", 60, prev)).toEqual([
      "--unit=ternix-confirm-abc-12",
      "--on-active=60s",
      "--timer-property=AccuracySec=1s",
      "--description=ternix deploy: re-activate the previous system unless the deploy is confirmed",
      "--",
      `${prev}/bin/switch-to-configuration`,
      "test",
    ]);
  });

  it.each([
    ["bad unit", () => deadMansSwitchArmArgs("other; rm", 60, prev)],
    ["zero timeout", () => deadMansSwitchArmArgs("ternix-confirm-a", 0, prev)],
    ["not a store path", () => deadMansSwitchArmArgs("ternix-confirm-a", 5, "/tmp/x")],
  ])("refuses %s", (_name, fn) => expect(fn).toThrow());

  it("disarms by stopping the timer", () => {
    expect(deadMansSwitchDisarmArgs("ternix-confirm-a")).toEqual(["stop", "ternix-confirm-a.timer"]);
  });

  it("names units uniquely and safely", () => {
    expect(deadMansSwitchUnit(1_700_000_000_000, "a1-b2/c3d4e5")).toBe("ternix-confirm-loyw3v28-a1b2c3d4");
  });
});
