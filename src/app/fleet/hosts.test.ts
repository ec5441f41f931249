import { describe, expect, it } from "vitest";
import { ExitCode, UsageError } from "../../errors.js";
import { failedDerivations, parseExcludePattern, selectHosts } from "./hosts.js";

const all = ["web", "db", "build-minimal", "-rf"];

describe("selectHosts", () => {
  it.each([
    [{}, { selected: all, skipped: [] }],
    [{ exclude: "-minimal$" }, { selected: ["web", "db", "-rf"], skipped: ["build-minimal"] }],
    [
      { include: ["-rf", "build-minimal"], exclude: "-minimal$" },
      { selected: ["-rf", "build-minimal"], skipped: [] },
    ],
  ])("%j", (selection, expected) => {
    expect(selectHosts(all, selection)).toEqual(expected);
  });

  it("an unknown host name is a usage error (exit 64) listing the hosts", () => {
    const error = (() => {
      try {
        selectHosts(all, { include: ["nosuch"] });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect((error as UsageError).message).toBe('unknown host: "nosuch"');
    expect((error as UsageError).hint).toBe(
      'Hosts in nixosConfigurations: "web", "db", "build-minimal", "-rf".',
    );
  });
});

describe("parseExcludePattern", () => {
  it("accepts a regular expression", () => {
    expect(parseExcludePattern("^(db|gpu)").test("gpu-ws")).toBe(true);
  });

  it.each(["(", "[a-", "*x"])("%s is a usage error with a hint", (source) => {
    const error = (() => {
      try {
        parseExcludePattern(source);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(
      new RegExp(
        `^the exclude pattern ${JSON.stringify(source).replace(/[[(*]/g, "\\$&")} is not a valid regular expression`,
      ),
    );
    expect((error as UsageError).hint).toContain("--exclude");
  });
});

describe("failedDerivations", () => {
  const drv = (outputs: Record<string, string>, inputDrvs: Record<string, string[]> = {}) => ({
    outputs,
    inputDrvs,
    inputSrcs: [],
    env: {},
    args: [],
    builder: "/bin/sh",
    fixedOutput: false,
  });
  // Two hosts: a's toplevel fails itself; b's toplevel is blocked by its failing library.
  const closure = new Map([
    ["/s/a-top.drv", drv({ out: "/s/a-top" }, { "/s/ok.drv": ["out"] })],
    ["/s/b-top.drv", drv({ out: "/s/b-top" }, { "/s/lib.drv": ["out"], "/s/ok.drv": ["out"] })],
    ["/s/lib.drv", drv({ out: "/s/lib", dev: "/s/lib-dev" }, { "/s/ok.drv": ["out"] })],
    ["/s/ok.drv", drv({ out: "/s/ok" })],
  ]);
  it.each([
    ["only the derivations that failed themselves", ["/s/ok"], ["/s/a-top.drv", "/s/lib.drv"]],
    ["nothing when everything exists", ["/s/ok", "/s/lib", "/s/lib-dev", "/s/a-top", "/s/b-top"], []],
    [
      "a missing output counts; one nobody uses blocks nothing",
      ["/s/ok", "/s/lib", "/s/a-top"],
      ["/s/b-top.drv", "/s/lib.drv"],
    ],
    ["a dependency that failed blocks the ones above it", [], ["/s/ok.drv"]],
  ])("%s", (_name, present, expected) => {
    expect(failedDerivations(closure, (p) => present.includes(p))).toEqual(expected);
  });
});
