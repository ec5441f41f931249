import { describe, expect, it } from "vitest";
import { ageInDays, calendarDaysBetween, formatDate, formatDays } from "./time.js";

const at = (iso: string) => new Date(iso);

describe("calendarDaysBetween", () => {
  it.each([
    ["2024-12-01T08:10:00Z", "2024-12-15T20:30:00Z", 14],
    // Less than 24 hours apart but on different dates: one day, as the dates on screen say.
    ["2024-12-01T23:00:00Z", "2024-12-02T01:00:00Z", 1],
    ["2024-12-01T01:00:00Z", "2024-12-01T23:00:00Z", 0],
    ["2024-12-15T20:30:00Z", "2024-12-01T08:10:00Z", -14],
    ["2024-02-28T12:00:00Z", "2024-03-01T12:00:00Z", 2],
    ["2024-12-31T12:00:00Z", "2025-01-01T00:00:00Z", 1],
  ])("%s → %s: %i", (from, to, days) => {
    expect(calendarDaysBetween(at(from), at(to))).toBe(days);
  });
});

describe("ageInDays", () => {
  it.each([
    ["2024-12-01T08:10:00Z", "2024-12-01T20:00:00Z", 0],
    ["2024-12-01T08:10:00Z", "2024-12-02T08:09:59Z", 0],
    ["2024-12-01T08:10:00Z", "2024-12-02T08:10:00Z", 1],
    ["2024-12-01T08:10:00Z", "2025-01-12T09:00:00Z", 42],
  ])("%s at %s: %i", (since, now, days) => {
    expect(ageInDays(at(since), at(now))).toBe(days);
  });
});

describe("formatting", () => {
  it("prints UTC dates", () => {
    expect(formatDate(at("2024-12-01T23:59:59-05:00"))).toBe("2024-12-02");
  });
  it.each([
    [1, "1 day"],
    [14, "14 days"],
    [0, "0 days"],
    [-1, "-1 day"],
    [-3, "-3 days"],
  ])("%i → %s", (n, text) => {
    expect(formatDays(n)).toBe(text);
  });
});
