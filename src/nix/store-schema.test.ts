import { describe, expect, it } from "vitest";
import { storeSchemaChangesBetween, type NixRelease } from "./store-schema.js";

const nix = (version: string): NixRelease => ({ implementation: "nix", version });
const lix = (version: string): NixRelease => ({ implementation: "lix", version });

describe("storeSchemaChangesBetween", () => {
  it.each([
    [nix("2.3.16"), nix("2.24.10"), ["2.4"]],
    [nix("2.24.10"), nix("2.3.16"), ["2.4"]],
    [nix("1.11.16"), nix("2.24.10"), ["2.0", "2.4"]],
    [nix("1.2"), nix("1.11"), ["1.3"]],
    [nix("2.4"), nix("2.28.3"), []],
    [nix("2.24.10"), nix("2.24.11"), []],
    [nix("2.3.16"), lix("2.91.1"), ["2.4"]],
    [lix("2.90.0"), nix("2.28.3"), []],
  ])("%j -> %j", (from, to, since) => {
    expect(storeSchemaChangesBetween(from, to).map((c) => c.since)).toEqual(since);
  });
});
