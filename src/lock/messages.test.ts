import { describe, expect, it } from "vitest";
import { diffLocks, lockCommitMessage, prTitle } from "./diff.js";
import { parseFlakeLock } from "./parse.js";
import type { FlakeLock } from "./schema.js";

type Node = Record<string, unknown>;
type Inputs = Record<string, string | string[]>;

function lock(rootInputs: Inputs, nodes: Record<string, Node>): FlakeLock {
  return parseFlakeLock(
    JSON.stringify({ nodes: { root: { inputs: rootInputs }, ...nodes }, root: "root", version: 7 }),
    "flake.lock",
  );
}

const unix = (iso: string) => Date.parse(iso) / 1000;

function github(owner: string, repo: string, rev: string, date: string, ref?: string, inputs?: Inputs): Node {
  return {
    ...(inputs ? { inputs } : {}),
    locked: {
      lastModified: unix(date),
      narHash: `sha256-${rev.slice(0, 43)}=`,
      owner,
      repo,
      rev,
      type: "github",
    },
    original: { owner, ...(ref ? { ref } : {}), repo, type: "github" },
  };
}

const A = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
const B = "d3f2baba8f425779026c6ec04021b2e927f61e31";
const C = "c1fee8d4a60b89cae12b288ba9dbc608ff298163";
const D = "80a4d7f13492d916e47d6195be23acae8001985a";
const E = "11707dc2f618dd54ca8739b309ec4fc024de578b";

const before = lock(
  { "flake-utils": "flake-utils", "home-manager": "home-manager", nixpkgs: "nixpkgs", stylix: "stylix" },
  {
    "flake-utils": github("numtide", "flake-utils", E, "2024-11-13T21:27:16Z"),
    "home-manager": github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", "release-24.11", {
      nixpkgs: ["nixpkgs"],
    }),
    nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-24.11"),
    stylix: github("danth", "stylix", B, "2024-12-10T10:00:00Z", "release-24.11", { nixpkgs: "nixpkgs_2" }),
    nixpkgs_2: github("NixOS", "nixpkgs", D, "2024-11-28T23:59:00Z", "nixos-unstable"),
  },
);
const after = lock(
  { agenix: "agenix", "home-manager": "home-manager", nixpkgs: "nixpkgs", stylix: "stylix" },
  {
    agenix: github("ryantm", "agenix", E, "2024-08-10T12:45:04Z", undefined, { nixpkgs: ["nixpkgs"] }),
    "home-manager": github("nix-community", "home-manager", D, "2025-05-22T09:00:00Z", "release-25.05", {
      nixpkgs: ["nixpkgs"],
    }),
    nixpkgs: github("NixOS", "nixpkgs", B, "2025-05-20T10:00:00Z", "nixos-25.05"),
    stylix: github("danth", "stylix", B, "2024-12-10T10:00:00Z", "release-24.11", { nixpkgs: ["nixpkgs"] }),
  },
);

describe("lockCommitMessage", () => {
  it("names the inputs in the subject and lists every change in the body", () => {
    expect(lockCommitMessage(diffLocks(before, after))).toBe(
      [
        "flake.lock: update home-manager, nixpkgs, stylix; add agenix and 1 more",
        "",
        "• added agenix: github:ryantm/agenix @ 11707dc (2024-08-10)",
        "• added agenix/nixpkgs: follows nixpkgs",
        "• removed flake-utils (was github:numtide/flake-utils @ 11707dc (2024-11-13))",
        "• home-manager: c1fee8d (2024-12-01) → 80a4d7f (2025-05-22), 172 days",
        "  release jump: 24.11 → 25.05",
        "• nixpkgs: 5e4fbfb (2024-12-01) → d3f2bab (2025-05-20), 170 days",
        "  release jump: 24.11 → 25.05",
        "• stylix/nixpkgs: now follows nixpkgs (was github:NixOS/nixpkgs/nixos-unstable @ 80a4d7f (2024-11-28))",
        "",
      ].join("\n"),
    );
  });

  it("keeps the subject within 72 characters", () => {
    const subject = lockCommitMessage(diffLocks(before, after)).split("\n")[0] ?? "";
    expect(subject.length).toBeLessThanOrEqual(72);
  });

  it("describes ref, source and follows-target changes", () => {
    const a = lock(
      { home: "home", nixpkgs: "nixpkgs", unstable: "unstable" },
      {
        home: github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", "master", {
          nixpkgs: ["nixpkgs"],
        }),
        nixpkgs: github("alice", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
        unstable: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
      },
    );
    const b = lock(
      { home: "home", nixpkgs: "nixpkgs", unstable: "unstable" },
      {
        home: github("nix-community", "home-manager", D, "2024-12-03T20:38:04Z", "main", {
          nixpkgs: ["unstable"],
        }),
        nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
        unstable: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
      },
    );
    expect(lockCommitMessage(diffLocks(a, b))).toBe(
      [
        "flake.lock: update home, nixpkgs",
        "",
        "• home: c1fee8d (2024-12-01) → 80a4d7f (2024-12-03), 2 days",
        "  ref: master → main",
        "• home/nixpkgs: follows nixpkgs → follows unstable",
        "• nixpkgs: 5e4fbfb (same revision)",
        "  source: github:alice/nixpkgs → github:NixOS/nixpkgs",
        "",
      ].join("\n"),
    );
  });

  it("says so when nothing changed", () => {
    expect(lockCommitMessage(diffLocks(before, before))).toBe("flake.lock: no changes\n");
  });
});

describe("prTitle", () => {
  it("shows release jumps in parentheses", () => {
    expect(prTitle(diffLocks(before, after))).toBe(
      "flake.lock: update home-manager (24.11 → 25.05), nixpkgs (24.11 → 25.05), stylix; add agenix; remove flake-utils",
    );
  });

  it("summarises many inputs as 'and N more' within 120 characters", () => {
    const names = Array.from({ length: 30 }, (_, i) => `input-number-${String(i).padStart(2, "0")}`);
    const nodes = (rev: string) =>
      Object.fromEntries(names.map((n) => [n, github("someone", n, rev, "2024-12-01T08:10:00Z")]));
    const roots = Object.fromEntries(names.map((n) => [n, n]));
    const title = prTitle(diffLocks(lock(roots, nodes(A)), lock(roots, nodes(B))));
    expect(title.length).toBeLessThanOrEqual(120);
    expect(title).toMatch(/^flake\.lock: update input-number-00, input-number-01, .* and \d+ more$/);
    const shown = title.split(", ").length;
    expect(title.endsWith(`and ${30 - shown} more`)).toBe(true);
  });

  it("puts release jumps first so a shortened title keeps them", () => {
    const names = Array.from({ length: 12 }, (_, i) => `a-rather-long-input-name-${i}`);
    const roots = { ...Object.fromEntries(names.map((n) => [n, n])), nixpkgs: "nixpkgs" };
    const make = (rev: string, ref: string) => ({
      ...Object.fromEntries(names.map((n) => [n, github("someone", n, rev, "2024-12-01T08:10:00Z")])),
      nixpkgs: github("NixOS", "nixpkgs", rev, "2024-12-01T08:10:00Z", ref),
    });
    const title = prTitle(
      diffLocks(lock(roots, make(A, "nixos-24.11")), lock(roots, make(B, "nixos-25.05"))),
    );
    expect(title).toMatch(/^flake\.lock: update nixpkgs \(24\.11 → 25\.05\), a-rather-long-input-name-0, /);
    expect(title.length).toBeLessThanOrEqual(120);
  });

  it("names a transitive-only change by its direct parent", () => {
    const a = lock(
      { utils: "utils" },
      {
        utils: github("numtide", "flake-utils", E, "2024-11-13T21:27:16Z", undefined, { systems: "systems" }),
        systems: github("nix-systems", "default", A, "2023-04-09T08:27:08Z"),
      },
    );
    const b = lock(
      { utils: "utils" },
      {
        utils: github("numtide", "flake-utils", E, "2024-11-13T21:27:16Z", undefined, { systems: "systems" }),
        systems: github("nix-systems", "default", B, "2024-04-09T08:27:08Z"),
      },
    );
    expect(prTitle(diffLocks(a, b))).toBe("flake.lock: update utils");
  });

  it("says so when nothing changed", () => {
    expect(prTitle(diffLocks(after, after))).toBe("flake.lock: no changes");
  });
});
