import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evalErrorLine, parseBuildFailures, substitutionFailure } from "./messages.js";

const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");

const FIXTURE_THROW =
  "ternix fixture: host 'bad' is set to fail from nixpkgs revision 24.11-a (this is 24.11-a)";

describe("evalErrorLine", () => {
  it.each(["2.8", "2.24"])("%s: the thrown message of an evaluation error", (version) => {
    expect(evalErrorLine(testdata(`eval-throw-${version}.stderr`))).toBe(FIXTURE_THROW);
  });

  it.each(["2.8", "2.24"])("%s: the failed builder of a build", (version) => {
    expect(evalErrorLine(testdata(`build-failure-${version}.stderr`))).toMatch(
      /^builder for '\/nix\/store\/[a-z0-9]{32}-ternix-rec-broken-pkg-1\.[01]\.drv' failed with exit code 1;$/,
    );
  });

  it("a bare `error:` with no nested cause: the first line that is not part of the trace", () => {
    expect(evalErrorLine("error:\n       … while evaluating x\n       something broke\n")).toBe(
      "something broke",
    );
  });

  it("no `error:` line: the last line", () => {
    expect(evalErrorLine("warning: a\nKilled\n")).toBe("Killed");
    expect(evalErrorLine("")).toBe("evaluation failed");
  });
});

describe("parseBuildFailures", () => {
  it.each(["2.8", "2.24"])("%s: the failed derivation and its log lines", (version) => {
    const failures = parseBuildFailures(testdata(`build-failure-${version}.stderr`));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.drvPath).toMatch(/-ternix-rec-broken-pkg-1\.[01]\.drv$/);
    expect(failures[0]?.log).toEqual(["error: ternix fixture: broken-pkg is marked broken"]);
  });

  it("the `Cannot build` form of later Nix (as quoted in NixOS/nix#13509)", () => {
    const stderr = [
      "error: Cannot build '/nix/store/pmjy7fp4v6jjb1v06fasrzgs4sg2rvam-test.drv'.",
      "       Reason: builder failed with exit code 1.",
      "       Output paths:",
      "         /nix/store/3q3hxld9r4i7x4xwp5m8hn7kbln76c2r-test",
      "       Last 1 log lines:",
      "       > hi",
      "       For full logs, run:",
      "         nix log /nix/store/pmjy7fp4v6jjb1v06fasrzgs4sg2rvam-test.drv",
    ].join("\n");
    expect(parseBuildFailures(stderr)).toEqual([
      {
        drvPath: "/nix/store/pmjy7fp4v6jjb1v06fasrzgs4sg2rvam-test.drv",
        header: "error: Cannot build '/nix/store/pmjy7fp4v6jjb1v06fasrzgs4sg2rvam-test.drv'.",
        log: ["hi"],
      },
    ]);
  });
});

describe("substitutionFailure", () => {
  it.each(["2.8", "2.24"])("%s: a substitute refused for its signature names the cache", (version) => {
    expect(substitutionFailure(testdata(`realise-untrusted-${version}.stderr`))).toBe(
      "the substitute in file:///tmp/rec/cache is not signed by any key in trusted-public-keys",
    );
  });

  it.each(["2.8", "2.24"])("%s: a path no cache has", (version) => {
    expect(substitutionFailure(testdata(`realise-missing-${version}.stderr`))).toBe(
      "no binary cache this host uses has it",
    );
  });

  it("anything else: the first error line", () => {
    expect(substitutionFailure("error: cannot open connection\nerror: x\n")).toBe("cannot open connection");
    expect(substitutionFailure("")).toBe("nix-store --realise failed");
  });
});
