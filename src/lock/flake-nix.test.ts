import { describe, expect, it } from "vitest";
import { addPinnedInput, pinnedInputs, removePinnedInput } from "./flake-nix.js";

const nixfmt = `{
  description = "x; { not code";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"; # main
    home.url = "git+file:///h";
    home.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    {
      self,
      nixpkgs,
      home,
    }:
    let
      x = 1;
    in
    { };
}
`;

const URL = '"github:NixOS/nixpkgs/abc"';

describe("addPinnedInput / removePinnedInput", () => {
  it("adds one line after the last input and one argument, and removing restores the file", () => {
    const added = addPinnedInput(nixfmt, "nixpkgs-old", URL);
    expect(added).toEqual({
      ok: true,
      text: expect.any(String) as string,
      warnings: ["added nixpkgs-old to the arguments of outputs"],
    });
    if (!added.ok) return;
    expect(added.text).toBe(
      nixfmt
        .replace(
          `"nixpkgs";\n`,
          `"nixpkgs";\n    nixpkgs-old.url = "github:NixOS/nixpkgs/abc"; # ternix:pin\n`,
        )
        .replace("      home,\n", "      home,\n      nixpkgs-old,\n"),
    );
    expect(pinnedInputs(added.text)).toEqual(["nixpkgs-old"]);
    expect(pinnedInputs(nixfmt)).toEqual([]);
    const removed = removePinnedInput(added.text, "nixpkgs-old");
    expect(removed).toEqual({ ok: true, text: nixfmt, warnings: [] });
  });

  it.each([
    [
      "dotted inputs, one-line formals",
      `{ inputs.a.url = "x"; # c\n  inputs.b.url = "y";\n  outputs = { self, a, b }: { }; }`,
      `{ inputs.a.url = "x"; # c\n  inputs.b.url = "y";\n  inputs.p.url = "u"; # ternix:pin\n  outputs = { self, a, b, p }: { }; }`,
    ],
    [
      "one-line set, @-pattern with ...",
      `{ inputs = { a.url = "x"; }; outputs = { self, ... }@inputs: { }; }`,
      `{ inputs = { a.url = "x";\n  p.url = "u"; # ternix:pin\n }; outputs = { self, ... }@inputs: { }; }`,
    ],
    [
      "empty set, a single argument",
      `{\n  inputs = { };\n  outputs = inputs: { };\n}`,
      `{\n  inputs = {\n    p.url = "u"; # ternix:pin\n  };\n  outputs = inputs: { };\n}`,
    ],
  ])("%s", (_name, before, after) => {
    const added = addPinnedInput(before, "p", '"u"');
    expect(added.ok && added.text).toBe(after);
    const removed = removePinnedInput(after, "p");
    // A one-line or empty set keeps the line break the pin brought.
    expect(removed.ok && removed.text).toBe(
      before.replace("{ };\n  outputs", "{\n  };\n  outputs").replace(`"x"; }`, `"x";\n }`),
    );
  });

  it.each([
    [`let a = 1; in { inputs = { }; outputs = _: { }; }`, "not an attribute set literal"],
    [`{ inputs = import ./inputs.nix; outputs = _: { }; }`, "`inputs` is computed"],
    [`{ inputs = { a.url = "x"; } // extra; outputs = _: { }; }`, "`inputs` is computed"],
    [`{ inputs = { \${name}.url = "x"; }; outputs = _: { }; }`, "dynamic attribute names"],
    [`{ outputs = _: { }; }`, "declares no `inputs`"],
    [`{ inputs = { p.url = "x"; }; outputs = _: { }; }`, "already has an input named p"],
    [`{ inputs = { a.url = "x; }; }`, "unterminated string"],
  ])("refuses %s", (src, reason) => {
    const result = addPinnedInput(src, "p", '"u"');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it("refuses bad names, and unpinning inputs it did not pin", () => {
    expect(addPinnedInput(nixfmt, "a b", URL)).toMatchObject({ ok: false });
    expect(addPinnedInput(nixfmt, "with", URL)).toMatchObject({ ok: false });
    expect(removePinnedInput(nixfmt, "home")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not a pin") as string,
    });
    expect(removePinnedInput(nixfmt, "zzz")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("no input named zzz") as string,
    });
  });

  it("strings, comments and let…in do not confuse it", () => {
    const src = `{\n  /* inputs = { */\n  inputs.a.url = ''x \${"}"} y'';\n  outputs = { a }: let z = "\${a}"; in { inherit z; };\n}`;
    const added = addPinnedInput(src, "p", '"u"');
    expect(added.ok && added.text).toContain(`  inputs.p.url = "u"; # ternix:pin\n  outputs = { a, p }:`);
  });

  it("warns when outputs still uses an input being unpinned", () => {
    const src = `{\n  inputs.p.url = "u"; # ternix:pin\n  outputs = { self, p }: { x = p; };\n}`;
    const removed = removePinnedInput(src, "p");
    expect(removed).toMatchObject({ ok: true, warnings: [expect.stringContaining("still mentions p")] });
  });
});
