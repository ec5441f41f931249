/**
 * Store path names → package name and version.
 *
 * Rules (see docs/json-schema.md "closure-diff v1" for how they show up in reports):
 *
 * 1. The version starts at the first `-` that is followed by a digit; everything before it is the
 *    package name (`pname`). This is the rule nvd uses and the one Nix's `DrvName` documents
 *    ("apache-httpd-2.0.48" → "apache-httpd", "2.0.48"). Nix's code actually splits at the first `-`
 *    followed by any non-letter; the two differ only for names such as `unit--.slice`, where
 *    "unit" / "-.slice" would be nonsense, so we keep the digit rule.
 * 2. A name with no such `-` has no version (`source`, `hook`, `etc-hosts`, `unit-sshd.service`,
 *    `X-Restart-Triggers-sshd`); its `pname` is the whole name and `version` is "".
 * 3. A known output or variant suffix at the end of the version (`-bin`, `-dev`, `-man`, `-lib`,
 *    `-modules-shrunk`, `-zstd`, ...) is split off into `outputSuffix`. It is part of neither the
 *    version nor the package name: `glibc-2.40-36-bin` is package `glibc`, version `2.40-36`,
 *    output `bin`, so all outputs of one build group under one package and compare by the real
 *    version. (`nix store diff-closures` strips output names the same way; nvd keeps them in the
 *    version, which shows `2.40-36, 2.40-36-bin -> 2.40-44, 2.40-44-bin`.) Suffixes are only looked
 *    for inside the version, so unversioned names such as `etc-hosts` stay whole, where
 *    diff-closures would read `etc` with output `hosts`.
 * 4. Kernel-suffixed versions stay whole: `nvidia-x11-550.135-6.6.63` is version `550.135-6.6.63`.
 */

export interface ParsedStoreName {
  /** The full name after the hash, e.g. `glibc-2.40-36-bin`. */
  name: string;
  /** Package name: the name before the version, e.g. `glibc`. The package identity in closure diffs. */
  pname: string;
  /** Version without output suffix, e.g. `2.40-36`; "" when the name has no version. */
  version: string;
  /** Known output or variant suffix split off the version, e.g. `bin`, `modules-shrunk`. */
  outputSuffix?: string;
}

export interface ParsedStorePath extends ParsedStoreName {
  /** The store path itself, without any sub-path, e.g. `/nix/store/<hash>-glibc-2.40-36-bin`. */
  path: string;
  /** The 32-character Nix base-32 hash part. */
  hash: string;
}

export const DEFAULT_STORE_DIR = "/nix/store";

/**
 * Output names of multiple-output derivations, and variant suffixes nixpkgs appends to a package's
 * name (`-modules` and `-modules-shrunk` for kernel module trees, `-zstd`/`-xz` for compressed
 * firmware, `-fish-completions` for NixOS-generated completions). At most two dash-separated words.
 */
export const OUTPUT_SUFFIXES: readonly string[] = [
  "fish-completions",
  "modules-shrunk",
  "terminfo",
  "modules",
  "include",
  "devdoc",
  "python",
  "static",
  "debug",
  "lib32",
  "lib64",
  "info",
  "dist",
  "sbin",
  "zstd",
  "bin",
  "dev",
  "doc",
  "lib",
  "man",
  "out",
  "py",
  "xz",
];

const SUFFIX_SET: ReadonlySet<string> = new Set(OUTPUT_SUFFIXES);
const HASH_RE = /^[0-9a-df-np-sv-z]{32}$/;
const NAME_RE = /^[A-Za-z0-9+\-._?=]+$/;

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** Split a store name (the part after `<hash>-`) into package name, version and output suffix. */
export function parseStoreName(name: string): ParsedStoreName {
  let split = -1;
  for (let i = 0; i + 1 < name.length; i++) {
    if (name[i] === "-" && isDigitAt(name, i + 1)) {
      split = i;
      break;
    }
  }
  if (split < 0) return { name, pname: name, version: "" };

  const pname = name.slice(0, split);
  const rest = name.slice(split + 1);
  // Suffixes are one or two dash-separated words (`bin`, `modules-shrunk`): look at the last two.
  // This runs for every path of every closure, hence set lookups rather than a loop of endsWith.
  const last = rest.lastIndexOf("-");
  if (last > 0) {
    const beforeLast = rest.lastIndexOf("-", last - 1);
    if (beforeLast > 0) {
      const two = rest.slice(beforeLast + 1);
      if (SUFFIX_SET.has(two)) return { name, pname, version: rest.slice(0, beforeLast), outputSuffix: two };
    }
    const one = rest.slice(last + 1);
    if (SUFFIX_SET.has(one)) return { name, pname, version: rest.slice(0, last), outputSuffix: one };
  }
  return { name, pname, version: rest };
}

/**
 * Parse a store path (or a path inside one, such as a toplevel's `kernel` symlink target
 * `/nix/store/<hash>-linux-6.6.63/bzImage`). Returns undefined for paths outside `storeDir`,
 * malformed names, and `.drv` files, which are build recipes, not part of a runtime closure.
 */
export function parseStorePath(
  path: string,
  storeDir: string = DEFAULT_STORE_DIR,
): ParsedStorePath | undefined {
  const prefix = storeDir.endsWith("/") ? storeDir : `${storeDir}/`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  const slash = rest.indexOf("/");
  const base = slash < 0 ? rest : rest.slice(0, slash);
  const hash = base.slice(0, 32);
  const name = base.slice(33);
  if (base[32] !== "-" || !HASH_RE.test(hash) || name === "" || name.startsWith(".") || !NAME_RE.test(name)) {
    return undefined;
  }
  if (name.endsWith(".drv")) return undefined;
  return Object.assign(parseStoreName(name), { path: slash < 0 ? path : prefix + base, hash });
}
