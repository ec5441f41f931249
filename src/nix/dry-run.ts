/**
 * What `nix build --dry-run` says it would do, from its stderr. Recorded forms (testdata/dry-run-*):
 * Nix 2.8 and 2.24 print the same lines:
 *   `these 2 derivations will be built:` / `this derivation will be built:` then indented .drv paths
 *   `these 3 paths will be fetched (12.34 MiB download, 56.78 MiB unpacked):` / `this path will be fetched (…):`
 */
export interface DryRun {
  /** Derivations that would be built locally. */
  toBuild: string[];
  /** Store paths that would be downloaded from a substituter. */
  toFetch: string[];
  downloadBytes: number;
  unpackedBytes: number;
}

const MIB = 1024 * 1024;

export function parseDryRun(stderr: string): DryRun {
  const result: DryRun = { toBuild: [], toFetch: [], downloadBytes: 0, unpackedBytes: 0 };
  let list: string[] | undefined;
  for (const line of stderr.split("\n")) {
    if (/^(?:these \d+ derivations|this derivation) will be built:/.test(line)) {
      list = result.toBuild;
      continue;
    }
    const fetch =
      /^(?:these \d+ paths|this path) will be fetched \(([\d.]+) MiB download, ([\d.]+) MiB unpacked\):/.exec(
        line,
      );
    if (fetch) {
      list = result.toFetch;
      result.downloadBytes += Math.round(Number(fetch[1]) * MIB);
      result.unpackedBytes += Math.round(Number(fetch[2]) * MIB);
      continue;
    }
    const path = /^\s+(\/\S+)$/.exec(line);
    if (path && list) list.push(path[1] as string);
    else list = undefined;
  }
  return result;
}
