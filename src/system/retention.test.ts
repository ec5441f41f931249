import { describe, expect, it } from "vitest";
import type { Generation } from "./generations.js";
import { estimateReclaim, parseGcSummary, planRetention, type PathSize } from "./retention.js";

const DAY = 86_400_000;
const now = new Date(Date.UTC(2025, 5, 30));
const path = (n: number) => `/nix/store/${String(n).padStart(32, "a")}-nixos-system-${n}`;
/** Generation n was created n days before `now`... reversed: generation 10 is the newest (1 day old). */
const gen = (number: number, daysOld: number, storePath = path(number)): Generation => ({
  number,
  link: `/p/system-${number}-link`,
  storePath,
  createdAt: new Date(now.getTime() - daysOld * DAY),
});
const ten = Array.from({ length: 10 }, (_, i) => gen(i + 1, 11 - (i + 1)));

describe("planRetention", () => {
  it.each([
    ["keep 3", { keep: 3 }, {}, [1, 2, 3, 4, 5, 6, 7]],
    ["keep 0 deletes everything unprotected", { keep: 0 }, {}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ["keep 20 keeps all", { keep: 20 }, {}, []],
    ["keep-since 4 days", { keep: 0, keepSinceMs: 4 * DAY }, {}, [1, 2, 3, 4, 5, 6]],
    ["keep and keep-since are a union", { keep: 2, keepSinceMs: 4 * DAY }, {}, [1, 2, 3, 4, 5, 6]],
    ["current is kept", { keep: 1 }, { current: 4 }, [1, 2, 3, 5, 6, 7, 8, 9]],
    ["booted (by store path) is kept", { keep: 1 }, { bootedPath: path(2) }, [1, 3, 4, 5, 6, 7, 8, 9]],
    ["running (by store path) is kept", { keep: 1 }, { runningPath: path(6) }, [1, 2, 3, 4, 5, 7, 8, 9]],
    ["known good is kept", { keep: 0 }, { current: 10, knownGood: 3 }, [1, 2, 4, 5, 6, 7, 8, 9]],
    [
      "all protections at once",
      { keep: 0 },
      { current: 9, bootedPath: path(1), knownGood: 5, runningPath: path(9) },
      [2, 3, 4, 6, 7, 8, 10],
    ],
  ] as const)("%s", (_name, policy, protect, deleted) => {
    const plan = planRetention(ten, { ...policy, now }, protect);
    expect(plan.deleted.map((g) => g.number)).toEqual(deleted);
    expect(plan.kept.length + plan.deleted.length).toBe(10);
    expect(plan.decisions.map((d) => d.generation.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("keeps a generation whose specialisation the machine booted or runs", () => {
    const gaming = "/nix/store/ssssssssssssssssssssssssssssssss-nixos-system-gaming";
    const quiet = "/nix/store/qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq-nixos-system-quiet";
    const withSpecialisations = ten.map((g) =>
      g.number === 3
        ? { ...g, specialisations: [gaming] }
        : g.number === 5
          ? { ...g, specialisations: [quiet] }
          : g,
    );
    const plan = planRetention(
      withSpecialisations,
      { keep: 0, now },
      { bootedPath: gaming, runningPath: quiet },
    );
    expect(plan.deleted.map((g) => g.number)).toEqual([1, 2, 4, 6, 7, 8, 9, 10]);
    expect(plan.decisions.find((d) => d.generation.number === 3)?.keep).toEqual(["booted"]);
    expect(plan.decisions.find((d) => d.generation.number === 5)?.keep).toEqual(["running"]);
  });

  it("says why each generation stays", () => {
    const plan = planRetention(ten, { keep: 1, now }, { current: 10, knownGood: 10, bootedPath: path(10) });
    expect(plan.decisions.at(-1)?.keep).toEqual(["current", "booted", "known-good", "newest"]);
  });

  it("keeps every generation of the booted store path", () => {
    const gens = [gen(1, 5, path(1)), gen(2, 4, path(2)), gen(3, 3, path(1))];
    const plan = planRetention(gens, { keep: 0, now }, { bootedPath: path(1) });
    expect(plan.deleted.map((g) => g.number)).toEqual([2]);
  });

  it("rejects a negative keep", () => {
    expect(() => planRetention(ten, { keep: -1, now }, {})).toThrow();
  });
});

describe("estimateReclaim", () => {
  const infos = new Map<string, PathSize>(
    (
      [
        ["old", 100, ["glibc", "oldpkg"]],
        ["new", 100, ["glibc", "newpkg"]],
        ["glibc", 1000, []],
        ["oldpkg", 50, ["olddep"]],
        ["olddep", 7, []],
        ["newpkg", 60, []],
      ] as const
    ).map(([path, narSize, references]) => [path, { path, narSize, references }]),
  );

  it("counts only what no kept root reaches", () => {
    expect(estimateReclaim(["old"], ["new"], infos)).toEqual({ paths: 3, bytes: 157 });
  });

  it("frees nothing when everything is kept", () => {
    expect(estimateReclaim([], ["old", "new"], infos)).toEqual({ paths: 0, bytes: 0 });
  });

  it("a deleted root also kept elsewhere frees nothing", () => {
    expect(estimateReclaim(["old"], ["old"], infos)).toEqual({ paths: 0, bytes: 0 });
  });
});

describe("parseGcSummary", () => {
  it.each([
    ["2 store paths deleted, 0.05 MiB freed\n", { paths: 2, bytes: Math.round(0.05 * 1024 * 1024) }],
    ["finding garbage collector roots...\n1 store path deleted, 12.00 KiB freed", { paths: 1, bytes: 12288 }],
    ["0 store paths deleted, 0.00 MiB freed", { paths: 0, bytes: 0 }],
    ["something else", undefined],
  ] as const)("%j", (text, expected) => {
    expect(parseGcSummary(text)).toEqual(expected);
  });
});
