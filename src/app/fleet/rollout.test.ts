import { describe, expect, it } from "vitest";
import { defaultConfig, parseConfig, type Config } from "../../config/config.js";
import type { CommitState, CommitStatus } from "../../forge/types.js";
import { decide, judgeHost, planPromotion, selectHosts, type HostState } from "./rollout.js";

const C = "c".repeat(40);
const D = "d".repeat(40);
const NOW = Date.parse("2025-03-10T12:00:00Z");
const hoursAgo = (h: number) => new Date(NOW - h * 3600_000).toISOString();
const st = (host: string, state: CommitState, h: number, description = ""): CommitStatus => ({
  context: `ternix/host/${host}`,
  state,
  description,
  targetUrl: undefined,
  createdAt: hoursAgo(h),
});

describe("judgeHost", () => {
  it.each<[string, CommitStatus[], CommitStatus[], HostState, string | undefined]>([
    ["no report", [], [], "missing", undefined],
    ["another host's report does not count", [st("other", "success", 30)], [], "missing", undefined],
    ["success long enough ago", [st("web", "success", 30)], [], "ok", C],
    [
      "the first success counts for the bake time",
      [st("web", "success", 1), st("web", "success", 25)],
      [],
      "ok",
      C,
    ],
    ["success too recently", [st("web", "success", 2)], [], "baking", C],
    ["success on a descendant", [], [st("web", "success", 30)], "ok", D],
    [
      "failure on the commit beats a later success",
      [st("web", "failure", 40), st("web", "success", 30)],
      [],
      "failed",
      C,
    ],
    [
      "a failure on a descendant only is not the commit's",
      [st("web", "success", 30)],
      [st("web", "failure", 1)],
      "ok",
      C,
    ],
    ["could not build", [st("web", "error", 3, "build failed")], [], "error", C],
    ["pending (unchecked boot default)", [st("web", "pending", 3)], [], "pending", C],
  ])("%s", (_, onC, onD, state, commit) => {
    const v = judgeHost({
      host: "web",
      candidate: { commit: C, statuses: onC },
      descendants: [{ commit: D, statuses: onD }],
      nowMs: NOW,
      minAgeMs: 24 * 3600_000,
    });
    expect(v.state).toBe(state);
    expect(v.commit).toBe(commit);
  });

  it("baking says when the bake time is over", () => {
    const v = judgeHost({
      host: "web",
      candidate: { commit: C, statuses: [st("web", "success", 2)] },
      descendants: [],
      nowMs: NOW,
      minAgeMs: 24 * 3600_000,
    });
    expect(v.readyAt).toBe(new Date(NOW + 22 * 3600_000).toISOString());
  });
});

describe("decide", () => {
  const v = (state: HostState) => ({
    host: "h",
    state,
    commit: undefined,
    reportedAt: undefined,
    readyAt: undefined,
    description: undefined,
  });
  it.each<[HostState[], string]>([
    [["ok", "ok"], "ready"],
    [["ok", "baking"], "not-yet"],
    [["ok", "missing"], "not-yet"],
    [["error", "ok"], "not-yet"],
    [["missing", "failed"], "canary-failed"],
  ])("%j → %s", (states, decision) => expect(decide(states.map(v))).toBe(decision));
});

describe("planPromotion", () => {
  const config = (): Config => {
    const c = defaultConfig();
    c.rollout.waves = [
      { branch: "main", hosts: ["canary-1", "canary-2"], "min-age": "1d" },
      { branch: "deploy/stable", hosts: ["web", "db"], "min-age": "2d" },
      { branch: "deploy/late", hosts: [] },
    ];
    return c;
  };
  it("reads the previous wave: its branch, hosts and bake time", () => {
    expect(planPromotion(config(), "deploy/stable", {})).toEqual({
      from: "main",
      sourceBranch: "main",
      hosts: ["canary-1", "canary-2"],
      minAge: "1d",
      minAgeMs: 86_400_000,
    });
    expect(planPromotion(config(), "deploy/late", {})).toMatchObject({
      from: "deploy/stable",
      hosts: ["web", "db"],
    });
  });
  it("flags override; without waves --hosts is needed and main is the source", () => {
    expect(planPromotion(config(), "deploy/stable", { hosts: ["x"], minAge: "3h", from: C })).toMatchObject({
      from: C,
      sourceBranch: "main",
      hosts: ["x"],
      minAgeMs: 3 * 3600_000,
    });
    expect(planPromotion(defaultConfig(), "stable", { hosts: ["a", "a"] })).toMatchObject({
      from: "main",
      hosts: ["a"],
      minAgeMs: 0,
    });
    expect(() => planPromotion(defaultConfig(), "stable", {})).toThrow(/no hosts to wait for/);
    expect(() => planPromotion(config(), "main", {})).toThrow(/first wave/);
  });
  it("@tag selects the hosts tagged in [deploy.hosts]; an unknown tag is a usage error", () => {
    const tagged = parseConfig(
      [
        '[deploy.hosts."web 1"]',
        'tags = ["canary", "web"]',
        "[deploy.hosts.db]",
        'tags = ["canary"]',
        "[deploy.hosts.mail]",
      ].join("\n"),
      "ternix.toml",
    );
    expect(selectHosts(["@canary", "db", "mail"], tagged)).toEqual(["web 1", "db", "mail"]);
    expect(selectHosts(["@web"], tagged)).toEqual(["web 1"]);
    expect(() => selectHosts(["@canary"], defaultConfig())).toThrow(/no host has the tag "@canary"/);
  });
});
