/**
 * Builders for synthetic closures, for tests here and in other folders (use cases, reports). Store
 * paths get deterministic fake hashes derived from the name and a `build` tag, so changing the tag
 * simulates a rebuild with the same version.
 */
import type { ClosureInput, StorePathInfo, SystemFacts } from "./model.js";

const NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz";

/** A 32-character Nix base-32 string derived from `seed` (FNV-1a, then xorshift; not a real store hash). */
export function fakeHash(seed: string): string {
  let h = 0x811c9dc5;
  for (let j = 0; j < seed.length; j++) {
    h ^= seed.charCodeAt(j);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = "";
  for (let i = 0; i < 32; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    h >>>= 0;
    out += NIX_BASE32[h % 32];
  }
  return out;
}

export function fakeStorePath(name: string, build = ""): string {
  return `/nix/store/${fakeHash(`${name}@${build}`)}-${name}`;
}

export interface FakePackage {
  /** Store name, e.g. `glibc-2.40-36-bin`. */
  name: string;
  /** NAR size in bytes; defaults to 1 KiB per character of the name, so sizes differ. */
  narSize?: number;
  /** Rebuild tag: same name with another tag is another store path. */
  build?: string;
  /** Referenced by `sw` (or by the root when `sw` is false): an `environment.systemPackages` entry. */
  selected?: boolean;
}

export interface FakeClosureOptions {
  /** Root name, e.g. `nixos-system-web-24.11.20241201.1e3deb3`. */
  root: string;
  packages: readonly (string | FakePackage)[];
  /** Give the root a `system-path` whose references are the selected packages (default true). */
  sw?: boolean;
  system?: SystemFacts;
  rootNarSize?: number;
}

/**
 * A closure: the root references `system-path` (when `sw`) and every package; `system-path`
 * references the selected packages. The root's and `system-path`'s hashes change whenever their
 * references do, as real ones would.
 */
export function fakeClosure(options: FakeClosureOptions): ClosureInput & { paths: StorePathInfo[] } {
  const packages = options.packages.map((p) => (typeof p === "string" ? { name: p } : p));
  const infos: StorePathInfo[] = packages.map((p) => ({
    path: fakeStorePath(p.name, p.build),
    narSize: p.narSize ?? p.name.length * 1024,
    references: [],
  }));
  const selected = infos.filter((_, i) => packages[i]?.selected === true).map((i) => i.path);
  const useSw = options.sw ?? true;
  const rootRefs = infos.map((i) => i.path);
  if (useSw) {
    const sw: StorePathInfo = {
      path: fakeStorePath("system-path", selected.join(" ")),
      narSize: 64 * 1024,
      references: selected,
    };
    infos.push(sw);
    rootRefs.push(sw.path);
  }
  const root = fakeStorePath(options.root, rootRefs.join(" "));
  infos.push({
    path: root,
    narSize: options.rootNarSize ?? 16 * 1024,
    references: useSw ? rootRefs : selected,
  });
  const input: ClosureInput & { paths: StorePathInfo[] } = { root, paths: infos };
  if (options.system) input.system = options.system;
  return input;
}
