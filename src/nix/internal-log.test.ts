import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ACTIVITY,
  createPlainLog,
  parseNixLogLine,
  RESULT,
  stripAnsi,
  type NixLogEvent,
} from "./internal-log.js";
import { evalErrorLine, parseBuildFailures } from "./messages.js";

const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");

/** Through a nix-daemon (2.8, 2.24) and on a local chroot store without one (local-2.8, local-2.24). */
const RECORDINGS = ["2.8", "2.24", "local-2.8", "local-2.24"] as const;

function events(version: string): NixLogEvent[] {
  return testdata(`build-internal-json-${version}.stderr`)
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const event = parseNixLogLine(line);
      if (event === undefined) throw new Error(`unknown action: ${line}`);
      return event;
    });
}

const drvName = (path: unknown) => (typeof path === "string" ? path.replace(/^.*?-/, "") : "");

describe("parseNixLogLine", () => {
  it.each(RECORDINGS)("%s: every line is a structured event", (version) => {
    const all = events(version);
    expect(all.filter((e) => e.action === "plain")).toEqual([]);
    const builds = all.flatMap((e) =>
      e.action === "start" && e.type === ACTIVITY.build ? [drvName(e.fields[0])] : [],
    );
    expect(builds.sort()).toEqual([
      "ternix-rec-dep-1.0.drv",
      "ternix-rec-fails-1.0.drv",
      "ternix-rec-top-1.0.drv",
    ]);
    const substituted = all.flatMap((e) =>
      e.action === "start" && e.type === ACTIVITY.substitute ? [drvName(e.fields[0])] : [],
    );
    expect(substituted).toEqual(["ternix-rec-cached-1.0"]);
    // The 3 MB path copied from the HTTP cache reports its bytes as it goes.
    const copied = all.flatMap((e) =>
      e.action === "result" && e.type === RESULT.progress ? [e.fields] : [],
    );
    expect(copied.some(([done, expected]) => expected === 3000112 && Number(done) > 0)).toBe(true);
    const logLines = all.flatMap((e) =>
      e.action === "result" && e.type === RESULT.buildLogLine ? [e.fields[0]] : [],
    );
    expect(logLines).toEqual(expect.arrayContaining(["dep: configuring", "fails: line one", "top: done"]));
  });

  it("keeps activity ids exact beyond 2^53 (ids are pid << 32 | n)", () => {
    const line =
      '@nix {"action":"start","id":9007199254740993,"level":3,"parent":9007199254740995,"text":"x","type":105,"fields":["/nix/store/a.drv","",1,1]}';
    expect(parseNixLogLine(line)).toMatchObject({ id: "9007199254740993", parent: "9007199254740995" });
    expect(parseNixLogLine('@nix {"action":"stop","id":9007199254740993}')).toEqual({
      action: "stop",
      id: "9007199254740993",
    });
  });

  it("a message loses its colours; other lines and broken JSON are plain", () => {
    expect(
      parseNixLogLine('@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m x"}'),
    ).toEqual({
      action: "msg",
      level: 0,
      text: "error: x",
    });
    expect(parseNixLogLine("warning: something")).toEqual({ action: "plain", text: "warning: something" });
    expect(parseNixLogLine("@nix {oops")).toEqual({ action: "plain", text: "@nix {oops" });
    expect(parseNixLogLine('@nix {"action":"setPhase"}')).toBeUndefined();
    expect(stripAnsi("\u001b[35;1m/nix/store/x\u001b[0m")).toBe("/nix/store/x");
  });
});

describe("createPlainLog", () => {
  const plainText = (version: string) => {
    const log = createPlainLog();
    for (const e of events(version)) log.feed(e);
    return log.text();
  };

  it.each(RECORDINGS)("%s: the failed builder with its log lines, once", (version) => {
    const failures = parseBuildFailures(plainText(version));
    expect(failures).toHaveLength(1);
    expect(drvName(failures[0]?.drvPath)).toBe("ternix-rec-fails-1.0.drv");
    expect(failures[0]?.log).toEqual(["fails: line one", "fails: line two"]);
  });

  it.each(RECORDINGS)("%s: what the plain logger prints, no JSON", (version) => {
    const text = plainText(version);
    expect(text).not.toContain("@nix");
    expect(text).toMatch(/^building '\/nix\/store\/[a-z0-9]{32}-ternix-rec-top-1\.0\.drv'\.\.\.$/m);
    // Talkative activities (-v) stay out, as without --log-format.
    expect(text).not.toContain("querying info");
    expect(evalErrorLine(text)).toMatch(
      /^builder for '\/nix\/store\/[a-z0-9]{32}-ternix-rec-fails-1\.0\.drv' failed with exit code 1;$/,
    );
  });

  it("feed returns the lines of each event, for --verbose", () => {
    const log = createPlainLog();
    expect(
      log.feed({
        action: "start",
        id: "1",
        type: ACTIVITY.build,
        level: 3,
        text: "building 'x.drv'",
        fields: ["/nix/store/x.drv"],
      }),
    ).toEqual(["building 'x.drv'..."]);
    expect(log.feed({ action: "result", id: "1", type: RESULT.buildLogLine, fields: ["hello"] })).toEqual([]);
    expect(log.feed({ action: "msg", level: 4, text: "chatty" })).toEqual([]);
    expect(log.feed({ action: "msg", level: 1, text: "warning: a\nb" })).toEqual(["warning: a", "b"]);
  });
});
