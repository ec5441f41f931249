import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../config/config.js";
import { requireSystemAccess, systemPaths } from "./system-paths.js";
import { fakeEffects } from "./system-effects.test-support.js";

describe("systemPaths", () => {
  it("defaults to NixOS's paths", () => {
    expect(systemPaths(defaultConfig(), {}, "/home/u")).toEqual({
      profile: "/nix/var/nix/profiles/system",
      currentSystem: "/run/current-system",
      bootedSystem: "/run/booted-system",
      stateDir: "/var/lib/ternix",
      systemctl: "systemctl",
      systemdRun: "systemd-run",
    });
  });

  it("systemd-run: a flag path, or off with --no-systemd-run or an empty config value", () => {
    const config = defaultConfig();
    expect(systemPaths(config, { systemdRun: "./fake-run" }, "/tmp/t").systemdRun).toBe("/tmp/t/fake-run");
    expect(systemPaths(config, { systemdRun: false }, "/tmp/t").systemdRun).toBeUndefined();
    config.system["systemd-run"] = "";
    expect(systemPaths(config, {}, "/tmp/t").systemdRun).toBeUndefined();
  });

  it("flags override config; relative paths are taken from the working directory", () => {
    const config = defaultConfig();
    config.system["state-dir"] = "/srv/ternix";
    config.system.systemctl = "./fake-systemctl";
    expect(systemPaths(config, { profile: "p/system", stateDir: undefined }, "/tmp/t")).toMatchObject({
      profile: "/tmp/t/p/system",
      stateDir: "/srv/ternix",
      systemctl: "/tmp/t/fake-systemctl",
    });
  });
});

describe("requireSystemAccess", () => {
  const paths = systemPaths(defaultConfig(), {}, "/");

  it("root may", async () => {
    await expect(
      requireSystemAccess(paths, fakeEffects({ isRoot: true, writable: () => false }).system, "switch"),
    ).resolves.toBeUndefined();
  });

  it("a user who can write the profile and state directories may (tests)", async () => {
    await expect(
      requireSystemAccess(paths, fakeEffects({ isRoot: false, writable: () => true }).system, "switch"),
    ).resolves.toBeUndefined();
  });

  it("anyone else is told to use sudo, with their command line", async () => {
    const error = await requireSystemAccess(
      paths,
      fakeEffects({ isRoot: false, writable: () => false }).system,
      "switch",
      ["switch", "web", "--yes"],
    ).catch((e: unknown) => e as Error & { hint?: string });
    expect(error?.message).toContain("`ternix switch` needs root");
    expect(error?.message).toContain("/nix/var/nix/profiles/system");
    expect(error?.hint).toContain("sudo ternix switch web --yes");
  });
});
