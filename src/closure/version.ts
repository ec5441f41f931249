/**
 * Nix's version ordering (`builtins.compareVersions`, `nix-env -u`), as specified in Nix's
 * `names.cc` (`nextComponent` / `componentsLT` / `compareVersions`):
 *
 * - A version is a sequence of components. `.` and `-` separate components and are skipped; a
 *   component is either a maximal run of digits or a maximal run of characters that are neither
 *   digits nor separators. So `9.9p1` is `9`, `9`, `p`, `1` and `2.3a` is `2`, `3`, `a`.
 * - Components are compared pairwise; a missing component is the empty string.
 * - Two numbers compare numerically, whatever their length. Here Ternix departs from Nix on purpose:
 *   Nix reads a component with `string2Int<int>`, so a run of digits past 2^31 - 1 is not a number to
 *   it and compares as a string, and below every real number (`10000000000 < 9999999999`, and
 *   `10000000000 < 5`). That is an overflow, not a designed order: versions made of timestamps
 *   (`20241201123000`) or long build counters are numbers to the people reading the diff, and an
 *   upgrade between them shown as a downgrade would be a false alarm. Nothing Ternix compares feeds
 *   back into Nix (`nix store diff-closures` only lists versions, it does not order them), so only
 *   `nix-env -u` would order such versions differently.
 * - The empty string sorts before a number (`1.0 < 1.0.1`).
 * - `pre` sorts before everything except another `pre` (`1.0pre1 < 1.0`).
 * - A non-number sorts before a number (Nix's own comment: "assume that `2.3a' < `2.3.1'").
 * - Two non-numbers compare as byte strings (`"" < "a"`, so `1.0 < 1.0a`, `alpha < beta`).
 */

export type Ordering = -1 | 0 | 1;

/** The components of a version, as Nix splits it. Exposed for tests and explanations. */
export function splitVersion(version: string): string[] {
  const components: string[] = [];
  let i = 0;
  while (i < version.length) {
    const next = nextComponent(version, i);
    if (next.component === "") break;
    components.push(next.component);
    i = next.end;
  }
  return components;
}

/** Compare two versions exactly as `builtins.compareVersions` does. */
export function compareVersions(a: string, b: string): Ordering {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ca = nextComponent(a, i);
    const cb = nextComponent(b, j);
    i = ca.end;
    j = cb.end;
    if (componentLess(ca.component, cb.component)) return -1;
    if (componentLess(cb.component, ca.component)) return 1;
  }
  return 0;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isSeparator(ch: string): boolean {
  return ch === "." || ch === "-";
}

function nextComponent(s: string, start: number): { component: string; end: number } {
  let p = start;
  while (p < s.length && isSeparator(s[p] ?? "")) p++;
  if (p >= s.length) return { component: "", end: p };
  const from = p;
  if (isDigit(s.charCodeAt(p))) {
    while (p < s.length && isDigit(s.charCodeAt(p))) p++;
  } else {
    while (p < s.length && !isDigit(s.charCodeAt(p)) && !isSeparator(s[p] ?? "")) p++;
  }
  return { component: s.slice(from, p), end: p };
}

/** Components are all-digit or digit-free, so checking the first character is enough. */
function isNumber(component: string): boolean {
  return component !== "" && isDigit(component.charCodeAt(0));
}

/** Two digit runs of any length, numerically: without leading zeros, the longer is larger. */
function numberLess(c1: string, c2: string): boolean {
  const a = c1.replace(/^0+/, "");
  const b = c2.replace(/^0+/, "");
  return a.length !== b.length ? a.length < b.length : a < b;
}

function componentLess(c1: string, c2: string): boolean {
  const n1 = isNumber(c1);
  const n2 = isNumber(c2);
  if (n1 && n2) return numberLess(c1, c2);
  if (c1 === "" && n2) return true;
  if (c1 === "pre" && c2 !== "pre") return true;
  if (c2 === "pre") return false;
  if (n2) return true;
  if (n1) return false;
  return c1 < c2;
}

/** Sort versions ascending by {@link compareVersions}; ties (e.g. `1.0` and `1.00`) by string for determinism. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort((a, b) => compareVersions(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}
