/** Which Nix implementation answered `nix --version`, and which Nix version its CLI behaves like. */
export interface NixVersion {
  implementation: "nix" | "lix" | "determinate";
  major: number;
  minor: number;
  patch: number;
  /** The implementation's own version (Lix 2.91.1, Determinate Nix 3.6.2); same as the Nix version for CppNix. */
  implementationVersion: string;
  raw: string;
}

/** Oldest Nix whose CLI Ternix drives. */
export const MINIMUM_NIX = { major: 2, minor: 8 } as const;

/**
 * Parse `nix --version` output. Recorded forms:
 *   nix (Nix) 2.8.0
 *   nix (Nix) 2.24.10
 *   nix (Lix, like Nix) 2.91.1
 *   nix (Determinate Nix 3.6.2) 2.29.0
 */
export function parseNixVersion(output: string): NixVersion | undefined {
  const line = output.trim().split("\n")[0] ?? "";
  const match = /^nix \(([^)]*)\)\s+(\d+)\.(\d+)(?:\.(\d+))?\S*\s*$/.exec(line.trim());
  if (!match) return undefined;
  const flavour = match[1] ?? "";
  const major = Number(match[2]);
  const minor = Number(match[3]);
  const patch = Number(match[4] ?? 0);
  const version = `${major}.${minor}.${patch}`;
  if (/^Lix\b/i.test(flavour))
    return { implementation: "lix", major, minor, patch, implementationVersion: version, raw: line };
  const determinate = /^Determinate Nix\s+(\S+)/i.exec(flavour);
  if (determinate) {
    return {
      implementation: "determinate",
      major,
      minor,
      patch,
      implementationVersion: determinate[1] ?? version,
      raw: line,
    };
  }
  return { implementation: "nix", major, minor, patch, implementationVersion: version, raw: line };
}

/** True when `v` is at least major.minor. */
export function atLeast(v: Pick<NixVersion, "major" | "minor">, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function formatNixVersion(v: NixVersion): string {
  switch (v.implementation) {
    case "lix":
      return `Lix ${v.implementationVersion}`;
    case "determinate":
      return `Determinate Nix ${v.implementationVersion} (Nix ${v.major}.${v.minor}.${v.patch})`;
    case "nix":
      return `Nix ${v.implementationVersion}`;
  }
}
