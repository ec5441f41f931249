import { describe, expect, it } from "vitest";
import { createStyle, stripStyle } from "./style.js";

const names = ["bold", "dim", "red", "green", "yellow", "cyan"] as const;

describe("createStyle", () => {
  it.each(names)("%s returns plain text without colour", (name) => {
    expect(createStyle(false)[name]("nixpkgs")).toBe("nixpkgs");
  });

  it.each([
    ["bold", "\u001b[1mx\u001b[22m"],
    ["dim", "\u001b[2mx\u001b[22m"],
    ["red", "\u001b[31mx\u001b[39m"],
    ["green", "\u001b[32mx\u001b[39m"],
    ["yellow", "\u001b[33mx\u001b[39m"],
    ["cyan", "\u001b[36mx\u001b[39m"],
  ] as const)("%s wraps text in SGR codes with colour", (name, expected) => {
    expect(createStyle(true)[name]("x")).toBe(expected);
  });

  it("nests and strips back to the text", () => {
    const s = createStyle(true);
    const text = s.bold(`a ${s.red("b")} c`);
    expect(text).toBe("\u001b[1ma \u001b[31mb\u001b[39m c\u001b[22m");
    expect(stripStyle(text)).toBe("a b c");
  });

  it("leaves empty strings empty", () => {
    expect(createStyle(true).red("")).toBe("");
  });
});
