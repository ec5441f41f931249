import { describe, expect, it } from "vitest";
import {
  channelSwitchWarning,
  renderChannelDiffText,
  toChannelDiffJson,
  type ChannelSwitchView,
} from "./channels.js";

const view = (version: string, rev: string) => ({
  name: "nixos",
  url: "https://nixos.org/channels/nixos-25.05",
  storePath: "/nix/store/x",
  info: { release: version.slice(0, 5), version, revision: rev },
  fetchedAt: undefined,
});

describe("renderChannelDiffText", () => {
  it("shows version and revision before → after, the release jump, and the unchanged count", () => {
    const text = renderChannelDiffText(
      [
        {
          name: "nixos",
          url: "u",
          before: view("24.11.1.aaa", "aaaaaaa1"),
          after: view("25.05.2.bbb", "bbbbbbb2"),
          changed: true,
          releaseJump: { from: "24.11", to: "25.05", newer: true },
        },
        { name: "x", url: "u", before: undefined, after: undefined, changed: false, releaseJump: undefined },
      ],
      { color: false },
    );
    expect(text).toBe(
      "nixos  24.11.1.aaa (aaaaaaa) → 25.05.2.bbb (bbbbbbb)  release jump: 24.11 → 25.05\n1 channel unchanged.\n",
    );
    expect(renderChannelDiffText([], { color: false })).toBe("No channel changed.\n");
  });
  it("keeps terminal control characters from a channel's name and files out", () => {
    const text = renderChannelDiffText(
      [
        {
          name: "n\u001b[31m",
          url: "u",
          before: undefined,
          after: view("24.11\u001b]0;x\u0007", "a"),
          changed: true,
          releaseJump: undefined,
        },
      ],
      { color: false },
    );
    expect(text.includes("\u001b") || text.includes("\u0007")).toBe(false);
  });
});

describe("channel URLs with credentials", () => {
  it("are shown without their user info", () => {
    const text = renderChannelDiffText(
      [
        {
          name: "nixos",
          url: "https://me:s3cret@example.org/nixos",
          before: undefined,
          after: { ...view("24.11.1.a", "a"), url: "https://me:s3cret@example.org/nixos" },
          changed: true,
          releaseJump: undefined,
        },
      ],
      { color: false },
    );
    expect(text).not.toContain("s3cret");
    const json = JSON.stringify(
      toChannelDiffJson(
        [
          {
            name: "nixos",
            url: "https://me:s3cret@example.org/nixos",
            before: undefined,
            after: { ...view("24.11.1.a", "a"), url: "https://me:s3cret@example.org/nixos" },
            changed: true,
            releaseJump: undefined,
          },
        ],
        { dryRun: false, generationBefore: 1, generationAfter: 2 },
      ),
    );
    expect(json).not.toContain("s3cret");
    expect(json).toContain("https://example.org/nixos");
  });
});

describe("channelSwitchWarning", () => {
  const base: ChannelSwitchView = {
    name: "nixos",
    url: "u",
    change: {
      name: "nixos",
      url: "u",
      before: undefined,
      after: undefined,
      changed: true,
      releaseJump: undefined,
    },
    running: "Nix 2.3.16",
    channelNix: "2.24.10",
    newerNix: true,
    schemaChanges: [{ since: "2.4", change: "the content-addressed derivation tables" }],
  };
  it.each([
    [
      base,
      "the new channel brings Nix 2.24.10, newer than the running Nix 2.3.16. It crosses a Nix store schema change (Nix 2.4: the content-addressed derivation tables), which cannot be undone: you will not be able to go back to your original channel.",
    ],
    [
      { ...base, running: "Nix 2.24.15", channelNix: "2.28.3", schemaChanges: [] },
      "the new channel brings Nix 2.28.3, newer than the running Nix 2.24.15. It may upgrade the Nix store database schema, which cannot be undone: you will not be able to go back to your original channel.",
    ],
    [{ ...base, newerNix: false, schemaChanges: [] }, undefined],
  ])("%#", (plan, warning) => {
    expect(channelSwitchWarning(plan)).toBe(warning);
  });
});
