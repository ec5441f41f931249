import { describe, expect, it } from "vitest";
import type { GcPlan } from "../app/machine/gc.js";
import type { GenerationInfo, GenerationsResult } from "../app/machine/generations.js";
import {
  formatDateTime,
  renderCheckLine,
  renderGcPlanText,
  renderGenerationsText,
  toGenerationsJson,
} from "./system.js";
import { stripStyle } from "./style.js";

const sp = (n: number) => `/nix/store/${String(n).padStart(32, "c")}-nixos-system-web-24.11`;
const at = (day: number) => new Date(Date.UTC(2025, 0, day, 9, 5));
const gen = (number: number, extra: Partial<GenerationInfo> = {}): GenerationInfo => ({
  number,
  createdAt: at(number),
  storePath: sp(number),
  current: false,
  booted: false,
  knownGood: false,
  newestKnownGood: false,
  status: undefined,
  checks: undefined,
  nixosVersion: "24.11.20250101.abcdef0",
  kernelVersion: "6.6.63",
  closureSize: 1024 * 1024 * 3,
  ...extra,
});

const result: GenerationsResult = {
  profile: "/nix/var/nix/profiles/system",
  current: 3,
  currentSystem: sp(3),
  bootedSystem: sp(1),
  generations: [
    gen(1, { booted: true, status: "known-good", knownGood: true }),
    gen(2, {
      status: "rolled-back",
      checks: {
        passed: false,
        results: [
          { name: "web", kind: "http", status: "failed", attempts: 3, detail: "HTTP 502", durationMs: 6000 },
        ],
      },
    }),
    gen(10, {
      current: true,
      status: "known-good",
      knownGood: true,
      newestKnownGood: true,
      closureSize: undefined,
      kernelVersion: undefined,
    }),
  ],
  diffs: undefined,
};

describe("renderGenerationsText", () => {
  it("one row per generation with markers", () => {
    expect(renderGenerationsText(result, { utc: true })).toBe(
      [
        "GEN  DATE              NIXOS VERSION           KERNEL  CLOSURE  MARKERS",
        "  1  2025-01-01 09:05  24.11.20250101.abcdef0  6.6.63   3.0MiB  booted, known good",
        "  2  2025-01-02 09:05  24.11.20250101.abcdef0  6.6.63   3.0MiB  checks failed, rolled back",
        " 10  2025-01-10 09:05  24.11.20250101.abcdef0  -             -  current, newest known good",
        "",
      ].join("\n"),
    );
  });

  it("colour changes nothing but the escapes", () => {
    expect(stripStyle(renderGenerationsText(result, { utc: true, color: true }))).toBe(
      renderGenerationsText(result, { utc: true }),
    );
  });

  it("says when there are none", () => {
    expect(renderGenerationsText({ ...result, generations: [] })).toBe(
      "/nix/var/nix/profiles/system has no generations.\n",
    );
  });
});

describe("toGenerationsJson", () => {
  it("is versioned and uses null for unknowns", () => {
    const json = toGenerationsJson(result);
    expect(json).toMatchObject({ schemaVersion: 1, kind: "generations", current: 3, bootedSystem: sp(1) });
    expect(json.generations[2]).toEqual({
      number: 10,
      createdAt: "2025-01-10T09:05:00.000Z",
      storePath: sp(10),
      current: true,
      booted: false,
      knownGood: true,
      newestKnownGood: true,
      status: "known-good",
      nixosVersion: "24.11.20250101.abcdef0",
      kernelVersion: null,
      closureSize: null,
      checks: null,
    });
    expect(json.generations[1]?.checks?.results[0]).toMatchObject({
      name: "web",
      status: "failed",
      attempts: 3,
    });
    expect("diffs" in json).toBe(false);
  });
});

describe("renderCheckLine", () => {
  it.each([
    [{ status: "passed", attempts: 1, detail: "exit 0" }, "ok   c: exit 0"],
    [{ status: "skipped", attempts: 0, detail: "cannot ask systemd" }, "skip c: cannot ask systemd"],
    [
      { status: "failed", attempts: 3, detail: "HTTP 502 Bad Gateway" },
      "FAIL c: HTTP 502 Bad Gateway (3 attempts)",
    ],
  ] as const)("%j", (r, expected) => {
    expect(renderCheckLine({ name: "c", kind: "http", durationMs: 0, ...r })).toBe(expected);
  });
});

describe("renderGcPlanText", () => {
  const g = (n: number) => ({ number: n, link: `/p/system-${n}-link`, storePath: sp(n), createdAt: at(n) });
  const plan: GcPlan = {
    profile: "/nix/var/nix/profiles/system",
    current: 4,
    runningSystem: sp(4),
    bootedSystem: sp(1),
    knownGood: 3,
    decisions: [
      { generation: g(1), keep: ["booted"] },
      { generation: g(2), keep: [] },
      { generation: g(3), keep: ["known-good", "recent"] },
      { generation: g(4), keep: ["current", "running", "newest"] },
    ],
    deleted: [g(2)],
    estimate: { paths: 12, bytes: 5 * 1024 * 1024 },
  };

  it("lists keep/delete with reasons and the estimate", () => {
    const text = renderGcPlanText(plan, { dryRun: true, utc: true });
    expect(text).toContain("  keep    1  2025-01-01 09:05  booted\n");
    expect(text).toContain("  delete  2  2025-01-02 09:05\n");
    expect(text).toContain("  keep    3  2025-01-03 09:05  newest known good, within --keep-since\n");
    expect(text).toContain("  keep    4  2025-01-04 09:05  current, running, within --keep\n");
    expect(text).toContain(
      "Would delete 1 generation (2); collecting garbage then frees about 5.0MiB (12 store paths).",
    );
    expect(text).toContain("Dry run: nothing was deleted.");
    expect(renderGcPlanText(plan, { dryRun: false })).toContain("Deleting 1 generation (2)");
  });

  it("nothing to delete", () => {
    expect(renderGcPlanText({ ...plan, deleted: [] }, { dryRun: false })).toContain(
      "No generation to delete.",
    );
  });
});

describe("formatDateTime", () => {
  it("pads", () =>
    expect(formatDateTime(new Date(Date.UTC(2025, 2, 4, 1, 2)), true)).toBe("2025-03-04 01:02"));
});
