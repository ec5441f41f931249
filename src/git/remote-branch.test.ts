import { describe, expect, it } from "vitest";
import { parseLsRemote, redactRemoteUrl } from "./remote-branch.js";

const A = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
const B = "d3f2baba8f425779026c6ec04021b2e927f61e31";

describe("parseLsRemote", () => {
  it.each([
    [
      "HEAD symref and branches",
      `ref: refs/heads/main\tHEAD\n${A}\tHEAD\n${A}\trefs/heads/main\n${B}\trefs/heads/ternix/flake-update\n`,
      { HEAD: "refs/heads/main" },
      { HEAD: A, "refs/heads/main": A, "refs/heads/ternix/flake-update": B },
    ],
    ["an empty repository", "", {}, {}],
    ["HEAD without a symref (old servers)", `${A}\tHEAD\n`, {}, { HEAD: A }],
    ["SHA-256 object ids", `${"a".repeat(64)}\trefs/heads/main\n`, {}, { "refs/heads/main": "a".repeat(64) }],
    [
      "noise lines",
      `warning: redirecting to https://example.org/\n${A}\trefs/heads/main\n`,
      {},
      { "refs/heads/main": A },
    ],
  ])("%s", (_, stdout, symrefs, refs) => {
    const parsed = parseLsRemote(stdout);
    expect(Object.fromEntries(parsed.symrefs)).toEqual(symrefs);
    expect(Object.fromEntries(parsed.refs)).toEqual(refs);
  });
});

describe("redactRemoteUrl", () => {
  it.each([
    ["https://x-access-token:ghs_abc@github.com/o/r.git", "https://github.com/o/r.git"],
    [
      "fatal: unable to access 'https://oauth2:tok@codeberg.org/o/r/': 403",
      "fatal: unable to access 'https://codeberg.org/o/r/': 403",
    ],
    ["ssh://git@example.org:2222/o/r.git", "ssh://example.org:2222/o/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["/srv/git/fleet.git", "/srv/git/fleet.git"],
  ])("%s", (input, expected) => {
    expect(redactRemoteUrl(input)).toBe(expected);
  });
});
