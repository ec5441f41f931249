import { describe, expect, it } from "vitest";
import { DEFAULT_FULL_REPORT_NOTE, SUMMARY_END_MARKER, fitBody } from "./body.js";

const NOTE = `\n> ${DEFAULT_FULL_REPORT_NOTE}\n`;

function report(hosts: number, linesPerHost = 20): string {
  const parts = [
    "## ternix: flake.lock update",
    "",
    "| host | closure | status |",
    "| --- | --- | --- |",
    ...Array.from({ length: hosts }, (_, i) => `| host${i} | +1.2 MiB | built |`),
    "",
    SUMMARY_END_MARKER,
    "",
  ];
  for (let i = 0; i < hosts; i++) {
    parts.push(`<details><summary>host${i}: 12 packages changed</summary>`, "", "```diff");
    for (let j = 0; j < linesPerHost; j++) parts.push(`[U.]  package-${i}-${j}  1.0.${j} -> 1.0.${j + 1}`);
    parts.push("```", "", "</details>", "");
  }
  return parts.join("\n");
}

/** Open fences and open `<details>` after rendering; both must be zero in every result. */
function openStructures(markdown: string): { fence: boolean; details: number } {
  let fence: string | undefined;
  let details = 0;
  for (const line of markdown.split("\n")) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (
        marker !== undefined &&
        marker[0] === fence[0] &&
        marker.length >= fence.length &&
        line.trim() === marker
      ) {
        fence = undefined;
      }
      continue;
    }
    if (marker !== undefined) {
      fence = marker;
      continue;
    }
    details += (line.match(/<details[\s>]/g) ?? []).length - (line.match(/<\/details>/g) ?? []).length;
  }
  return { fence: fence !== undefined, details };
}

describe("fitBody", () => {
  it("returns a body that fits unchanged", () => {
    const body = report(2);
    expect(fitBody(body, body.length)).toEqual({ body, truncated: false });
  });

  it("cuts at a line boundary, closes the fence and details, and appends the note", () => {
    const body = report(30);
    const summary = body.slice(0, body.indexOf(SUMMARY_END_MARKER));
    for (let limit = summary.length + 200; limit < body.length; limit += 137) {
      const fitted = fitBody(body, limit);
      expect(fitted.body.startsWith(summary)).toBe(true);
      expect(fitted.truncated).toBe(true);
      expect(fitted.body.length).toBeLessThanOrEqual(limit);
      expect(fitted.body.endsWith(NOTE)).toBe(true);
      expect(openStructures(fitted.body)).toEqual({ fence: false, details: 0 });
      // Everything before the closers is a prefix of the original made of whole lines.
      const kept = fitted.body
        .slice(0, fitted.body.length - NOTE.length)
        .replace(/(```\n)?(\n<\/details>\n)*$/, "");
      expect(body.startsWith(kept)).toBe(true);
      expect(body[kept.length - 1] === "\n" || kept.length === 0).toBe(true);
    }
  });

  it("always keeps the summary", () => {
    const body = report(30);
    const summary = body.slice(0, body.indexOf(SUMMARY_END_MARKER) + SUMMARY_END_MARKER.length + 1);
    const fitted = fitBody(body, summary.length + NOTE.length);
    expect(fitted.body).toBe(`${summary}${NOTE}`);
  });

  it("uses as much of the limit as possible", () => {
    const body = report(30);
    const fitted = fitBody(body, 4000);
    // The next line would not have fit with its closers and the note.
    expect(fitted.body.length).toBeGreaterThan(4000 - 60 - NOTE.length - "\n```\n\n</details>\n".length);
  });

  it("closes a fence inside details in the right order", () => {
    const tail = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const lines = [
      "summary",
      SUMMARY_END_MARKER,
      "<details>",
      "<summary>x</summary>",
      "",
      "```",
      "a",
      "b",
      "c",
      ...tail,
      "```",
      "</details>",
      "",
    ];
    const expected = `${lines.slice(0, 7).join("\n")}\n\`\`\`\n\n</details>\n${NOTE}`;
    expect(fitBody(lines.join("\n"), expected.length).body).toBe(expected);
    // One character less and line "a" no longer fits.
    expect(fitBody(lines.join("\n"), expected.length - 1).body).toBe(
      `${lines.slice(0, 6).join("\n")}\n\`\`\`\n\n</details>\n${NOTE}`,
    );
  });

  it("closes tilde and long backtick fences with the same marker", () => {
    const tail = Array.from({ length: 20 }, () => "more text");
    const tilde = ["~~~~nix", "{ }", "x", "y", ...tail, "~~~~", "end"].join("\n");
    const tildeCut = "~~~~nix\n{ }\n~~~~\n\n> cut\n";
    expect(fitBody(tilde, tildeCut.length, { fullReportNote: "cut" }).body).toBe(tildeCut);
    const ticks = ["````md", "```", "inner", "```", "more", ...tail, "````", "after"].join("\n");
    const ticksCut = "````md\n```\ninner\n```\n````\n\n> cut\n";
    expect(fitBody(ticks, ticksCut.length, { fullReportNote: "cut" }).body).toBe(ticksCut);
  });

  it("does not count <details> inside code", () => {
    const body = ["```html", "<details>", "```", "`<details>` is inline", "line", "line", "line"].join("\n");
    const expected = "```html\n<details>\n```\n`<details>` is inline\nline\n\n> cut\n";
    expect(fitBody(body, expected.length, { fullReportNote: "cut" }).body).toBe(expected);
  });

  it("cuts inside the summary only when the summary alone cannot fit", () => {
    const body = ["line one", "line two", "line three", SUMMARY_END_MARKER, "details"].join("\n");
    const fitted = fitBody(body, 30, { fullReportNote: "cut" });
    expect(fitted.body).toBe("line one\nline two\n\n> cut\n");
  });

  it("never cuts mid-line, even when not one line fits", () => {
    const body = `${"x".repeat(500)}\nmore`;
    expect(fitBody(body, 200, { fullReportNote: "cut" }).body).toBe("> cut\n");
    // Not even the note fits: the note itself is shortened, the report never is.
    expect(fitBody(body, 3, { fullReportNote: "cut" }).body).toBe("> c");
  });

  it("puts a multi-line note on one line", () => {
    const fitted = fitBody("a\nbb\nccc\ndddd\neeeee\nffffff\n", 22, { fullReportNote: "see\n the artifact" });
    expect(fitted.body).toBe("a\n\n> see the artifact\n");
  });
});
