import { describe, expect, it } from "vitest";
import { inRebootWindow, parseRebootWindow, rebootReason, type BootFiles } from "./reboot.js";

const files = (kernel: string, initrd: string, modules: string): BootFiles => ({
  kernel,
  initrd,
  "kernel-modules": modules,
});

describe("rebootReason", () => {
  it.each([
    ["same files", files("k1", "i1", "m1"), files("k1", "i1", "m1"), undefined],
    ["kernel", files("k1", "i1", "m1"), files("k2", "i1", "m1"), "kernel"],
    ["initrd only", files("k1", "i1", "m1"), files("k1", "i2", "m1"), "initrd"],
    ["modules only", files("k1", "i1", "m1"), files("k1", "i1", "m2"), "kernel-modules"],
    ["all", files("k1", "i1", "m1"), files("k2", "i2", "m2"), "kernel, initrd, kernel-modules"],
  ])("%s", (_name, booted, next, expected) => {
    const reason = rebootReason(booted, next);
    if (expected === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(expected);
  });
  it("an unknown booted system needs no reboot", () => {
    expect(rebootReason(undefined, files("k", "i", "m"))).toBeUndefined();
  });
});

describe("reboot window", () => {
  const at = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  it.each([
    ["01:00-05:00", "00:59", false],
    ["01:00-05:00", "01:00", true],
    ["01:00-05:00", "03:30", true],
    ["01:00-05:00", "05:00", true],
    ["01:00-05:00", "05:01", false],
    ["22:00-04:00", "23:15", true],
    ["22:00-04:00", "02:00", true],
    ["22:00-04:00", "12:00", false],
    ["00:00-23:59", "12:00", true],
  ])("%s at %s: %s", (window, time, inside) => {
    expect(inRebootWindow(parseRebootWindow(window), at(time))).toBe(inside);
  });
  it("no window is any time", () => {
    expect(inRebootWindow(undefined, 0)).toBe(true);
  });
  it.each(["1:00-5:00", "24:00-01:00", "01:60-02:00", "01:00", "night"])("rejects %j", (text) => {
    expect(() => parseRebootWindow(text)).toThrow(/invalid reboot window/);
  });
});
