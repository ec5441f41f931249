import { describe, expect, it } from "vitest";
import { createStyle, printable, printableLines, printableModel, stripStyle, terminalSafe } from "./style.js";

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

describe("escaping control characters from outside", () => {
  const title = "\u001b]0;owned\u0007";
  it.each([
    ["plain", "nixpkgs", "nixpkgs", "nixpkgs", "nixpkgs"],
    [
      "a terminal title",
      `x${title}`,
      "x\\u001b]0;owned\\u0007",
      "x\\u001b]0;owned\\u0007",
      "x\\u001b]0;owned\\u0007",
    ],
    [
      "clear screen",
      "\u001b[2J\u001b[H",
      "\\u001b[2J\\u001b[H",
      "\\u001b[2J\\u001b[H",
      "\\u001b[2J\\u001b[H",
    ],
    ["a colour code", "\u001b[31mred", "\\u001b[31mred", "\\u001b[31mred", "\u001b[31mred"],
    ["line breaks and tabs", "a\nb\tc\rd", "a\\u000ab\\u0009c\\u000dd", "a\nb\tc\\u000dd", "a\nb\tc\\u000dd"],
    ["DEL and C1 (CSI)", "a\u007fb\u009bc", "a\\u007fb\\u009bc", "a\\u007fb\\u009bc", "a\\u007fb\\u009bc"],
    ["non-ASCII text", "Zürich ✓", "Zürich ✓", "Zürich ✓", "Zürich ✓"],
  ])("%s", (_name, text, oneLine, lines, report) => {
    expect(printable(text)).toBe(oneLine);
    expect(printableLines(text)).toBe(lines);
    expect(terminalSafe(text)).toBe(report);
  });

  it("escaped text stays valid inside a JSON string", () => {
    expect(JSON.parse(`"${terminalSafe("a\u009bb")}"`)).toBe("a\u009bb");
  });

  it("printableModel escapes every string of a model, keeping dates and __proto__ keys", () => {
    const date = new Date(0);
    const model = JSON.parse('{"__proto__": {"id": "a\\u001bb"}, "list": ["\\u0007"], "n": 1}') as Record<
      string,
      unknown
    >;
    model.date = date;
    const out = printableModel(model);
    expect(Object.keys(out)).toEqual(["__proto__", "list", "n", "date"]);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toEqual({ id: "a\\u001bb" });
    expect(out.list).toEqual(["\\u0007"]);
    expect(out.date).toBe(date);
    expect(model.list).toEqual(["\u0007"]);
  });
});
