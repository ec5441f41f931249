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
