import { describe, expect, it } from "vitest";
import {
  checkReport,
  defaultCheckName,
  newlyFailedUnits,
  parseFailedUnits,
  type CheckResult,
} from "./checks.js";

describe("parseFailedUnits", () => {
  it.each([
    ["", []],
    ["\n", []],
    [
      "nginx.service      loaded failed failed Nginx Web Server\nsshd.service loaded failed failed SSH Daemon\n",
      ["nginx.service", "sshd.service"],
    ],
    ["● backup.timer loaded failed failed Backup\n", ["backup.timer"]],
    ["0 loaded units listed.\n", []],
    [
      "b.service loaded failed failed B\na.mount loaded failed failed A\nb.service loaded failed failed B\n",
      ["a.mount", "b.service"],
    ],
  ] as const)("%j", (text, expected) => {
    expect(parseFailedUnits(text)).toEqual(expected);
  });
});

describe("newlyFailedUnits", () => {
  it.each([
    [[], [], []],
    [["a.service"], ["a.service"], []],
    [["a.service"], [], []],
    [[], ["b.service", "a.service"], ["a.service", "b.service"]],
    [["a.service"], ["a.service", "c.service"], ["c.service"]],
  ] as const)("%j -> %j", (before, after, expected) => {
    expect(newlyFailedUnits(before, after)).toEqual(expected);
  });
});

describe("defaultCheckName", () => {
  it.each([
    [{ kind: "command", command: ["curl", "-f", "http://x"] } as const, "curl -f http://x"],
    [{ kind: "http", url: "http://localhost:8080/health" } as const, "http://localhost:8080/health"],
    [{ kind: "tcp", host: "127.0.0.1", port: 22 } as const, "tcp 127.0.0.1:22"],
    [{ kind: "tcp", host: "::1", port: 5432 } as const, "tcp [::1]:5432"],
  ])("%j", (check, expected) => {
    expect(defaultCheckName(check)).toBe(expected);
  });
});

describe("checkReport", () => {
  const r = (status: CheckResult["status"]): CheckResult => ({
    name: status,
    kind: "command",
    status,
    attempts: 1,
    detail: "",
    durationMs: 0,
  });
  it.each([
    [[], true],
    [[r("passed"), r("skipped")], true],
    [[r("passed"), r("failed")], false],
  ] as const)("%#", (results, passed) => {
    expect(checkReport(results).passed).toBe(passed);
  });
});
