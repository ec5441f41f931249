import { describe, expect, it } from "vitest";
import {
  copyToHostArgs,
  remoteRealiseArgs,
  profileDeleteGenerationsArgs,
  profileSetArgs,
  profileSwitchGenerationArgs,
  storeGcArgs,
  storeOptimiseArgs,
} from "./args.js";

describe("profile and gc argument builders", () => {
  it.each([
    [
      () => profileSetArgs("/nix/var/nix/profiles/system", "/nix/store/abc-nixos-system-web"),
      ["--profile", "/nix/var/nix/profiles/system", "--set", "/nix/store/abc-nixos-system-web"],
    ],
    [
      () => profileSwitchGenerationArgs("/tmp/p/system", 12),
      ["--profile", "/tmp/p/system", "--switch-generation", "12"],
    ],
    [
      () => profileDeleteGenerationsArgs("/tmp/p/system", [1, 2, 7]),
      ["--profile", "/tmp/p/system", "--delete-generations", "1", "2", "7"],
    ],
    [() => storeGcArgs(), ["--gc"]],
    [() => storeOptimiseArgs(), ["--optimise"]],
  ] as const)("%#", (build, expected) => {
    expect(build()).toEqual(expected);
  });

  it.each([
    ["relative profile", () => profileSetArgs("system", "/nix/store/x")],
    ["option-like profile", () => profileSwitchGenerationArgs("--help", 1)],
    ["relative store path", () => profileSetArgs("/p", "-x")],
    ["generation 0", () => profileSwitchGenerationArgs("/p", 0)],
    ["fractional generation", () => profileDeleteGenerationsArgs("/p", [1.5])],
    ["nothing to delete", () => profileDeleteGenerationsArgs("/p", [])],
  ])("rejects %s", (_name, build) => {
    expect(build).toThrow();
  });
});

describe("copyToHostArgs", () => {
  it("copies the named paths (and their closures) to the store", () => {
    expect(
      copyToHostArgs("ssh-ng://root@h?remote-store=local%3Froot%3D%2Fs", [
        "/nix/store/a-x",
        "/nix/store/b-y",
      ]),
    ).toEqual([
      "copy",
      "--no-check-sigs",
      "--to",
      "ssh-ng://root@h?remote-store=local%3Froot%3D%2Fs",
      "/nix/store/a-x",
      "/nix/store/b-y",
    ]);
  });

  it.each([[[]], [["relative"]], [["--option"]]])("refuses %j", (paths) => {
    expect(() => copyToHostArgs("ssh-ng://h", paths)).toThrow();
  });

  it("copies derivations only, for a build on the target", () => {
    expect(copyToHostArgs("ssh-ng://h", ["/nix/store/a-x.drv"], { derivation: true })).toEqual([
      "copy",
      "--derivation",
      "--no-check-sigs",
      "--to",
      "ssh-ng://h",
      "/nix/store/a-x.drv",
    ]);
    expect(() => copyToHostArgs("ssh-ng://h", ["/nix/store/a-x"], { derivation: true })).toThrow(/\.drv/);
  });
});

describe("remoteRealiseArgs", () => {
  it.each<[string, string | undefined, string[]]>([
    ["/nix/store/a-x.drv", undefined, ["--realise", "/nix/store/a-x.drv"]],
    ["/nix/store/a-x.drv", "", ["--realise", "/nix/store/a-x.drv"]],
    [
      "/nix/store/a-x.drv",
      "local?root=/srv/s",
      ["--store", "local?root=/srv/s", "--realise", "/nix/store/a-x.drv"],
    ],
  ])("%s in %j", (drv, store, expected) => {
    expect(remoteRealiseArgs(drv, store)).toEqual(expected);
  });

  it.each(["/nix/store/a-x", "x.drv", "--help.drv"])("refuses %j", (drv) => {
    expect(() => remoteRealiseArgs(drv)).toThrow();
  });
});
