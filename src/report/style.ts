/** Text styling for terminal reports. With `color` false every function returns its text unchanged. */
export interface Style {
  bold: (text: string) => string;
  dim: (text: string) => string;
  red: (text: string) => string;
  green: (text: string) => string;
  yellow: (text: string) => string;
  cyan: (text: string) => string;
}

// SGR codes with their specific "off" codes, so styles nest (a red word inside a bold line stays bold).
const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const satisfies Record<keyof Style, readonly [number, number]>;

export function createStyle(color: boolean): Style {
  const make = ([on, off]: readonly [number, number]) =>
    color
      ? (text: string) => (text === "" ? "" : `\u001b[${on}m${text}\u001b[${off}m`)
      : (text: string) => text;
  return {
    bold: make(codes.bold),
    dim: make(codes.dim),
    red: make(codes.red),
    green: make(codes.green),
    yellow: make(codes.yellow),
    cyan: make(codes.cyan),
  };
}

/** Remove SGR escape sequences, e.g. to measure the visible width of styled text. */
export function stripStyle(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

// C0 controls, DEL and C1 controls: the characters a terminal may act on (titles, clearing, cursor moves).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function escapeControl(ch: string): string {
  return `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
}

/**
 * Text from outside (input names, URLs, host names, a forge's or Nix's words) made safe for one line
 * of a terminal: every control character, newlines included, becomes a visible `\u001b`-style escape
 * (as in JSON, so the escaped text is also valid inside a JSON string).
 */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** Like `printable`, but keeps line breaks and tabs: for messages and logs of several lines. */
export function printableLines(text: string): string {
  return text.replace(CONTROL, (ch) => (ch === "\n" || ch === "\t" ? ch : escapeControl(ch)));
}

/**
 * A whole rendered report for the terminal: keeps line breaks, tabs and the SGR colour sequences our
 * own styles add; escapes every other control character.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/(\u001b\[[0-9;]*m)|[\u0000-\u001f\u007f-\u009f]/g, (match, sgr: string | undefined) =>
    sgr !== undefined || match === "\n" || match === "\t" ? match : escapeControl(match),
  );
}

/**
 * A copy of a report model with every string `printable`: applied to what a text renderer gets, so a
 * name from a third-party flake cannot carry escapes (not even colour codes) to the terminal.
 * Plain objects and arrays are copied; other objects (dates) are kept as they are.
 */
export function printableModel<T>(value: T): T {
  if (typeof value === "string") return printable(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => printableModel(item)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    // defineProperty: a key such as `__proto__` (an input name) stays an own property.
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: printableModel(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out as T;
  }
  return value;
}
