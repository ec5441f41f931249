import { describe, expect, it } from "vitest";
import type { HostPlan, PlanResult } from "../app/fleet/plan-model.js";
import { diffClosures } from "../closure/diff.js";
import { fakeClosure } from "../closure/testing.js";
import type { LockDiff } from "../lock/diff.js";
import {
  DEFAULT_MARKDOWN_BUDGET,
  fenced,
  formatBytes,
  renderPlanMarkdown,
  renderPlanText,
  SUMMARY_END,
  toPlanJson,
} from "./plan.js";
import { stripStyle } from "./style.js";

const emptyLockDiff = (changed: boolean): LockDiff => ({
  changed,
  inputs: [],
  counts: { added: 0, removed: 0, changed: changed ? 1 : 0, unchanged: 0 },
});

function host(name: string, libs: number): HostPlan {
  const before = fakeClosure({
    root: `nixos-system-${name}-24.11.20241201.aaaaaaa`,
    packages: [
      { name: "linux-6.6.63", selected: false },
      "curl-8.11.0",
      ...Array.from({ length: libs }, (_, i) => `lib${i}-1.0`),
    ],
  });
  const after = fakeClosure({
    root: `nixos-system-${name}-24.11.20241215.bbbbbbb`,
    packages: [
      { name: "linux-6.6.64", selected: false },
      "curl-8.10.1",
      ...Array.from({ length: libs }, (_, i) => `lib${i}-1.1`),
    ],
  });
  return {
    host: name,
    status: "changed",
    before: { host: name, ok: true, drvPath: "/nix/store/x.drv", toplevel: before.root },
    after: { host: name, ok: true, drvPath: "/nix/store/y.drv", toplevel: after.root },
    diff: diffClosures(before, after),
  };
}

function result(hosts: HostPlan[], outcome: PlanResult["outcome"] = "changed"): PlanResult {
  return {
    outcome,
    flakeDir: "/fleet",
    mode: "update",
    basis: "build",
    inputs: [],
    lockDiff: emptyLockDiff(outcome !== "lock-unchanged"),
    hosts,
    skippedHosts: ["build-minimal"],
    lockState: "updated",
    timings: {},
  };
}

describe("renderPlanMarkdown budget", () => {
  it("keeps everything when it fits", () => {
    const md = renderPlanMarkdown(result([host("web", 5), host("db", 5)]));
    expect(md).toContain(SUMMARY_END);
    expect(md).toContain("lib4");
    expect(md).not.toContain("shortened");
  });

  it("stays under the budget with many changed hosts, keeps the summary, and never cuts a line", () => {
    const hosts = Array.from({ length: 60 }, (_, i) => host(`host-${String(i).padStart(2, "0")}`, 120));
    const full = renderPlanMarkdown(result(hosts), { budget: 10_000_000 });
    expect(full.length).toBeGreaterThan(DEFAULT_MARKDOWN_BUDGET);
    const md = renderPlanMarkdown(result(hosts));
    expect(md.length).toBeLessThanOrEqual(DEFAULT_MARKDOWN_BUDGET);
    const summary = full.slice(0, full.indexOf(SUMMARY_END));
    expect(md.startsWith(summary)).toBe(true);
    for (const h of hosts) expect(summary).toContain(`| ${h.host} |`);
    expect(md).toMatch(/shortened to fit|left out to fit/);
    // Every line of the shortened report is a whole line of some rendering (nothing cut mid-line).
    const fullLines = new Set(full.split("\n"));
    const noteLines = md.split("\n").filter((l) => !fullLines.has(l));
    expect(
      noteLines.every((l) => /size limit|Package list left out|^$|^- ⚠|<details>|<\/details>/.test(l)),
    ).toBe(true);
    // <details> stay balanced.
    expect(md.match(/<details/g)?.length).toBe(md.match(/<\/details>/g)?.length);
  });

  it("drops whole sections when shortening is not enough", () => {
    const hosts = Array.from({ length: 30 }, (_, i) => host(`h${i}`, 20));
    const md = renderPlanMarkdown(result(hosts), { budget: 9_000 });
    expect(md.length).toBeLessThanOrEqual(9_000);
    expect(md).toMatch(/host sections? left out to fit/);
    expect(md).toContain(SUMMARY_END);
  });

  it("escapes host names in HTML summaries and table cells", () => {
    const h = host('web "<prod>" | 1', 1);
    const md = renderPlanMarkdown(result([h]));
    expect(md).toContain("<b>web &quot;&lt;prod&gt;&quot; | 1</b>");
    expect(md).toContain('| web "&lt;prod&gt;" \\| 1 | changed |');
    // Outside code spans (store names there cannot hold these characters), nothing is raw HTML.
    expect(md.replace(/`[^`]*`/g, "")).not.toContain("<prod>");
  });
});

describe("other renderings", () => {
  it("text lists unchanged hosts in the summary only", () => {
    const unchanged: HostPlan = { ...host("same", 1), status: "unchanged", diff: undefined };
    const text = stripStyle(renderPlanText(result([host("web", 1), unchanged]), { color: false }));
    expect(text).toMatch(/^same +unchanged/m);
    expect(text).not.toContain("── same");
    expect(text).toContain("── web (changed) ──");
  });

  it("json carries schemaVersion, the exit code and the closure diffs", () => {
    const json = toPlanJson(result([host("web", 1)]));
    expect(json).toMatchObject({ schemaVersion: 1, kind: "plan", outcome: "changed", exitCode: 0 });
    expect(json.hosts[0]?.diff).toMatchObject({ kind: "closure-diff" });
    expect(toPlanJson(result([], "host-broken")).exitCode).toBe(4);
  });

  it("fences log tails safely and formats sizes", () => {
    expect(fenced("a ``` b")).toBe("````\na ``` b\n````");
    expect(formatBytes(1536, true)).toBe("+1.5 KiB");
    expect(formatBytes(-10)).toBe("-10 B");
  });
});
