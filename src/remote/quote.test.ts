import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { quoteCommandLine, quoteShellWord } from "./quote.js";

const cases: [string, string][] = [
  ["plain", "plain"],
  ["/nix/store/abc-nixos-system-web-24.11", "/nix/store/abc-nixos-system-web-24.11"],
  ["--unit=ternix-confirm-1", "--unit=ternix-confirm-1"],
  ["-leading-dash", "-leading-dash"],
  ["", "''"],
  ["with space", "'with space'"],
  ["it's", `'it'\\''s'`],
  [`"double"`, `'"double"'`],
  ["line\nbreak", "'line\nbreak'"],
  ["$HOME", "'$HOME'"],
  ["`id`", "'`id`'"],
  ["$(id)", "'$(id)'"],
  ["a;b&c|d", "'a;b&c|d'"],
  ["*", "'*'"],
  ["~root", "'~root'"],
  ["back\\slash", "'back\\slash'"],
  ["''", `''\\'''\\'''`],
  ["tab\there", "'tab\there'"],
];

describe("quoteShellWord", () => {
  it.each(cases)("%j → %s", (arg, quoted) => {
    expect(quoteShellWord(arg)).toBe(quoted);
  });

  it("refuses a NUL byte (no shell word can carry it)", () => {
    expect(() => quoteShellWord("a\0b")).toThrow(/NUL/);
  });
});

describe("quoteCommandLine", () => {
  it("joins the quoted words with spaces", () => {
    expect(quoteCommandLine(["readlink", "-f", "--", "/run/current system"])).toBe(
      "readlink -f -- '/run/current system'",
    );
  });

  it("refuses an empty command", () => {
    expect(() => quoteCommandLine([])).toThrow(/empty/);
  });

  // The property that matters: a real POSIX shell (as sshd runs the command) gets back every word.
  it("round-trips every case through a real /bin/sh", () => {
    const words = cases.map(([arg]) => arg);
    const line = quoteCommandLine(["printf", "%s\\0", ...words]);
    const result = spawnSync("/bin/sh", ["-c", line], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.split("\0").slice(0, -1)).toEqual(words);
  });
});
