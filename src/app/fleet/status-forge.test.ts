import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../config/config.js";
import type { CommitStatus } from "../../forge/types.js";
import { renderForgeStatusText } from "../../report/status-forge.js";
import { hostBranches, hostRow } from "./status-forge.js";

const NOW = Date.parse("2025-03-10T12:00:00Z");
const at = (h: number) => new Date(NOW - h * 3600_000).toISOString();
const s = (host: string, state: CommitStatus["state"], h: number): CommitStatus => ({
  context: `ternix/host/${host}`,
  state,
  description: `${state} ${h}h`,
  targetUrl: undefined,
  createdAt: at(h),
});
const commits = [
  { commit: "3".repeat(40), statuses: [s("a", "success", 1)] },
  { commit: "2".repeat(40), statuses: [s("b", "failure", 30), s("b", "success", 20), s("a", "success", 5)] },
  { commit: "1".repeat(40), statuses: [s("c", "success", 100)] },
];

describe("hostRow", () => {
  it.each<[string, string | undefined, string | undefined, number | undefined, boolean]>([
    ["a", "3".repeat(40), "success", 0, false],
    ["b", "2".repeat(40), "success", 1, false],
    ["c", "1".repeat(40), "success", 2, true],
    ["d", undefined, undefined, undefined, true],
  ])("%s: newest reported commit, result, behind, stale", (host, commit, result, behind, stale) => {
    const row = hostRow(host, "main", commits, NOW, 48 * 3600_000);
    expect(row).toMatchObject({ host, branch: "main", commit, result, behind, stale });
  });
});

describe("hostBranches", () => {
  it("every wave's hosts, or the named ones (outside the waves: --branch, default main)", () => {
    const config = defaultConfig();
    config.rollout.waves = [
      { branch: "main", hosts: ["c1"] },
      { branch: "deploy/stable", hosts: ["web", "db"] },
    ];
    expect(hostBranches(config, undefined, undefined)).toEqual([
      { host: "c1", branch: "main" },
      { host: "web", branch: "deploy/stable" },
      { host: "db", branch: "deploy/stable" },
    ]);
    expect(hostBranches(config, ["db", "lab"], "testing")).toEqual([
      { host: "db", branch: "deploy/stable" },
      { host: "lab", branch: "testing" },
    ]);
    expect(() => hostBranches(defaultConfig(), undefined, undefined)).toThrow(/no hosts to show/);
  });
});

describe("renderForgeStatusText", () => {
  it("a table; a host without a report is stale", () => {
    const text = renderForgeStatusText({
      heads: [{ branch: "main", commit: "3".repeat(40) }],
      staleAfter: "2d",
      depth: 30,
      hosts: ["a", "d"].map((h) => hostRow(h, "main", commits, NOW, 48 * 3600_000)),
    });
    expect(text.split("\n")).toEqual([
      "From the forge's commit statuses (main at 333333333333):",
      "HOST  BRANCH  COMMIT        RESULT     BEHIND  LAST REPORT",
      `a     main    333333333333  success    0       ${at(1)}`,
      `d     main    -             no report  >29     ${"-".padEnd(24)}  stale (no report for 2d)`,
    ]);
  });
});
