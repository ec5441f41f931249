/**
 * Nix's version ordering (`builtins.compareVersions`, `nix-env -u`), as specified in Nix's
 * `names.cc` (`nextComponent` / `componentsLT` / `compareVersions`):
 *
 * - A version is a sequence of components. `.` and `-` separate components and are skipped; a
 *   component is either a maximal run of digits or a maximal run of characters that are neither
 *   digits nor separators. So `9.9p1` is `9`, `9`, `p`, `1` and `2.3a` is `2`, `3`, `a`.
 * - Components are compared pairwise; a missing component is the empty string.
 * - Two numbers compare numerically. "Number" means what Nix's `string2Int<int>` accepts: a run of
 *   digits that fits a signed 32-bit int. Longer runs fall through to the string rules below.
 * - The empty string sorts before a number (`1.0 < 1.0.1`).
 * - `pre` sorts before everything except another `pre` (`1.0pre1 < 1.0`).
 * - A non-number sorts before a number (Nix's own comment: "assume that `2.3a' < `2.3.1'").
 * - Two non-numbers compare as byte strings (`"" < "a"`, so `1.0 < 1.0a`, `alpha < beta`).
 */

export type Ordering = -1 | 0 | 1;

const INT_MAX = 2147483647;

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

/** The component as Nix's `string2Int<int>` reads it, or undefined when it is not a (32-bit) number. */
function asNumber(component: string): number | undefined {
  if (component === "" || !isDigit(component.charCodeAt(0))) return undefined;
  // Components are all-digit or digit-free, so checking the first character is enough.
  const n = Number(component);
  return n <= INT_MAX ? n : undefined;
}

function componentLess(c1: string, c2: string): boolean {
  const n1 = asNumber(c1);
  const n2 = asNumber(c2);
  if (n1 !== undefined && n2 !== undefined) return n1 < n2;
  if (c1 === "" && n2 !== undefined) return true;
  if (c1 === "pre" && c2 !== "pre") return true;
  if (c2 === "pre") return false;
  if (n2 !== undefined) return true;
  if (n1 !== undefined) return false;
  return c1 < c2;
}

/** Sort versions ascending by {@link compareVersions}; ties (e.g. `1.0` and `1.00`) by string for determinism. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort((a, b) => compareVersions(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}
