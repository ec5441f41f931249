import { describe, expect, it } from "vitest";
import { compareReleases, nixosReleasesAt, parseRelease } from "./release.js";

describe("parseRelease", () => {
  it.each([
    ["nixos-24.11", "24.11"],
    ["nixos-24.11-small", "24.11"],
    ["nixpkgs-24.11-darwin", "24.11"],
    ["release-24.11", "24.11"],
    ["nix-darwin-24.11", "24.11"],
    ["refs/heads/nixos-25.05", "25.05"],
    ["24.11", "24.11"],
    ["nixos-unstable", undefined],
    ["nixpkgs-unstable", undefined],
    ["master", undefined],
    ["v1.24.11", undefined],
    ["2.24.11", undefined],
    ["nixos-24.11.1", undefined],
    [undefined, undefined],
  ])("%s → %s", (ref, expected) => {
    expect(parseRelease(ref)).toBe(expected);
  });
});

describe("compareReleases", () => {
  it.each([
    ["24.11", "25.05", -1],
    ["25.05", "24.11", 1],
    ["24.05", "24.11", -1],
    ["24.11", "24.11", 0],
  ])("%s vs %s", (a, b, sign) => {
    expect(Math.sign(compareReleases(a, b))).toBe(sign);
  });
});

describe("nixosReleasesAt", () => {
  it.each([
    ["2026-11-22T00:00:00Z", ["26.11", "26.05"]],
    ["2026-11-01T00:00:00Z", ["26.11", "26.05"]],
    ["2026-10-31T23:59:59Z", ["26.05", "25.11"]],
    ["2026-05-01T00:00:00Z", ["26.05", "25.11"]],
    ["2026-04-30T23:59:59Z", ["25.11", "25.05"]],
    ["2026-01-15T00:00:00Z", ["25.11", "25.05"]],
    ["2026-12-31T23:59:59Z", ["26.11", "26.05"]],
    ["2100-02-01T00:00:00Z", ["99.11", "99.05"]],
  ])("%s → %j", (now, expected) => {
    expect(nixosReleasesAt(new Date(now))).toEqual(expected);
  });

  it("can list more releases", () => {
    expect(nixosReleasesAt(new Date("2025-06-01T00:00:00Z"), 4)).toEqual([
      "25.05",
      "24.11",
      "24.05",
      "23.11",
    ]);
  });
});
