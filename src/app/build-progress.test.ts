import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseNixLogLine, type NixLogEvent } from "../nix/internal-log.js";
import {
  createBuildTracker,
  derivationName,
  reportBuildProgress,
  type BuildFinished,
  type BuildTarget,
} from "./build-progress.js";
import type { AppEvent } from "./effects.js";

/** Recorded builds (src/nix/testdata/README.md): top ← dep + cached (fetched); uses-fails ← fails ← dep. */
const RECORDINGS = ["2.8", "2.24", "local-2.8", "local-2.24"] as const;

function recording(version: string): { events: NixLogEvent[]; path: (name: string) => string } {
  const text = readFileSync(
    new URL(`../nix/testdata/build-internal-json-${version}.stderr`, import.meta.url),
    "utf8",
  );
  const events = text
    .split("\n")
    .filter(Boolean)
    .flatMap((l) => parseNixLogLine(l) ?? []);
  const path = (name: string) => {
    const found = new RegExp(`/nix/store/[a-z0-9]{32}-${name.replace(/\./g, "\\.")}`).exec(text)?.[0];
    if (found === undefined) throw new Error(`${name} not in the recording`);
    return found;
  };
  return { events, path };
}

function run(version: string, targets: (path: (n: string) => string) => BuildTarget[] | { whole: string }) {
  const { events, path } = recording(version);
  const tracker = createBuildTracker(targets(path));
  const finished: BuildFinished[] = [];
  let changes = 0;
  for (const e of events) {
    const r = tracker.feed(e);
    finished.push(...r.finished);
    if (r.changed) changes += 1;
  }
  return { tracker, finished, changes, path };
}

const hosts = (path: (n: string) => string): BuildTarget[] => [
  {
    name: "web",
    toBuild: [path("ternix-rec-dep-1.0.drv"), path("ternix-rec-top-1.0.drv")],
    toFetch: [path("ternix-rec-cached-1.0")],
  },
  {
    name: "db",
    toBuild: [
      path("ternix-rec-dep-1.0.drv"),
      path("ternix-rec-fails-1.0.drv"),
      // Never built (its dependency fails), so not named in every recording.
      "/nix/store/00000000000000000000000000000000-ternix-rec-uses-fails-1.0.drv",
    ],
    toFetch: [],
  },
  { name: "idle", toBuild: [], toFetch: [] },
];

describe("createBuildTracker", () => {
  it.each(RECORDINGS)("%s: each host's share of one batched build", (version) => {
    const { tracker, finished } = run(version, hosts);
    expect(tracker.snapshot()).toEqual([
      {
        name: "web",
        built: 2,
        failed: 0,
        toBuild: 2,
        building: [],
        fetched: 1,
        toFetch: 1,
        // The NAR of the 3 000 000-byte file fetched from the HTTP cache.
        fetchedBytes: 3000112,
      },
      // uses-fails never starts: its dependency failed.
      { name: "db", built: 1, failed: 1, toBuild: 3, building: [], fetched: 0, toFetch: 0, fetchedBytes: 0 },
      {
        name: "idle",
        built: 0,
        failed: 0,
        toBuild: 0,
        building: [],
        fetched: 0,
        toFetch: 0,
        fetchedBytes: 0,
      },
    ]);
    expect(finished.map((f) => [derivationName(f.drvPath), f.ok, f.targets])).toEqual([
      ["ternix-rec-dep-1.0", true, ["web", "db"]],
      ["ternix-rec-fails-1.0", false, ["db"]],
      ["ternix-rec-top-1.0", true, ["web"]],
    ]);
  });

  it.each(RECORDINGS)("%s: while a derivation builds, its hosts show it", (version) => {
    const { events, path } = recording(version);
    const tracker = createBuildTracker(hosts(path));
    const seen = new Set<string>();
    for (const e of events) {
      tracker.feed(e);
      for (const h of tracker.snapshot()) for (const b of h.building) seen.add(`${h.name}:${b}`);
    }
    expect([...seen].sort()).toEqual([
      "db:ternix-rec-dep-1.0",
      "db:ternix-rec-fails-1.0",
      "web:ternix-rec-dep-1.0",
      "web:ternix-rec-top-1.0",
    ]);
  });

  it.each(RECORDINGS)("%s: a whole build is one host's, with Nix's own totals", (version) => {
    const { tracker, finished } = run(version, () => ({ whole: "laptop" }));
    expect(tracker.snapshot()).toEqual([
      {
        name: "laptop",
        built: 2,
        failed: 1,
        toBuild: 2,
        building: [],
        fetched: 1,
        toFetch: 1,
        fetchedBytes: 3000112,
      },
    ]);
    expect(finished.every((f) => f.targets.length === 1 && f.targets[0] === "laptop")).toBe(true);
  });

  it.each(["2.8", "2.24"])(
    "%s: a failed requested derivation (a toplevel) is failed when it stops, not built",
    (version) => {
      const { events, path } = recording(`toplevel-fails-${version}`);
      const tracker = createBuildTracker([
        { name: "ok", toBuild: [path("ternix-rec-top-1.0.drv")], toFetch: [] },
        { name: "bad", toBuild: [path("ternix-rec-fails-1.0.drv")], toFetch: [] },
      ]);
      const finished: [string, boolean][] = [];
      let lastStop = -1;
      events.forEach((e, i) => {
        for (const f of tracker.feed(e).finished) finished.push([derivationName(f.drvPath), f.ok]);
        if (e.action === "stop") lastStop = i;
      });
      // Its error comes after the last activity stopped: the stop alone told.
      expect(events.findIndex((e) => e.action === "msg" && e.level === 0)).toBeGreaterThan(lastStop);
      expect(finished.sort()).toEqual([
        ["ternix-rec-cached-1.0", true],
        ["ternix-rec-dep-1.0", true],
        ["ternix-rec-fails-1.0", false],
        ["ternix-rec-top-1.0", true],
      ]);
      expect(tracker.snapshot().map((t) => [t.name, t.built, t.failed, t.building])).toEqual([
        ["ok", 1, 0, []],
        ["bad", 0, 1, []],
      ]);
    },
  );

  it("download progress changes the picture once per MiB, not per chunk", () => {
    const { changes } = run("2.8", hosts);
    const progressResults = recording("2.8").events.filter((e) => e.action === "result").length;
    expect(changes).toBeLessThan(progressResults / 5);
    expect(changes).toBeGreaterThan(5);
  });
});

describe("reportBuildProgress", () => {
  it("turns the log into build-progress and build-finished events for one side", () => {
    const { events, path } = recording("2.24");
    const out: AppEvent[] = [];
    const onLog = reportBuildProgress(createBuildTracker(hosts(path)), (e) => out.push(e), "after");
    for (const e of events) onLog(e);
    const finished = out.filter((e) => e.type === "build-finished");
    expect(finished).toHaveLength(3);
    expect(finished[1]).toMatchObject({ side: "after", ok: false, hosts: ["db"] });
    const last = out.filter((e) => e.type === "build-progress").at(-1);
    expect(last).toMatchObject({ side: "after", hosts: [{ name: "web", built: 2 }, { name: "db" }, {}] });
  });
});
