/**
 * Progress on stderr for long work: a live line per host on a terminal, collapsible `::group::`
 * sections in GitHub/Forgejo Actions, plain lines elsewhere. stdout is never touched.
 *
 * A build's progress (`build-progress` events, many a second) is shown in place on a terminal, at
 * most every REDRAW_MS; in logs (CI, a pipe, --verbose) a host's line is printed at most every
 * LOG_INTERVAL_MS, when it changed, plus a line per finished derivation.
 */
import type { AppEvent } from "../app/effects.js";
import type { TargetProgress } from "../app/build-progress.js";
import {
  hostProgressDone,
  hostProgressIdle,
  renderBuildFinished,
  renderHostProgress,
  renderProgressState,
} from "../report/build-progress.js";
import { printable } from "../report/style.js";
import type { Output } from "./output.js";

export interface Progress {
  onEvent(event: AppEvent): void;
  /** Close any open group / finish the live block. */
  done(): void;
}

/** A log gets a host's progress line at most this often. */
export const LOG_INTERVAL_MS = 5000;
/** A terminal's live block is redrawn at most this often. */
export const REDRAW_MS = 100;

export interface ProgressOptions {
  /** Milliseconds (injectable for tests). */
  now?: () => number;
  logIntervalMs?: number;
  redrawMs?: number;
}

export function createProgress(
  output: Output,
  write: (text: string) => void = (t) => process.stderr.write(t),
  options: ProgressOptions = {},
): Progress {
  const now = options.now ?? (() => Date.now());
  if (output.ci === "github" || output.ci === "forgejo")
    return groupedProgress(output, write, buildLog(write, now, options.logIntervalMs, oneLine));
  // With --verbose, Nix's own log lines arrive between ours: a live block would overwrite them.
  if (output.interactive && !output.verbose) return liveProgress(output, write, now, options.redrawMs);
  return plainProgress(
    output,
    write,
    buildLog(write, now, options.logIntervalMs, (t) => t),
  );
}

function hostLine(event: Extract<AppEvent, { type: "host" }>): string {
  return `${event.side ? `[${event.side}] ` : ""}${event.host}: ${event.state}${event.detail ? ` (${event.detail})` : ""}`;
}

// Workflow commands take the rest of the line; strip newlines so a name cannot inject one.
const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ");

type BuildEvent = Extract<AppEvent, { type: "build-progress" | "build-finished" }>;

/**
 * A build's progress as log lines: each finished derivation at once; a host's line when it changed
 * and LOG_INTERVAL_MS passed since its last one, or when its part is done. `flush` prints the lines
 * held back, before the host's next state (built, failed) is reported.
 */
function buildLog(
  write: (text: string) => void,
  now: () => number,
  intervalMs = LOG_INTERVAL_MS,
  clean: (text: string) => string,
): { onBuildEvent(event: BuildEvent): void; flush(): void } {
  const printed = new Map<string, { line: string; at: number }>();
  const pending = new Map<string, string>();
  const print = (key: string, line: string) => {
    pending.delete(key);
    printed.set(key, { line, at: now() });
    write(clean(line) + "\n");
  };
  return {
    onBuildEvent(event) {
      if (event.type === "build-finished") {
        write(clean(renderBuildFinished(event)) + "\n");
        return;
      }
      for (const p of event.hosts) {
        if (hostProgressIdle(p)) continue;
        const key = `${event.side ?? ""}\u0000${p.name}`;
        const line = renderHostProgress(p, { side: event.side });
        const last = printed.get(key);
        if (last?.line === line) {
          pending.delete(key);
          continue;
        }
        if (last === undefined || now() - last.at >= intervalMs || hostProgressDone(p)) print(key, line);
        else pending.set(key, line);
      }
    },
    flush() {
      for (const [key, line] of [...pending]) print(key, line);
    },
  };
}

function plainProgress(
  output: Output,
  write: (text: string) => void,
  build: ReturnType<typeof buildLog>,
): Progress {
  return {
    onEvent(event) {
      if (event.type === "build-progress" || event.type === "build-finished") {
        build.onBuildEvent(event);
        return;
      }
      build.flush();
      if (event.type === "host") write(hostLine(event) + "\n");
      else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {
      build.flush();
    },
  };
}

function groupedProgress(
  output: Output,
  write: (text: string) => void,
  build: ReturnType<typeof buildLog>,
): Progress {
  let open = false;
  return {
    onEvent(event) {
      if (event.type === "build-progress" || event.type === "build-finished") {
        build.onBuildEvent(event);
        return;
      }
      build.flush();
      if (event.type === "phase") {
        if (open) write("::endgroup::\n");
        write(`::group::${oneLine(event.message)}\n`);
        open = true;
      } else if (event.type === "host") write(oneLine(hostLine(event)) + "\n");
      else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {
      build.flush();
      if (open) write("::endgroup::\n");
      open = false;
    },
  };
}

function liveProgress(
  output: Output,
  write: (text: string) => void,
  now: () => number,
  redrawMs = REDRAW_MS,
): Progress {
  const states = new Map<string, string>();
  let drawn = 0;
  let lastDraw = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  /** The live block, after `above` (lines that stay, printed over the block's old place). */
  const redraw = (above = "") => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    lastDraw = now();
    let text = drawn > 0 ? `\x1b[${drawn}A` : "";
    if (above !== "") text += `\x1b[J${above}`;
    const width = Math.max(0, ...[...states.keys()].map((h) => printable(h).length));
    for (const [host, state] of states) text += `\x1b[2K  ${printable(host).padEnd(width)}  ${state}\n`;
    drawn = states.size;
    write(text);
  };
  const redrawSoon = () => {
    if (now() - lastDraw >= redrawMs) redraw();
    else timer ??= setTimeout(() => redraw(), redrawMs).unref();
  };
  const showProgress = (hosts: readonly TargetProgress[], side: "before" | "after" | undefined) => {
    let changed = false;
    for (const p of hosts) {
      if (hostProgressIdle(p)) continue;
      const state = `${side ? `${side}: ` : ""}${renderProgressState(p)}`;
      changed ||= states.get(p.name) !== state;
      states.set(p.name, state);
    }
    // Most of Nix's counter updates change nothing a line shows.
    if (changed) redrawSoon();
  };
  return {
    onEvent(event) {
      if (event.type === "host") {
        const side = event.side ? `${event.side}: ` : "";
        states.set(event.host, `${side}${event.state}${event.detail ? ` (${event.detail})` : ""}`);
        redraw();
      } else if (event.type === "build-progress") showProgress(event.hosts, event.side);
      else if (event.type === "build-finished") {
        // The block shows what is building; a failure is worth a line that stays.
        if (!event.ok) redraw(renderBuildFinished(event) + "\n");
      } else if (event.type === "phase") {
        if (timer !== undefined) redraw();
        drawn = 0;
        states.clear();
        output.event(event);
      } else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {
      if (timer !== undefined) redraw();
      drawn = 0;
    },
  };
}
