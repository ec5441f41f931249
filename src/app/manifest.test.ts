import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { buildManifest, manifestToplevel, parseManifest, renderManifest } from "./manifest.js";

const TREE = "0123456789abcdef0123456789abcdef01234567";
const A = "/nix/store/33hnnhd3bqizdgc8hs2c14lssmahg05h-nixos-system-a-24.11";
const B = "/nix/store/44hnnhd3bqizdgc8hs2c14lssmahg05h-nixos-system-b-24.11";

describe("host manifest", () => {
  it("renders hosts sorted, and parses back what it renders", () => {
    const m = buildManifest(TREE, "ternix-hosts.json", [
      { host: "b", toplevel: B },
      { host: "a", toplevel: A },
    ]);
    const text = renderManifest(m);
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b"'));
    const back = parseManifest(text, "m.json");
    expect(back).toEqual(JSON.parse(text));
    expect(manifestToplevel(back, "a")).toBe(A);
    expect(manifestToplevel(back, "c")).toBeUndefined();
  });

  it("a host named __proto__ or toString is an ordinary key; inherited names are not hosts", () => {
    const m = parseManifest(
      renderManifest(buildManifest(TREE, "x/ternix-hosts.json", [{ host: "__proto__", toplevel: A }])),
      "m",
    );
    expect(manifestToplevel(m, "__proto__")).toBe(A);
    expect(manifestToplevel(m, "toString")).toBeUndefined();
    expect(manifestToplevel(m, "constructor")).toBeUndefined();
  });

  it.each([
    ["not JSON", "{", /m\.json is not JSON/],
    ["another schema version", JSON.stringify({ schemaVersion: 2 }), /schemaVersion/],
    [
      "a toplevel that is not a store path",
      renderManifest(buildManifest(TREE, "ternix-hosts.json", [{ host: "a", toplevel: "/etc/passwd" }])),
      /hosts\.a\.toplevel: a store path/,
    ],
    [
      "a tree id that is not a git object id",
      renderManifest(buildManifest("HEAD", "ternix-hosts.json", [])),
      /source\.tree/,
    ],
  ])("refuses %s with an InputError naming the place", (_name, text, message) => {
    expect(() => parseManifest(text, "m.json")).toThrow(InputError);
    expect(() => parseManifest(text, "m.json")).toThrow(message);
  });
});
