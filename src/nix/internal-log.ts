/**
 * Nix's structured log, `--log-format internal-json`: one `@nix {…}` JSON object per stderr line
 * (what nix-output-monitor reads). Pure; tested from recorded output (testdata/README.md).
 *
 * Recorded from Nix 2.8.0 and 2.24.15, through a nix-daemon and on a local store (no daemon):
 *   {"action":"start","id":N,"level":L,"type":T,"text":"…","fields":[…]}   (2.24 adds "parent")
 *   {"action":"stop","id":N}
 *   {"action":"result","id":N,"type":R,"fields":[…]}
 *   {"action":"msg","level":L,"msg":"…"}   (errors carry ANSI colours and "raw_msg", "file", "line")
 * Every message Nix's plain logger prints arrives as a `msg`, so the plain log can be rebuilt from it
 * (`createPlainLog`). Activity ids are `pid << 32 | n`: past 2^53 they are not exact as JavaScript
 * numbers, so they are read as strings.
 */

/** Activity types (Nix's `ActivityType`, unchanged from 2.4 through 2.24). */
export const ACTIVITY = {
  unknown: 0,
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  optimiseStore: 106,
  verifyPaths: 107,
  substitute: 108,
  queryPathInfo: 109,
  postBuildHook: 110,
  buildWaiting: 111,
} as const;

/** Result types (Nix's `ResultType`). */
export const RESULT = {
  fileLinked: 100,
  buildLogLine: 101,
  untrustedPath: 102,
  corruptedPath: 103,
  setPhase: 104,
  /** fields: [done, expected, running, failed]: derivations (builds), paths (copyPaths) or bytes. */
  progress: 105,
  /** fields: [activity type, expected]: bytes to download (fileTransfer) or unpack (copyPath). */
  setExpected: 106,
  postBuildLogLine: 107,
} as const;

/** Nix's verbosity levels: 0 error … 3 info (the default) … 7 vomit. */
export const LEVEL_INFO = 3;

export type LogField = string | number;

export type NixLogEvent =
  | {
      action: "start";
      id: string;
      type: number;
      level: number;
      text: string;
      fields: readonly LogField[];
      parent?: string | undefined;
    }
  | { action: "stop"; id: string }
  | { action: "result"; id: string; type: number; fields: readonly LogField[] }
  /** A message, without its ANSI colours. */
  | { action: "msg"; level: number; text: string }
  /** A line that is not part of the structured log (printed before Nix set its logger up). */
  | { action: "plain"; text: string };

const PREFIX = "@nix ";
// Activity ids as strings before JSON.parse. A quote is escaped inside JSON strings, so `"id":`
// only ever matches a key.
const ID_KEYS = /"(id|parent)":(\d+)/g;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const fieldsOf = (v: unknown): LogField[] =>
  Array.isArray(v) ? v.filter((f): f is LogField => typeof f === "string" || typeof f === "number") : [];
const num = (v: unknown, fallback: number): number => (typeof v === "number" ? v : fallback);

/** Escape sequences (colours, cursor movement) Nix puts in messages. */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** One stderr line of `nix … --log-format internal-json`; `undefined` for an action Ternix does not know. */
export function parseNixLogLine(line: string): NixLogEvent | undefined {
  if (!line.startsWith(PREFIX)) return { action: "plain", text: line };
  let json: unknown;
  try {
    json = JSON.parse(line.slice(PREFIX.length).replace(ID_KEYS, '"$1":"$2"'));
  } catch {
    return { action: "plain", text: line };
  }
  if (!isObject(json)) return { action: "plain", text: line };
  const id = typeof json.id === "string" ? json.id : undefined;
  switch (json.action) {
    case "start":
      if (id === undefined) return undefined;
      return {
        action: "start",
        id,
        type: num(json.type, ACTIVITY.unknown),
        level: num(json.level, LEVEL_INFO),
        text: typeof json.text === "string" ? stripAnsi(json.text) : "",
        fields: fieldsOf(json.fields),
        parent: typeof json.parent === "string" && json.parent !== "0" ? json.parent : undefined,
      };
    case "stop":
      return id === undefined ? undefined : { action: "stop", id };
    case "result":
      if (id === undefined) return undefined;
      return { action: "result", id, type: num(json.type, -1), fields: fieldsOf(json.fields) };
    case "msg":
      return {
        action: "msg",
        level: num(json.level, 0),
        text: typeof json.msg === "string" ? stripAnsi(json.msg) : "",
      };
    default:
      return undefined;
  }
}

/** Log lines kept per running build, for a failure whose message does not carry them. */
export const LOG_TAIL_LINES = 10;

const BUILDER_FAILED = /^error:\s+builder for '([^']+\.drv)' failed/;

export interface PlainLog {
  /** Take one event; returns the lines Nix's plain logger would have printed for it. */
  feed(event: NixLogEvent): string[];
  /** Everything the plain logger would have printed (without build output), as one text. */
  text(): string;
}

/**
 * The log Nix prints without `--log-format`: messages and activities at the default verbosity (info),
 * so error readers (messages.ts) work on a structured build's output unchanged. Build output is not
 * kept, except the last lines of each running build: without a daemon (a local store) Nix's
 * structured logger leaves them out of a failed builder's error (recorded: `…failed with exit code 1`
 * and nothing more, where through a daemon the message has `last N log lines:`), so they are added
 * back in the same form.
 */
export function createPlainLog(): PlainLog {
  const lines: string[] = [];
  const builds = new Map<string, { drvPath: string; tail: string[] }>();
  const tailOf = (drvPath: string) => [...builds.values()].find((b) => b.drvPath === drvPath)?.tail;
  const feed = (event: NixLogEvent): string[] => {
    let out: string[] = [];
    switch (event.action) {
      case "start": {
        const drvPath = event.fields[0];
        if (event.type === ACTIVITY.build && typeof drvPath === "string")
          builds.set(event.id, { drvPath, tail: [] });
        if (event.level <= LEVEL_INFO && event.text !== "") out = [`${event.text}...`];
        break;
      }
      case "stop":
        builds.delete(event.id);
        break;
      case "result": {
        const line = event.fields[0];
        const build = builds.get(event.id);
        if (event.type === RESULT.buildLogLine && build && typeof line === "string") {
          build.tail.push(line);
          if (build.tail.length > LOG_TAIL_LINES) build.tail.shift();
        }
        break;
      }
      case "msg": {
        if (event.level > LEVEL_INFO) break;
        out = event.text.split("\n");
        const failed = BUILDER_FAILED.exec(event.text)?.[1];
        const tail = failed === undefined ? undefined : tailOf(failed);
        if (tail && tail.length > 0 && !/log lines:/.test(event.text)) {
          out[0] = (out[0] ?? "").replace(/;?$/, ";");
          out.push(`       last ${tail.length} log lines:`, ...tail.map((l) => `       > ${l}`));
        }
        break;
      }
      case "plain":
        out = [event.text];
        break;
    }
    lines.push(...out);
    return out;
  };
  return { feed, text: () => (lines.length > 0 ? lines.join("\n") + "\n" : "") };
}
