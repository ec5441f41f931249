import { describe, expect, it } from "vitest";
import type { TargetProgress } from "../app/build-progress.js";
import {
  hostProgressDone,
  hostProgressIdle,
  renderBuildFinished,
  renderHostProgress,
} from "./build-progress.js";

const p = (over: Partial<TargetProgress>): TargetProgress => ({
  name: "web",
  built: 0,
  failed: 0,
  toBuild: 0,
  building: [],
  fetched: 0,
  toFetch: 0,
  fetchedBytes: 0,
  ...over,
});

describe("renderHostProgress", () => {
  it.each([
    [p({ toBuild: 12, built: 3 }), "web: built 3/12"],
    [
      p({ toBuild: 12, built: 3, failed: 1, building: ["linux-6.6.64", "mesa-24.2", "glibc-2.40"] }),
      "web: built 3/12, 1 failed, building linux-6.6.64 (+2)",
    ],
    [
      p({ toFetch: 120, fetched: 40, fetchedBytes: 85.3 * 1024 * 1024 }),
      "web: fetched 40/120 paths (85.3 MiB)",
    ],
    [p({ toFetch: 1 }), "web: fetched 0/1 path"],
    [p({}), "web: nothing to build"],
    [p({ name: "evil\u001b]0;x\u0007\nhost", toBuild: 1 }), "evil\\u001b]0;x\\u0007\\u000ahost: built 0/1"],
    [p({ toBuild: 1, building: ["a\nb"] }), "web: built 0/1, building a\\u000ab"],
  ])("%#: %s", (progress, expected) => {
    expect(renderHostProgress(progress)).toBe(expected);
  });

  it("a side and an aligned host column", () => {
    expect(renderHostProgress(p({ toBuild: 2 }), { side: "after", hostWidth: 6 })).toBe(
      "[after] web:    built 0/2",
    );
  });
});

describe("host states", () => {
  it.each([
    [p({}), true, true],
    [p({ toBuild: 2, built: 2 }), false, true],
    [p({ toBuild: 2, built: 1, failed: 1 }), false, true],
    [p({ toBuild: 2, built: 1, building: ["x"] }), false, false],
    [p({ toBuild: 2, built: 2, toFetch: 3, fetched: 2 }), false, false],
  ])("%#", (progress, idle, done) => {
    expect(hostProgressIdle(progress)).toBe(idle);
    expect(hostProgressDone(progress)).toBe(done);
  });
});

describe("renderBuildFinished", () => {
  const drvPath = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-linux-6.6.64.drv";
  it.each([
    [{ drvPath, ok: true, hosts: ["web", "db"] }, "built linux-6.6.64 (web, db)"],
    [
      { drvPath, ok: false, hosts: ["a", "b", "c", "d", "e"], side: "after" as const },
      "[after] failed linux-6.6.64 (a, b, c, +2)",
    ],
    [{ drvPath, ok: true, hosts: [] }, "built linux-6.6.64"],
    [{ drvPath, ok: true, hosts: ["x\ny"] }, "built linux-6.6.64 (x\\u000ay)"],
  ])("%#", (event, expected) => {
    expect(renderBuildFinished(event)).toBe(expected);
  });
});
