/**
 * Progress on stderr for long work: a live line per host on a terminal, collapsible `::group::`
 * sections in GitHub/Forgejo Actions, plain lines elsewhere. stdout is never touched.
 */
import type { AppEvent } from "../app/effects.js";
import { printable } from "../report/style.js";
import type { Output } from "./output.js";

export interface Progress {
  onEvent(event: AppEvent): void;
  /** Close any open group / finish the live block. */
  done(): void;
}

export function createProgress(
  output: Output,
  write: (text: string) => void = (t) => process.stderr.write(t),
): Progress {
  if (output.ci === "github" || output.ci === "forgejo") return groupedProgress(output, write);
  if (output.interactive) return liveProgress(output, write);
  return plainProgress(output, write);
}

function hostLine(event: Extract<AppEvent, { type: "host" }>): string {
  return `${event.side ? `[${event.side}] ` : ""}${event.host}: ${event.state}${event.detail ? ` (${event.detail})` : ""}`;
}

function plainProgress(output: Output, write: (text: string) => void): Progress {
  return {
    onEvent(event) {
      if (event.type === "host") write(hostLine(event) + "\n");
      else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {},
  };
}

function groupedProgress(output: Output, write: (text: string) => void): Progress {
  let open = false;
  return {
    onEvent(event) {
      if (event.type === "phase") {
        if (open) write("::endgroup::\n");
        // Workflow commands take the rest of the line; strip newlines so a name cannot inject one.
        write(`::group::${event.message.replace(/[\r\n]+/g, " ")}\n`);
        open = true;
      } else if (event.type === "host") write(hostLine(event).replace(/[\r\n]+/g, " ") + "\n");
      else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {
      if (open) write("::endgroup::\n");
      open = false;
    },
  };
}

function liveProgress(output: Output, write: (text: string) => void): Progress {
  const states = new Map<string, string>();
  let drawn = 0;
  const redraw = () => {
    let text = drawn > 0 ? `\x1b[${drawn}A` : "";
    const width = Math.max(...[...states.keys()].map((h) => printable(h).length));
    for (const [host, state] of states) text += `\x1b[2K  ${printable(host).padEnd(width)}  ${state}\n`;
    drawn = states.size;
    write(text);
  };
  return {
    onEvent(event) {
      if (event.type === "host") {
        const side = event.side ? `${event.side}: ` : "";
        states.set(event.host, `${side}${event.state}${event.detail ? ` (${event.detail})` : ""}`);
        redraw();
      } else if (event.type === "phase") {
        drawn = 0;
        states.clear();
        output.event(event);
      } else if (event.type === "build-line") output.debug(event.line);
      else output.event(event);
    },
    done() {
      drawn = 0;
    },
  };
}
