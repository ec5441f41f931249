import { describe, expect, it } from "vitest";
import { promoteJson, renderPromoteText, type PromoteReportModel } from "./promote.js";

const C = "1234567890abcdef1234567890abcdef12345678";
const P = "abcdefabcdef0000000000000000000000000000";
const NOW = Date.parse("2025-03-10T12:00:00Z");

const model: PromoteReportModel = {
  outcome: "not-yet",
  to: "deploy/stable",
  from: "main",
  remote: "origin",
  commit: C,
  previous: P,
  minAge: "1d",
  dryRun: false,
  hosts: [
    {
      host: "canary-1",
      state: "ok",
      commit: C,
      reportedAt: "2025-03-09T06:00:00.000Z",
      readyAt: undefined,
      description: "upgraded",
    },
    {
      host: "canary-2",
      state: "baking",
      commit: C,
      reportedAt: "2025-03-10T10:00:00.000Z",
      readyAt: "2025-03-11T10:00:00.000Z",
      description: "up to date",
    },
    {
      host: "evil\u001b[2J",
      state: "missing",
      commit: undefined,
      reportedAt: undefined,
      readyAt: undefined,
      description: undefined,
    },
    {
      host: "db",
      state: "error",
      commit: "9".repeat(40),
      reportedAt: "2025-03-10T11:30:00.000Z",
      readyAt: undefined,
      description: "building db failed",
    },
  ],
};

describe("renderPromoteText", () => {
  it("one line for the branch, one per host, names escaped", () => {
    expect(renderPromoteText(model, NOW)).toBe(
      [
        "deploy/stable ← main 1234567890ab: not yet; deploy/stable stays at abcdefabcdef",
        "  canary-1       ok          success on it 30h ago, longer than min-age 1d",
        "  canary-2       too recent  success on it 2h ago; min-age 1d is reached at 2025-03-11T10:00:00.000Z",
        "  evil\\u001b[2J  not yet     not reported yet",
        "  db             not yet     error on 999999999999 (a later commit) 30m ago: building db failed",
      ].join("\n"),
    );
  });
  it.each<[PromoteReportModel["outcome"], RegExp]>([
    ["promoted", /: promoted \(was abcdefabcdef\)$/m],
    ["would-promote", /: would promote \(dry run/],
    ["canary-failed", /: a canary failed on it/],
    ["not-fast-forward", /refused, not a fast-forward/],
    ["up-to-date", /already there/],
  ])("%s", (outcome, line) => expect(renderPromoteText({ ...model, outcome }, NOW)).toMatch(line));
});

describe("promoteJson", () => {
  it("is versioned and uses null for absent values", () => {
    const json = promoteJson({ ...model, previous: undefined });
    expect(json).toMatchObject({ schemaVersion: 1, kind: "promote", previous: null, outcome: "not-yet" });
    expect(json.hosts[2]).toMatchObject({ host: "evil\u001b[2J", state: "missing", reportedAt: null });
  });
});
