import { describe, expect, it } from "vitest";
import { copyToArgs, realiseArgs, storeSignArgs } from "./args.js";

const SYS = "/nix/store/33hnnhd3bqizdgc8hs2c14lssmahg05h-nixos-system-web-24.11";

describe("binary cache argument builders", () => {
  it.each([
    [
      () => storeSignArgs("/run/secrets/cache key", [SYS]),
      ["store", "sign", "--key-file", "/run/secrets/cache key", "--recursive", SYS],
    ],
    [
      () => copyToArgs("file:///srv/cache?compression=zstd", [SYS, SYS.replace("web", "db")]),
      ["copy", "--to", "file:///srv/cache?compression=zstd", SYS, SYS.replace("web", "db")],
    ],
    // A URI that looks like an option is still only --to's value.
    [() => copyToArgs("--help", [SYS]), ["copy", "--to", "--help", SYS]],
    [
      () => realiseArgs(SYS, "/tmp/ternix-system-x/result"),
      ["--realise", SYS, "--add-root", "/tmp/ternix-system-x/result", "--indirect"],
    ],
  ] as const)("%#", (build, expected) => {
    expect(build()).toEqual(expected);
  });

  it.each([
    ["a relative key file (never a key value)", () => storeSignArgs("cache.sec", [SYS])],
    ["a key passed as text", () => storeSignArgs("ternix-1:c2VjcmV0", [SYS])],
    ["an option-like store path", () => copyToArgs("file:///c", ["--all"])],
    ["a relative GC root", () => realiseArgs(SYS, "result")],
  ])("rejects %s", (_name, build) => {
    expect(build).toThrow();
  });
});
