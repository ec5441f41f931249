import { afterEach, describe, expect, it, vi } from "vitest";
import type { TargetProgress } from "../app/build-progress.js";
import type { AppEvent } from "../app/effects.js";
import type { Output } from "./output.js";
import { createProgress } from "./progress.js";

function fakeOutput(over: Partial<Output> = {}): Output {
  return {
    color: false,
    stderrColor: false,
    interactive: false,
    ci: undefined,
    verbose: false,
    stdout: () => {
      throw new Error("progress must not write to stdout");
    },
    info: () => undefined,
    warn: () => undefined,
    debug: () => undefined,
    event: () => undefined,
    error: () => undefined,
    ...over,
  };
}

const host = (name: string, over: Partial<TargetProgress> = {}): TargetProgress => ({
  name,
  built: 0,
  failed: 0,
  toBuild: 3,
  building: [],
  fetched: 0,
  toFetch: 0,
  fetchedBytes: 0,
  ...over,
});
const progress = (...hosts: TargetProgress[]): AppEvent => ({ type: "build-progress", side: "after", hosts });
const DRV = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12.drv";

function harness(output: Output) {
  let clock = 0;
  const written: string[] = [];
  const p = createProgress(output, (t) => written.push(t), {
    now: () => clock,
    logIntervalMs: 5000,
    redrawMs: 100,
  });
  return { p, written, tick: (ms: number) => (clock += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("build progress in a log (pipe or CI)", () => {
  it("a host's line at most every interval, each finished build at once, the last state before the host's", () => {
    const { p, written, tick } = harness(fakeOutput());
    p.onEvent(progress(host("web", { building: ["hello-2.12"] }), host("idle", { toBuild: 0 })));
    tick(1000);
    p.onEvent(progress(host("web", { built: 1, building: ["curl-8.9"] })));
    p.onEvent({ type: "build-finished", side: "after", drvPath: DRV, ok: true, hosts: ["web"] });
    tick(4000);
    p.onEvent(progress(host("web", { built: 1, building: ["nginx-1.26"] })));
    tick(1000);
    p.onEvent(progress(host("web", { built: 2, building: ["zlib-1.3"] })));
    p.onEvent({ type: "host", host: "web", state: "built", side: "after" });
    p.done();
    expect(written.join("")).toBe(
      [
        "[after] web: built 0/3, building hello-2.12",
        "[after] built hello-2.12 (web)",
        "[after] web: built 1/3, building nginx-1.26",
        // Held back (1 s after the last), printed before the host's own state.
        "[after] web: built 2/3, building zlib-1.3",
        "[after] web: built",
        "",
      ].join("\n"),
    );
  });

  it("a host whose part is done gets its line at once; an unchanged line is not repeated", () => {
    const { p, written, tick } = harness(fakeOutput());
    p.onEvent(progress(host("db", { toBuild: 1, building: ["x-1"] })));
    tick(10);
    p.onEvent(progress(host("db", { toBuild: 1, built: 1 })));
    p.onEvent(progress(host("db", { toBuild: 1, built: 1 })));
    p.done();
    expect(written).toEqual(["[after] db: built 0/1, building x-1\n", "[after] db: built 1/1\n"]);
  });

  it("GitHub Actions: groups, and no line break from a name reaches a workflow command", () => {
    const { p, written } = harness(fakeOutput({ ci: "github" }));
    p.onEvent({ type: "phase", message: "Building 1 host…" });
    p.onEvent(progress(host("we\nb")));
    p.onEvent({ type: "build-finished", drvPath: DRV, ok: false, hosts: ["we\nb"] });
    p.done();
    expect(written).toEqual([
      "::group::Building 1 host…\n",
      "[after] we\\u000ab: built 0/3\n",
      "failed hello-2.12 (we\\u000ab)\n",
      "::endgroup::\n",
    ]);
  });

  it("--verbose on a terminal logs lines rather than redrawing over Nix's", () => {
    const { p, written } = harness(fakeOutput({ interactive: true, verbose: true }));
    p.onEvent(progress(host("web")));
    expect(written).toEqual(["[after] web: built 0/3\n"]);
  });
});

describe("build progress on a terminal", () => {
  it("redraws in place, at most every 100 ms, and keeps failures above the block", () => {
    vi.useFakeTimers();
    const { p, written, tick } = harness(fakeOutput({ interactive: true }));
    p.onEvent(progress(host("web"), host("db", { toBuild: 1 })));
    tick(10);
    p.onEvent(progress(host("web", { building: ["hello-2.12"] }), host("db", { toBuild: 1 })));
    expect(written).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(written).toHaveLength(2);
    expect(written[1]).toBe(
      "\x1b[2A\x1b[2K  web  after: built 0/3, building hello-2.12\n\x1b[2K  db   after: built 0/1\n",
    );
    tick(200);
    p.onEvent({ type: "build-finished", side: "after", drvPath: DRV, ok: false, hosts: ["web"] });
    p.onEvent({ type: "build-finished", side: "after", drvPath: DRV, ok: true, hosts: ["web"] });
    expect(written).toHaveLength(3);
    expect(written[2]?.startsWith("\x1b[2A\x1b[J[after] failed hello-2.12 (web)\n\x1b[2K  web")).toBe(true);
    p.done();
  });
});
