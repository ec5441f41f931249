import { describe, expect, it } from "vitest";
import { fleetMap, type FleetEntry } from "./fleet-map.js";

/** Jobs that say when they start and end, fail for the named hosts, and take `ms` each. */
function jobs(fail: readonly string[] = [], ms = 5) {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const job = async (host: string): Promise<"ok" | "failed"> => {
    running++;
    peak = Math.max(peak, running);
    log.push(`start ${host}`);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    log.push(`end ${host}`);
    if (host === "throws") throw new Error("boom");
    return fail.includes(host) ? "failed" : "ok";
  };
  return { job, log, peak: () => peak };
}

const summary = (entries: FleetEntry<string>[]) =>
  entries.map(
    (e) => `${e.host}:${e.started ? ("result" in e ? e.result : "error") : `not-started(${e.reason})`}`,
  );

const isFailure = (r: string) => r === "failed";

describe("fleetMap", () => {
  it("runs every host, at most `parallel` at once, results in the hosts' order", async () => {
    const j = jobs();
    const hosts = ["a", "b", "c", "d", "e"];
    const entries = await fleetMap(hosts, j.job, { parallel: 2, maxFailures: 0, isFailure });
    expect(summary(entries)).toEqual(["a:ok", "b:ok", "c:ok", "d:ok", "e:ok"]);
    expect(j.peak()).toBe(2);
  });

  it("runs the canaries first and alone, then the rest", async () => {
    const j = jobs();
    await fleetMap(["a", "b", "c1", "c2"], j.job, {
      canaries: ["c1", "c2"],
      parallel: 4,
      maxFailures: 0,
      isFailure,
    });
    expect(j.log.slice(0, 4)).toEqual(["start c1", "end c1", "start c2", "end c2"]);
    expect(j.log.slice(4, 6).sort()).toEqual(["start a", "start b"]);
  });

  it("a failed canary: no other host starts, whatever max-failures says", async () => {
    const j = jobs(["c1"]);
    const entries = await fleetMap(["a", "c1", "c2", "b"], j.job, {
      canaries: ["c1", "c2"],
      parallel: 4,
      maxFailures: 5,
      isFailure,
    });
    expect(summary(entries)).toEqual([
      "a:not-started(canary-failed)",
      "c1:failed",
      "c2:not-started(canary-failed)",
      "b:not-started(canary-failed)",
    ]);
    expect(j.log).toEqual(["start c1", "end c1"]);
  });

  const threshold: [number, number, string[]][] = [
    // One at a time: the first failure stops the rest (max-failures 0).
    [
      1,
      0,
      [
        "a:ok",
        "b:failed",
        "c:not-started(max-failures)",
        "d:not-started(max-failures)",
        "e:not-started(max-failures)",
      ],
    ],
    // One failure tolerated: the second stops the rest.
    [1, 1, ["a:ok", "b:failed", "c:failed", "d:not-started(max-failures)", "e:not-started(max-failures)"]],
    // Running hosts finish: b and c start together; after b fails, d does not start, c still ends.
    [2, 0, ["a:ok", "b:failed", "c:failed", "d:not-started(max-failures)", "e:not-started(max-failures)"]],
  ];
  it.each(threshold)("parallel %i, max-failures %i", async (parallel, maxFailures, expected) => {
    const j = jobs(["b", "c"]);
    const entries = await fleetMap(["a", "b", "c", "d", "e"], j.job, { parallel, maxFailures, isFailure });
    expect(summary(entries)).toEqual(expected);
  });

  it("a job that throws is a failure with its error", async () => {
    const j = jobs();
    const entries = await fleetMap(["throws", "b"], j.job, { parallel: 1, maxFailures: 0, isFailure });
    expect(entries[0]).toMatchObject({ host: "throws", started: true, error: new Error("boom") });
    expect(entries[1]).toEqual({ host: "b", started: false, reason: "max-failures" });
  });

  it("after the signal aborts, no new host starts and running ones finish", async () => {
    const controller = new AbortController();
    const j = jobs([], 20);
    const started: string[] = [];
    const entries = await fleetMap(["a", "b", "c", "d"], j.job, {
      parallel: 2,
      maxFailures: 0,
      isFailure,
      signal: controller.signal,
      onStart: (h) => {
        started.push(h);
        if (h === "b") controller.abort();
      },
    });
    expect(started).toEqual(["a", "b"]);
    expect(summary(entries)).toEqual(["a:ok", "b:ok", "c:not-started(aborted)", "d:not-started(aborted)"]);
  });
});
