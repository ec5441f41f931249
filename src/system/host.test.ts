import { describe, expect, it } from "vitest";
import { checkHostName, systemBuildLookupExpr, toplevelLookupExpr } from "./host.js";

describe("checkHostName", () => {
  it.each(["web", "web-01", "db.example", "x_y", "a+b@c", "0"])("accepts %j", (name) => {
    expect(checkHostName(name)).toEqual({ ok: true, name });
  });

  it.each([
    ["", "empty"],
    ["-rf", 'starts with "-"'],
    [".hidden", 'starts with "."'],
    ["a/b", "characters other than"],
    ["a b", "characters other than"],
    ['we"b', "characters other than"],
    ["${x}", "characters other than"],
    ["a\nb", "characters other than"],
    ["x".repeat(254), "longer than 253"],
  ])("rejects %j (%s)", (name, reason) => {
    const check = checkHostName(name);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toContain(reason);
  });
});

describe("toplevelLookupExpr", () => {
  it("quotes the name and never splices it into an attribute path", () => {
    const expr = toplevelLookupExpr("web");
    expect(expr).toContain('builtins.hasAttr "web" configs');
    expect(expr).toContain('(builtins.getAttr "web" configs).config.system.build.toplevel.drvPath');
    expect(expr).not.toContain("configs.web");
  });
});

describe("systemBuildLookupExpr", () => {
  it.each(["toplevel", "vm", "vmWithBootLoader"] as const)("quotes the host and the attribute %s", (attr) => {
    const expr = systemBuildLookupExpr('a"b${x}', attr);
    expect(expr).toContain('builtins.hasAttr "a\\"b\\${x}" configs');
    expect(expr).toContain(`builtins.hasAttr "${attr}" build`);
    // outPath under its own name would turn the whole set into that string in JSON.
    expect(expr).toContain("outputPath = d.outPath");
    expect(expr).not.toMatch(/\.system\.build\.(vm|toplevel)/);
  });
});
