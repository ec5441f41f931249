import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDryRun } from "./dry-run.js";

const recorded = (v: string) => readFileSync(new URL(`./testdata/dry-run-${v}.txt`, import.meta.url), "utf8");

describe("parseDryRun", () => {
  it.each(["2.8", "2.24"])("reads Nix %s's recorded output", (v) => {
    const r = parseDryRun(recorded(v));
    expect(r.toBuild.map((p) => p.replace(/^.*?-/, ""))).toEqual(["linux-6.6.64.drv", "app-2.0.drv"]);
    expect(r.toFetch.map((p) => p.replace(/^.*?-/, ""))).toEqual(["libcached-1.0"]);
    expect(r.downloadBytes).toBe(0);
  });

  it.each([
    ["", 0, 0, 0],
    ["this derivation will be built:\n  /nix/store/a-x.drv\n", 1, 0, 0],
    [
      "these 2 paths will be fetched (1.50 MiB download, 6.00 MiB unpacked):\n  /nix/store/a-x\n  /nix/store/b-y\nwarning: something\n  /nix/store/c-z\n",
      0,
      2,
      1572864,
    ],
  ])("counts %j", (text, build, fetch, bytes) => {
    const r = parseDryRun(text);
    expect([r.toBuild.length, r.toFetch.length, r.downloadBytes]).toEqual([build, fetch, bytes]);
  });
});
