import { describe, expect, it } from "vitest";
import { InputError } from "../../errors.js";
import { renderPlanMarkdown, renderPlanText, toPlanJson } from "../../report/plan.js";
import { parsePlanJson } from "./plan-report.js";
import { HOME_1, NIXPKGS_1, NIXPKGS_2, fakePlan, lockText } from "./pr.test-support.js";

const before = lockText(NIXPKGS_1);
const after = lockText(NIXPKGS_2, {
  ...HOME_1,
  rev: "11707dc2f618dd54ca8739b309ec4fc024de578b",
  date: "2024-12-20T00:00:00Z",
});

const plans = {
  changed: fakePlan({
    before,
    after,
    hosts: [
      { name: "web", status: "changed", extraPackages: 5 },
      { name: "db", status: "unchanged" },
      { name: 'gpu ws "quoted"', status: "fixed" },
      { name: "no-sw", status: "changed", noSw: true },
    ],
  }),
  broken: fakePlan({
    before,
    after,
    hosts: [
      { name: "web", status: "broken" },
      { name: "old", status: "failing" },
    ],
  }),
  unchanged: fakePlan({ before, after: before, hosts: [] }),
};

describe("parsePlanJson", () => {
  it.each(Object.entries(plans))("reads back what toPlanJson wrote: %s", (_, plan) => {
    const text = JSON.stringify(toPlanJson(plan), null, 2);
    const read = parsePlanJson(text, "plan.json");
    // Renders exactly as the original: what `pr --report` posts equals what `pr` would.
    expect(renderPlanMarkdown(read)).toBe(renderPlanMarkdown(plan));
    expect(renderPlanMarkdown(read, { budget: 1500 })).toBe(renderPlanMarkdown(plan, { budget: 1500 }));
    expect(renderPlanText(read, { color: false })).toBe(renderPlanText(plan, { color: false }));
    expect(read.lockDiff).toEqual(plan.lockDiff);
    expect(read.outcome).toBe(plan.outcome);
    // Lossless but for rebuilt packages' store paths (the JSON keeps only their counts).
    const strip = (json: ReturnType<typeof toPlanJson>) =>
      JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === "rebuilt" ? [] : value))) as unknown;
    expect(strip(toPlanJson(read))).toEqual(strip(toPlanJson(plan)));
  });

  it.each([
    ["not JSON", "{", /plan\.json is not JSON/],
    [
      "another kind",
      JSON.stringify({ schemaVersion: 1, kind: "closure-diff" }),
      /not a ternix plan report \(kind "closure-diff"\)/,
    ],
    [
      "a newer schema",
      JSON.stringify({ schemaVersion: 2, kind: "plan" }),
      /schemaVersion 2; this Ternix reads version 1/,
    ],
    [
      "a cut report",
      JSON.stringify({ ...toPlanJson(plans.changed), hosts: [{ host: "web" }] }),
      /plan\.json: hosts\.0\.status/,
    ],
  ])("rejects %s", (_, text, message) => {
    expect(() => parsePlanJson(text, "plan.json")).toThrow(InputError);
    expect(() => parsePlanJson(text, "plan.json")).toThrow(message);
  });
});
