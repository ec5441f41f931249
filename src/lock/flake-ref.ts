import type { LockRef } from "./schema.js";

export interface FlakeRefFormat {
  /** Include `ref` and `rev` (default true). Without them the string names where an input comes from. */
  withRef?: boolean;
}

/**
 * Render a flake reference in the URL-like syntax of the Nix manual ("Flake references"):
 * `github:NixOS/nixpkgs/nixos-24.11`, `git+https://example.org/repo?ref=main`, `sourcehut:~sr/repo`,
 * `path:/x`, a tarball's URL, `flake:nixpkgs` for indirect references. For display only.
 */
export function formatFlakeRef(ref: LockRef, format: FlakeRefFormat = {}): string {
  const withRef = format.withRef ?? true;
  const refOrRev = withRef ? (ref.ref ?? ref.rev) : undefined;
  switch (ref.type) {
    case "github":
    case "gitlab":
    case "sourcehut": {
      const base = `${ref.type}:${ref.owner ?? "?"}/${ref.repo ?? "?"}${refOrRev === undefined ? "" : `/${refOrRev}`}`;
      return withQuery(base, [
        ["host", ref.host],
        ["dir", ref.dir],
      ]);
    }
    case "indirect":
      return withQuery(`flake:${ref.id ?? "?"}${refOrRev === undefined ? "" : `/${refOrRev}`}`, [
        ["dir", ref.dir],
      ]);
    case "git":
    case "mercurial": {
      const url = ref.url ?? "?";
      const scheme = ref.type === "git" ? "git" : "hg";
      // Nix accepts bare git:// URLs; every other transport gets the `git+` (or `hg+`) prefix.
      const base = url.startsWith(`${scheme}:`) || url.startsWith(`${scheme}+`) ? url : `${scheme}+${url}`;
      return withQuery(base, [
        ["ref", withRef ? ref.ref : undefined],
        ["rev", withRef ? ref.rev : undefined],
        ["dir", ref.dir],
        ["submodules", ref.submodules === true ? "1" : undefined],
      ]);
    }
    case "path":
      return withQuery(`path:${ref.path ?? "?"}`, [["rev", withRef ? ref.rev : undefined]]);
    case "tarball":
      return withQuery(ref.url ?? "tarball:?", [["dir", ref.dir]]);
    case "file": {
      const url = ref.url ?? "?";
      return url.startsWith("file:") ? url : `file+${url}`;
    }
  }
}

function withQuery(base: string, params: ReadonlyArray<readonly [string, string | undefined]>): string {
  const present = params.filter((p): p is readonly [string, string] => p[1] !== undefined);
  if (present.length === 0) return base;
  const query = present.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2F/g, "/")}`).join("&");
  return `${base}${base.includes("?") ? "&" : "?"}${query}`;
}

/** `refs/heads/main` → `main`: git inputs may lock a full ref name; people think in branch names. */
export function shortRefName(ref: string | undefined): string | undefined {
  return ref?.replace(/^refs\/(?:heads|tags)\//, "");
}

export interface RepoLocation {
  host: string;
  /** For GitLab subgroups this has slashes: `group/subgroup`. */
  owner: string;
  repo: string;
}

/**
 * Owner and repository of a `git` URL (`https://codeberg.org/o/r.git`, `ssh://git@host/o/r`) or of a
 * tarball served by a known forge or by the NixOS channels. Undefined for anything else
 * (local paths, arbitrary tarball hosts) because guessing would mislabel the input.
 */
export function repoFromUrl(url: string, kind: "git" | "tarball"): RepoLocation | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^(?:git|hg|tarball|file)\+/, ""));
  } catch {
    return undefined;
  }
  if (!["https:", "http:", "ssh:", "git:"].includes(parsed.protocol)) return undefined;
  const host = parsed.hostname.toLowerCase();
  const segments = parsed.pathname
    .split("/")
    .filter((s) => s !== "")
    .map(safeDecode);

  if (kind === "git") {
    if (segments.length < 2) return undefined;
    const repo = (segments.at(-1) ?? "").replace(/\.git$/, "");
    return { host, owner: segments.slice(0, -1).join("/"), repo };
  }

  // Tarballs: only hosts whose URL layout we know.
  if (host === "channels.nixos.org" || (host === "nixos.org" && segments[0] === "channels")) {
    return { host, owner: "NixOS", repo: "nixpkgs" };
  }
  if (host === "flakehub.com" || host === "api.flakehub.com") {
    // https://flakehub.com/f/O/R/V.tar.gz and https://api.flakehub.com/f/pinned/O/R/V/ID/source.tar.gz
    const rest = segments[0] === "f" ? segments.slice(segments[1] === "pinned" ? 2 : 1) : [];
    const [owner, repo] = rest;
    return owner !== undefined && repo !== undefined ? { host, owner, repo } : undefined;
  }
  if (host === "gitlab.com") {
    // https://gitlab.com/group/sub/repo/-/archive/REF/repo-REF.tar.gz
    const end = segments.indexOf("-");
    const parts = end > 1 ? segments.slice(0, end) : segments.slice(0, 2);
    const repo = parts.at(-1);
    return parts.length >= 2 && repo !== undefined
      ? { host, owner: parts.slice(0, -1).join("/"), repo: repo.replace(/\.git$/, "") }
      : undefined;
  }
  if (host === "github.com" || host === "codeberg.org") {
    const [owner, repo] = segments;
    return owner !== undefined && repo !== undefined
      ? { host, owner, repo: repo.replace(/\.git$/, "") }
      : undefined;
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
