/**
 * Cutting a Markdown PR body to a forge's length limit without breaking its rendering. Pure.
 */

/** Everything up to and including the line with this marker is the summary and is always kept. */
export const SUMMARY_END_MARKER = "<!-- ternix:summary-end -->";

export const DEFAULT_FULL_REPORT_NOTE =
  "Report shortened to fit the forge's limit; the full report is in the workflow artifact.";

export interface FitBodyOptions {
  /** The sentence appended when the body is cut. */
  fullReportNote?: string | undefined;
}

export interface FittedBody {
  body: string;
  truncated: boolean;
}

interface Fence {
  char: "`" | "~";
  length: number;
}

interface LineState {
  /** Length of the text up to and including this line. */
  end: number;
  /** Code fence still open after this line. */
  fence: Fence | undefined;
  /** `<details>` elements still open after this line (outside code). */
  details: number;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*\r?$/;

/**
 * Fits `markdown` into `limit` UTF-16 code units (`string.length`; never more than the forge's
 * character count). A body that fits is returned unchanged. Otherwise it is cut at the last line
 * boundary that fits, an open code fence and open `<details>` elements are closed, and a note
 * pointing at the full report is appended. The summary (through `SUMMARY_END_MARKER`) is kept
 * whole; only if the summary alone cannot fit is it cut too, still at a line boundary.
 */
export function fitBody(markdown: string, limit: number, options: FitBodyOptions = {}): FittedBody {
  if (markdown.length <= limit) return { body: markdown, truncated: false };

  const note = `\n> ${(options.fullReportNote ?? DEFAULT_FULL_REPORT_NOTE).replace(/\s*\n\s*/g, " ")}\n`;
  const lines = markdown.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const states = scanLines(lines);
  const summaryLines = lines.findIndex((line) => line.includes(SUMMARY_END_MARKER)) + 1;

  const cost = (kept: number) => {
    const state = states[kept - 1];
    return (state?.end ?? 0) + closers(state, lines[kept - 1]).length + note.length;
  };
  // Most text first: as many lines as fit, never fewer than the summary when the summary fits.
  let kept = -1;
  for (let n = lines.length - 1; n >= 0; n--) {
    if (cost(n) <= limit && (n >= summaryLines || cost(summaryLines) > limit)) {
      kept = n;
      break;
    }
  }
  if (kept < 0) return { body: note.trim().slice(0, Math.max(0, limit)), truncated: true };

  const state = states[kept - 1];
  const body = `${markdown.slice(0, state?.end ?? 0)}${closers(state, lines[kept - 1])}${note}`;
  return { body: kept === 0 ? body.trimStart() : body, truncated: true };
}

function scanLines(lines: readonly string[]): LineState[] {
  const states: LineState[] = [];
  let end = 0;
  let fence: Fence | undefined;
  let details = 0;
  for (const line of lines) {
    end += line.length;
    const text = line.replace(/\n$/, "");
    if (fence !== undefined) {
      const close = FENCE_CLOSE.exec(text);
      const marker = close?.[1];
      if (marker !== undefined && marker[0] === fence.char && marker.length >= fence.length)
        fence = undefined;
    } else {
      const open = FENCE_OPEN.exec(text);
      const marker = open?.[1];
      // CommonMark: a backtick fence's info string cannot contain backticks.
      if (marker !== undefined && !(marker[0] === "`" && (open?.[2] ?? "").includes("`"))) {
        fence = { char: marker[0] === "~" ? "~" : "`", length: marker.length };
      } else {
        const outsideCode = text.replace(/`[^`]*`/g, "");
        const opened = outsideCode.match(/<details(?=[\s>])/gi)?.length ?? 0;
        const closed = outsideCode.match(/<\/details\s*>/gi)?.length ?? 0;
        details = Math.max(0, details + opened - closed);
      }
    }
    states.push({ end, fence, details });
  }
  return states;
}

/** Text that closes what is open after a line: the code fence, then each `<details>`. */
function closers(state: LineState | undefined, lastLine: string | undefined): string {
  if (state === undefined) return "";
  let text = lastLine !== undefined && !lastLine.endsWith("\n") ? "\n" : "";
  if (state.fence !== undefined) text += `${state.fence.char.repeat(state.fence.length)}\n`;
  // A blank line first, so `</details>` starts an HTML block instead of continuing a paragraph.
  text += "\n</details>\n".repeat(state.details);
  return text;
}
