import { describe, expect, it } from "vitest";
import {
  channelAddArgs,
  channelBranch,
  channelNixPathArgs,
  channelOwner,
  channelUpdateArgs,
  defaultChannelsProfile,
  instantiateSystemArgs,
  isChannelName,
  isChannelUrl,
  isNixpkgsChannel,
  parseChannelInfo,
  parseChannelList,
  redactChannelUrl,
} from "./channel.js";

describe("nix-channel output", () => {
  it("parses --list (Nix 2.8 and 2.24 print the same)", () => {
    expect(
      parseChannelList(
        "nixos https://nixos.org/channels/nixos-24.11\nhome-manager https://github.com/nix-community/home-manager/archive/release-24.11.tar.gz\n\n",
      ),
    ).toEqual([
      { name: "nixos", url: "https://nixos.org/channels/nixos-24.11" },
      {
        name: "home-manager",
        url: "https://github.com/nix-community/home-manager/archive/release-24.11.tar.gz",
      },
    ]);
    expect(parseChannelList("")).toEqual([]);
  });
});

describe("names and URLs (nix-channel's own rules)", () => {
  it.each([
    ["nixos", true],
    ["nixos-24.11", true],
    ["_x.y-z", true],
    ["-x", false],
    ["a b", false],
    ["a/b", false],
    ["", false],
    ["--update", false],
  ])("name %j: %s", (name, ok) => expect(isChannelName(name)).toBe(ok));
  it.each([
    ["https://nixos.org/channels/nixos-24.11", true],
    ["file:///srv/channels/nixos", true],
    ["ftp://x", false],
    ["nixos-24.11", false],
    ["https://x/a b", false],
  ])("url %j: %s", (url, ok) => expect(isChannelUrl(url)).toBe(ok));
  it("builds argument arrays and refuses what nix-channel would misread", () => {
    expect(channelUpdateArgs([])).toEqual(["--update"]);
    expect(channelUpdateArgs(["nixos", "home-manager"])).toEqual(["--update", "nixos", "home-manager"]);
    expect(() => channelUpdateArgs(["--rollback"])).toThrow(/not a channel name/);
    expect(channelAddArgs("file:///c/nixos-25.05", "nixos")).toEqual([
      "--add",
      "file:///c/nixos-25.05",
      "nixos",
    ]);
    expect(() => channelAddArgs("-x", "nixos")).toThrow(/URL/);
  });
});

describe("channel files", () => {
  it.each([
    [
      {
        version: "24.11",
        versionSuffix: ".710315.b681065d0919",
        gitRevision: "b681065d0919f7eb5309a93cea2cfa84dec9aa88\n",
      },
      {
        release: "24.11",
        version: "24.11.710315.b681065d0919",
        revision: "b681065d0919f7eb5309a93cea2cfa84dec9aa88",
      },
    ],
    [
      { version: "20.09", svnRevision: "2386.ae1b121d9a6" },
      { release: "20.09", version: "20.09", revision: "ae1b121d9a6" },
    ],
    [{ version: "25.05pre" }, { release: "25.05pre", version: "25.05pre", revision: undefined }],
    [{ gitRevision: "not hex\u001b[31m" }, { release: undefined, version: undefined, revision: undefined }],
  ])("%j", (files, info) => expect(parseChannelInfo(files)).toEqual(info));

  it.each([
    ["https://nixos.org/channels/nixos-24.11", "nixos-24.11", "NixOS"],
    ["https://channels.nixos.org/nixos-unstable/", "nixos-unstable", "NixOS"],
    ["file:///srv/c/nixos-24.11", "nixos-24.11", undefined],
    ["https://example.org/x?y=1", undefined, undefined],
  ])("%s: branch %s, owner %s", (url, branch, owner) => {
    expect(channelBranch(url)).toBe(branch);
    expect(channelOwner(url)).toBe(owner);
  });
  it.each([
    ["nixos", undefined, true],
    ["home-manager", "release-24.11.tar.gz", false],
    ["mine", "nixpkgs-unstable", true],
  ])("nixpkgs-like %s/%s: %s", (name, branch, like) => expect(isNixpkgsChannel(name, branch)).toBe(like));
});

describe("redactChannelUrl", () => {
  it.each([
    ["https://user:s3cret@example.org/channels/nixos", "https://example.org/channels/nixos"],
    [
      "error: unable to download 'https://tok@x.org/c/nixexprs.tar.xz'",
      "error: unable to download 'https://x.org/c/nixexprs.tar.xz'",
    ],
    ["https://nixos.org/channels/nixos-24.11", "https://nixos.org/channels/nixos-24.11"],
    ["file:///srv/c", "file:///srv/c"],
  ])("%s", (text, redacted) => expect(redactChannelUrl(text)).toBe(redacted));
});

describe("defaultChannelsProfile", () => {
  const base = { user: "alice", home: "/home/alice", env: {}, profilesInStateHome: true };
  it.each([
    [{ ...base, root: true }, "/nix/var/nix/profiles/per-user/root/channels"],
    [{ ...base, root: true, env: { NIX_STATE_DIR: "/tmp/s" } }, "/tmp/s/profiles/per-user/root/channels"],
    [{ ...base, root: false }, "/home/alice/.local/state/nix/profiles/channels"],
    [{ ...base, root: false, env: { XDG_STATE_HOME: "/x" } }, "/x/nix/profiles/channels"],
    [{ ...base, root: false, profilesInStateHome: false }, "/nix/var/nix/profiles/per-user/alice/channels"],
  ])("%j", (options, profile) => expect(defaultChannelsProfile(options)).toBe(profile));
});

describe("the system build's NIX_PATH", () => {
  it("is nixos-rebuild's default, as -I flags", () => {
    const nixPath = channelNixPathArgs({
      channels: "/nix/var/nix/profiles/per-user/root/channels",
      nixpkgsChannel: "nixos",
      configuration: "/etc/nixos/configuration.nix",
    });
    expect(instantiateSystemArgs(nixPath)).toEqual([
      "<nixpkgs/nixos>",
      "-A",
      "system",
      "-I",
      "nixpkgs=/nix/var/nix/profiles/per-user/root/channels/nixos",
      "-I",
      "nixos-config=/etc/nixos/configuration.nix",
      "-I",
      "/nix/var/nix/profiles/per-user/root/channels",
    ]);
  });
  it("refuses relative paths and odd channel names", () => {
    expect(() =>
      channelNixPathArgs({ channels: "c", nixpkgsChannel: "nixos", configuration: "/c" }),
    ).toThrow();
    expect(() =>
      channelNixPathArgs({ channels: "/c", nixpkgsChannel: "nixos", configuration: "configuration.nix" }),
    ).toThrow();
    expect(() =>
      channelNixPathArgs({ channels: "/c", nixpkgsChannel: "a=b", configuration: "/c" }),
    ).toThrow();
  });
});
