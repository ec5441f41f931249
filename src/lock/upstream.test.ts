import { describe, expect, it } from "vitest";
import { diffLocks } from "./diff.js";
import { lockInputs } from "./graph.js";
import { parseFlakeLock } from "./parse.js";
import type { FlakeLock } from "./schema.js";
import { upstreamStatus, type UpstreamStatus } from "./upstream.js";

type Node = Record<string, unknown>;

function lock(rootInputs: Record<string, string | string[]>, nodes: Record<string, Node>): FlakeLock {
  const text = JSON.stringify({
    nodes: { root: { inputs: rootInputs }, ...nodes },
    root: "root",
    version: 7,
  });
  return parseFlakeLock(text, "flake.lock");
}

const unix = (iso: string) => Date.parse(iso) / 1000;
const narHash = (seed: string) => `sha256-${seed.padEnd(43, "A").slice(0, 43)}=`;
const A = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
const B = "d3f2baba8f425779026c6ec04021b2e927f61e31";

function github(rev: string, date: string, inputs?: Record<string, string | string[]>): Node {
  return {
    ...(inputs ? { inputs } : {}),
    locked: {
      lastModified: unix(date),
      narHash: narHash(rev),
      owner: "NixOS",
      repo: "nixpkgs",
      rev,
      type: "github",
    },
    original: { owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" },
  };
}

function git(url: string, rev: string, date: string, revCount: number): Node {
  return {
    locked: { lastModified: unix(date), narHash: narHash(rev), ref: "main", rev, revCount, type: "git", url },
    original: { ref: "main", type: "git", url },
  };
}

/** Every input's upstream status, by id, as `inputs --upstream` computes it. */
function statuses(current: FlakeLock, updated: FlakeLock): Map<string, UpstreamStatus | undefined> {
  const diff = diffLocks(current, updated);
  const byId = new Map(diff.inputs.map((d) => [d.id, d]));
  return new Map(lockInputs(current).map((i) => [i.id, upstreamStatus(i, byId.get(i.id))]));
}

describe("upstreamStatus", () => {
  it("says up to date when the update would lock the same revision", () => {
    const current = lock({ nixpkgs: "nixpkgs" }, { nixpkgs: github(A, "2024-12-01T08:00:00Z") });
    expect(statuses(current, current).get("nixpkgs")).toEqual({
      upToDate: true,
      rev: A,
      shortRev: A.slice(0, 7),
      lastModified: new Date("2024-12-01T08:00:00Z"),
      daysBehind: 0,
      commitsBehind: 0,
      compareUrl: undefined,
    });
  });

  it("gives the upstream revision, the days behind and a compare link for a GitHub input", () => {
    const current = lock({ nixpkgs: "nixpkgs" }, { nixpkgs: github(A, "2024-12-01T08:00:00Z") });
    const updated = lock({ nixpkgs: "nixpkgs" }, { nixpkgs: github(B, "2024-12-15T20:00:00Z") });
    const status = statuses(current, updated).get("nixpkgs");
    expect(status).toMatchObject({ upToDate: false, rev: B, daysBehind: 14 });
    // GitHub inputs carry no revCount: the commit count is unknown, not zero.
    expect(status?.commitsBehind).toBeUndefined();
    expect(status?.compareUrl).toBe(`https://github.com/NixOS/nixpkgs/compare/${A}...${B}`);
  });

  it("counts commits for git inputs from revCount", () => {
    const url = "https://git.example.org/fleet/secrets.git";
    const current = lock({ secrets: "secrets" }, { secrets: git(url, A, "2024-12-01T00:00:00Z", 40) });
    const updated = lock({ secrets: "secrets" }, { secrets: git(url, B, "2024-12-03T00:00:00Z", 43) });
    expect(statuses(current, updated).get("secrets")).toMatchObject({
      upToDate: false,
      daysBehind: 2,
      commitsBehind: 3,
    });
  });

  it("does not count commits across a change of repository", () => {
    const current = lock(
      { secrets: "secrets" },
      { secrets: git("https://a.example/x.git", A, "2024-12-01", 40) },
    );
    const updated = lock(
      { secrets: "secrets" },
      { secrets: git("https://b.example/x.git", B, "2024-12-03", 2) },
    );
    expect(statuses(current, updated).get("secrets")?.commitsBehind).toBeUndefined();
  });

  it("has no status for follows inputs, nor for inputs the update would drop", () => {
    const current = lock(
      { nixpkgs: "nixpkgs", home: "home" },
      {
        nixpkgs: github(A, "2024-12-01T08:00:00Z"),
        home: {
          ...git("https://git.example.org/home.git", A, "2024-12-01", 5),
          inputs: { nixpkgs: ["nixpkgs"], extra: "extra" },
        },
        extra: github(A, "2024-11-01T00:00:00Z"),
      },
    );
    const updated = lock(
      { nixpkgs: "nixpkgs", home: "home" },
      {
        nixpkgs: github(B, "2024-12-15T08:00:00Z"),
        home: {
          ...git("https://git.example.org/home.git", B, "2024-12-02", 6),
          inputs: { nixpkgs: ["nixpkgs"] },
        },
      },
    );
    const all = statuses(current, updated);
    expect(all.get("home/nixpkgs")).toBeUndefined();
    expect(all.get("home/extra")).toBeUndefined();
    expect(all.get("home")).toMatchObject({ upToDate: false, commitsBehind: 1 });
    expect(all.get("nixpkgs")).toMatchObject({ upToDate: false, daysBehind: 14 });
  });
});
