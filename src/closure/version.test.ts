import { describe, expect, it } from "vitest";
import { compareVersions, sortVersions, splitVersion } from "./version.js";

describe("splitVersion", () => {
  it.each([
    ["1.2.3", ["1", "2", "3"]],
    ["9.9p1", ["9", "9", "p", "1"]],
    ["2.3a", ["2", "3", "a"]],
    ["1.0pre1", ["1", "0", "pre", "1"]],
    ["550.135-6.6.63", ["550", "135", "6", "6", "63"]],
    ["2.40-36", ["2", "40", "36"]],
    ["0-unstable-2024-10-01", ["0", "unstable", "2024", "10", "01"]],
    ["1.0.", ["1", "0"]],
    ["", []],
    ["--..", []],
    ["24.11.20241201.1e3deb3", ["24", "11", "20241201", "1", "e", "3", "deb", "3"]],
  ])("%s", (version, components) => {
    expect(splitVersion(version)).toEqual(components);
  });
});

describe("compareVersions", () => {
  // [a, b, expected]: expected is compareVersions(a, b); the reverse is checked too.
  it.each<[string, string, -1 | 0 | 1]>([
    // The examples of the Nix manual (builtins.compareVersions / nix-env version ordering).
    ["1.0", "2.3", -1],
    ["2.1", "2.3", -1],
    ["2.3", "2.3", 0],
    ["2.5", "2.3", 1],
    ["3.1", "2.3", 1],
    ["2.3.1", "2.3", 1],
    ["1.0", "2.3", -1],
    ["2.3pre1", "2.3", -1],
    ["2.3", "2.3pre1", 1],
    ["2.3pre3", "2.3pre12", -1],
    ["2.3a", "2.3c", -1],
    ["2.3pre1", "2.3c", -1],
    ["2.3pre1", "2.3q", -1],
    // names.cc rules, one by one.
    ["1.0pre1", "1.0", -1], // "pre" sorts before everything, even the empty component
    ["1.0pre", "1.0pre", 0],
    ["2.3a", "2.3.1", -1], // a string sorts before a number
    ["1.0", "1.0.1", -1], // the empty component sorts before a number
    ["1.0", "1.0a", -1], // the empty component sorts before a string ("" < "a")
    ["alpha", "beta", -1],
    ["1.0-rc1", "1.0.rc1", 0], // '.' and '-' are both separators
    ["01", "1", 0], // numbers compare numerically
    ["1.10", "1.9", 1],
    ["2147483647", "2147483646", 1],
    // Past 2^31, Nix's string2Int<int> overflows and compares these as strings (9999999999 >
    // 10000000000, and 10000000000 < 5); Ternix keeps comparing numbers (see version.ts).
    ["2147483648", "2147483647", 1],
    ["9999999999", "10000000000", -1],
    ["99999999999", "100000000000", -1],
    ["99999999999", "5", 1],
    ["20241201123000", "20241201093000", 1],
    ["1.0002147483648", "1.2147483648", 0], // leading zeros do not count, as for short numbers
    ["", "", 0],
    ["", "0", -1],
    ["", "a", -1],
    // Real closures.
    ["6.6.63", "6.6.64", -1],
    ["6.6.9", "6.6.10", -1],
    ["550.135-6.6.63", "550.142-6.6.64", -1],
    ["550.135-6.6.64", "550.135-6.6.63", 1],
    ["9.9p1", "9.9p2", -1],
    ["9.8p1", "9.9p1", -1],
    ["2.40-36", "2.40-44", -1],
    ["2.39-58", "2.40-36", -1],
    ["2.24.10", "2.24.9", 1],
    ["2.91.1", "2.91.1", 0],
    ["24.05.20241201.abc", "24.11.20241201.abc", -1],
    ["20241110", "20241210", -1],
    ["256.8", "256.10", -1],
    ["133.0", "133.0.3", -1],
    ["5.2p37", "5.2p32", 1],
    ["0-unstable-2024-10-01", "0-unstable-2024-11-05", -1],
    ["2.2.7-6.6.63", "2.2.6-6.6.64", 1],
    ["1.0rc1", "1.0", 1], // only "pre" is special: "rc" is a string, and a string beats the empty component
  ])("compareVersions(%j, %j) = %i", (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });
});

describe("sortVersions", () => {
  it("sorts by Nix order, ties by string", () => {
    expect(sortVersions(["1.10", "1.9", "1.0pre1", "1.0", "01.0", ""])).toEqual([
      "",
      "1.0pre1",
      "01.0",
      "1.0",
      "1.9",
      "1.10",
    ]);
  });
});
