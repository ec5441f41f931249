import { describe, expect, it } from "vitest";
import {
  currentGenerationOf,
  generationNumberOf,
  kernelVersionOf,
  previousGeneration,
  sortGenerations,
  type Generation,
} from "./generations.js";

const gen = (number: number, storePath = `/nix/store/${"a".repeat(32)}-sys-${number}`): Generation => ({
  number,
  link: `/p/system-${number}-link`,
  storePath,
  createdAt: new Date(Date.UTC(2025, 0, number)),
});

describe("generationNumberOf", () => {
  it.each([
    ["system", "system-1-link", 1],
    ["system", "system-42-link", 42],
    ["system", "system-0-link", undefined],
    ["system", "system-01-link", undefined],
    ["system", "system-x-link", undefined],
    ["system", "system", undefined],
    ["system", "system-1-link.tmp", undefined],
    ["system", "other-1-link", undefined],
    ["system-profiles/web", "system-profiles/web-3-link", 3],
    ["my-profile", "my-profile-7-link", 7],
  ] as const)("%s / %s", (profile, entry, expected) => {
    expect(generationNumberOf(profile, entry)).toBe(expected);
  });
});

describe("currentGenerationOf", () => {
  it.each([
    ["system-12-link", 12],
    ["/nix/var/nix/profiles/system-12-link", 12],
    ["/nix/store/abc-foo", undefined],
  ] as const)("%s", (target, expected) => {
    expect(currentGenerationOf("system", target)).toBe(expected);
  });
});

describe("previousGeneration", () => {
  const all = [gen(1), gen(2), gen(5), gen(7)];
  it.each([
    [7, 5],
    [5, 2],
    [6, 5],
    [1, undefined],
  ] as const)("before %d is %s", (current, expected) => {
    expect(previousGeneration(all, current)?.number).toBe(expected);
  });

  it("sorts by number", () => {
    expect(sortGenerations([gen(10), gen(2), gen(1)]).map((g) => g.number)).toEqual([1, 2, 10]);
  });
});

describe("kernelVersionOf", () => {
  it.each([
    [`/nix/store/${"b".repeat(32)}-linux-6.6.63/bzImage`, "6.6.63"],
    [`/nix/store/${"b".repeat(32)}-linux-6.12.4`, "6.12.4"],
    [`/nix/store/${"b".repeat(32)}-kernel/bzImage`, undefined],
    ["/boot/vmlinuz", undefined],
    [undefined, undefined],
  ] as const)("%s", (target, expected) => {
    expect(kernelVersionOf(target)).toBe(expected);
  });
});
