/** The pure parts of the channel use cases: switch targets, channel diffs, channels as inputs. */
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../config/config.js";
import { assessInputs } from "../lock/staleness.js";
import {
  channelAsInput,
  channelStalenessPolicy,
  diffChannelStates,
  resolveSwitchTarget,
  type ChannelState,
} from "./channels.js";

const channel = (over: Partial<ChannelState> & { name: string }): ChannelState => ({
  url: `https://nixos.org/channels/nixos-24.11`,
  branch: "nixos-24.11",
  storePath: `/nix/store/${"a".repeat(32)}-nixos-24.11/${over.name}`,
  info: { release: "24.11", version: "24.11.1.abc", revision: "b681065d0919f7eb5309a93cea2cfa84dec9aa88" },
  fetchedAt: new Date("2026-11-01T00:00:00Z"),
  ...over,
});

describe("resolveSwitchTarget", () => {
  const entries = [
    { name: "nixos", url: "https://nixos.org/channels/nixos-24.11" },
    {
      name: "home-manager",
      url: "https://github.com/nix-community/home-manager/archive/release-24.11.tar.gz",
    },
  ];
  it.each([
    [["nixos-25.05", undefined], { name: "nixos", url: "https://nixos.org/channels/nixos-25.05" }],
    [["nixos-unstable", undefined], { name: "nixos", url: "https://nixos.org/channels/nixos-unstable" }],
    [
      ["nixos", "https://nixos.org/channels/nixos-25.05/"],
      { name: "nixos", url: "https://nixos.org/channels/nixos-25.05" },
    ],
    [["unstable", "file:///srv/c/nixos-unstable"], { name: "unstable", url: "file:///srv/c/nixos-unstable" }],
  ] as const)("%j", ([name, url], target) => {
    expect(resolveSwitchTarget(name, url, entries)).toEqual(target);
  });
  it.each([
    // An existing channel without a URL: which URL is meant is unclear.
    [["nixos", undefined], /which URL should channel "nixos" follow/],
    [["-x", "https://x/y"], /not a channel name/],
    [["nixos", "nixos-25.05"], /not a channel URL/],
    [["nixos", "https://x/a b"], /not a channel URL/],
  ] as const)("refuses %j", ([name, url], message) => {
    expect(() => resolveSwitchTarget(name, url, entries)).toThrow(message);
  });
  it("without a nixos channel nor a single Nixpkgs one, a release alone is not enough", () => {
    expect(() =>
      resolveSwitchTarget("nixos-25.05", undefined, [entries[1] as (typeof entries)[number]]),
    ).toThrow(/which URL/);
  });
});

describe("diffChannelStates", () => {
  it("marks moved channels and release jumps, either way", () => {
    const a = channel({ name: "nixos" });
    const b = channel({
      name: "nixos",
      storePath: `/nix/store/${"b".repeat(32)}-nixos-25.05/nixos`,
      info: {
        release: "25.05",
        version: "25.05.2.def",
        revision: "1c8dc5fcf6a0ab1c8dc5fcf6a0ab1c8dc5fcf6a0",
      },
    });
    const same = channel({ name: "other" });
    const changes = diffChannelStates([a, same], [b, same]);
    expect(changes.map((c) => [c.name, c.changed, c.releaseJump])).toEqual([
      ["nixos", true, { from: "24.11", to: "25.05", newer: true }],
      ["other", false, undefined],
    ]);
    expect(diffChannelStates([b], [a])[0]?.releaseJump).toEqual({ from: "25.05", to: "24.11", newer: false });
    // A channel added or removed by the update.
    expect(diffChannelStates([], [a])[0]).toMatchObject({ changed: true, before: undefined });
  });
});

describe("channels under the flake staleness policy", () => {
  const now = new Date("2026-12-07T00:00:00Z");
  const verdict = (c: ChannelState) =>
    assessInputs([channelAsInput(c)], channelStalenessPolicy(defaultConfig()), now)[0];
  it.each([
    [
      channel({
        name: "nixos",
        url: "https://nixos.org/channels/nixos-26.11",
        branch: "nixos-26.11",
        fetchedAt: new Date("2026-12-01T00:00:00Z"),
      }),
      [],
    ],
    [channel({ name: "nixos" }), ["stale", "unsupported-branch"]],
    [
      channel({ name: "nixos", url: "file:///srv/nixos-26.11", branch: "nixos-26.11", fetchedAt: now }),
      ["non-upstream"],
    ],
    // Not Nixpkgs: no policy applies.
    [
      channel({
        name: "home-manager",
        url: "https://github.com/nix-community/home-manager/archive/release-24.11.tar.gz",
        branch: "release-24.11.tar.gz",
      }),
      [],
    ],
  ] as const)("%#", (c, kinds) => {
    expect(verdict(c)?.issues.map((i) => i.kind)).toEqual(kinds);
  });
  it("takes its age from when the revision was fetched", () => {
    expect(verdict(channel({ name: "nixos" }))?.ageDays).toBe(36);
    expect(verdict(channel({ name: "nixos", fetchedAt: undefined }))?.ageDays).toBeUndefined();
  });
});
