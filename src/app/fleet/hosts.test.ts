import { describe, expect, it } from "vitest";
import { ExitCode, UsageError } from "../../errors.js";
import { parseExcludePattern, selectHosts } from "./hosts.js";

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
