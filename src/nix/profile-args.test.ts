import { describe, expect, it } from "vitest";
import {
  copyToArgs,
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

describe("copyToArgs", () => {
  it("copies the named paths (and their closures) to the store", () => {
    expect(
      copyToArgs("ssh-ng://root@h?remote-store=local%3Froot%3D%2Fs", ["/nix/store/a-x", "/nix/store/b-y"]),
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
    expect(() => copyToArgs("ssh-ng://h", paths)).toThrow();
  });
});
