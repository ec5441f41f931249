import { describe, expect, it } from "vitest";
import { lockInputs, type LockedInput } from "./graph.js";
import { parseFlakeLock } from "./parse.js";
import {
  assessInputs,
  defaultStalenessPolicy,
  isNixpkgsLike,
  policyPassed,
  supportedBranchesAt,
  type InputVerdict,
} from "./staleness.js";

const now = new Date("2025-06-11T09:00:00Z");
const unix = (iso: string) => Date.parse(iso) / 1000;

type Node = Record<string, unknown>;

function github(
  owner: string,
  repo: string,
  date: string,
  ref?: string,
  inputs?: Record<string, string | string[]>,
): Node {
  const rev = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
  return {
    ...(inputs ? { inputs } : {}),
    locked: {
      lastModified: unix(date),
      narHash: "sha256-Ln3mgx8ZF5O7Kp2e1S8Yp3vZJ6yTb5Z7Fu2xqNHnW2k=",
      owner,
      repo,
      rev,
      type: "github",
    },
    original: { owner, ...(ref ? { ref } : {}), repo, type: "github" },
  };
}

function inputsOf(nodes: Record<string, Node>): LockedInput[] {
  const roots = Object.fromEntries(
    Object.keys(nodes)
      .filter((k) => !k.includes("_"))
      .map((k) => [k, k]),
  );
  const text = JSON.stringify({ nodes: { root: { inputs: roots }, ...nodes }, root: "root", version: 7 });
  return lockInputs(parseFlakeLock(text, "flake.lock"));
}

function verdictFor(verdicts: InputVerdict[], id: string): InputVerdict {
  const verdict = verdicts.find((v) => v.input.id === id);
  if (!verdict) throw new Error(`no verdict for ${id}`);
  return verdict;
}

describe("supportedBranchesAt", () => {
  it("lists the unstable channels and the two newest releases with their variants", () => {
    expect(supportedBranchesAt(new Date("2026-11-22T00:00:00Z"))).toEqual([
      "nixos-unstable",
      "nixos-unstable-small",
      "nixpkgs-unstable",
      "nixos-26.11",
      "nixos-26.11-small",
      "nixpkgs-26.11-darwin",
      "nixos-26.05",
      "nixos-26.05-small",
      "nixpkgs-26.05-darwin",
    ]);
  });

  it.each([
    ["2025-06-11T09:00:00Z", "nixos-25.05", "nixos-24.11", "nixos-24.05"],
    ["2025-04-30T23:00:00Z", "nixos-24.11", "nixos-24.05", "nixos-25.05"],
    ["2025-11-01T00:00:00Z", "nixos-25.11", "nixos-25.05", "nixos-24.11"],
  ])("at %s: %s and %s, not %s", (at, newest, previous, unsupported) => {
    const branches = supportedBranchesAt(new Date(at));
    expect(branches).toContain(newest);
    expect(branches).toContain(previous);
    expect(branches).not.toContain(unsupported);
  });
});

describe("isNixpkgsLike", () => {
  const cases: Array<[string, Node, boolean]> = [
    ["github NixOS/nixpkgs", github("NixOS", "nixpkgs", "2025-06-01T00:00:00Z"), true],
    ["a fork named nixpkgs", github("alice", "nixpkgs", "2025-06-01T00:00:00Z"), true],
    ["home-manager", github("nix-community", "home-manager", "2025-06-01T00:00:00Z"), false],
    [
      "gitlab mirror",
      {
        locked: {
          lastModified: 1,
          narHash: "sha256-x",
          owner: "mirrors",
          repo: "nixpkgs",
          rev: "a",
          type: "gitlab",
        },
        original: { owner: "mirrors", repo: "nixpkgs", type: "gitlab" },
      },
      true,
    ],
    [
      "git clone",
      {
        locked: {
          lastModified: 1,
          narHash: "sha256-x",
          rev: "a",
          type: "git",
          url: "https://github.com/NixOS/nixpkgs.git",
        },
        original: { type: "git", url: "https://github.com/NixOS/nixpkgs.git" },
      },
      true,
    ],
    [
      "channel tarball",
      {
        locked: {
          narHash: "sha256-x",
          type: "tarball",
          url: "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz",
        },
        original: { type: "tarball", url: "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz" },
      },
      true,
    ],
    [
      "path with repo-like name",
      {
        locked: { lastModified: 1, narHash: "sha256-x", path: "/src/nixpkgs", type: "path" },
        original: { path: "/src/nixpkgs", type: "path" },
      },
      false,
    ],
  ];
  it.each(cases)("%s → %s", (_name, node, expected) => {
    const [input] = inputsOf({ x: node });
    expect(input && isNixpkgsLike(input)).toBe(expected);
  });

  it("treats any input named nixpkgs as Nixpkgs", () => {
    const input = inputsOf({
      nixpkgs: {
        locked: { lastModified: 1, narHash: "sha256-x", path: "/src/np", type: "path" },
        original: { path: "/src/np", type: "path" },
      },
    })[0];
    expect(input && isNixpkgsLike(input)).toBe(true);
  });
});

describe("assessInputs", () => {
  const inputs = inputsOf({
    nixpkgs: github("NixOS", "nixpkgs", "2025-06-01T00:00:00Z", "nixos-25.05"),
    "nixpkgs-old": github("NixOS", "nixpkgs", "2025-04-30T08:00:00Z", "nixos-24.11"),
    "nixpkgs-eol": github("NixOS", "nixpkgs", "2025-06-10T00:00:00Z", "nixos-23.11"),
    "nixpkgs-fork": github("alice", "nixpkgs", "2025-06-10T00:00:00Z", "nixos-unstable"),
    "nixpkgs-pinned": github("NixOS", "nixpkgs", "2025-06-10T00:00:00Z"),
    "home-manager": github("nix-community", "home-manager", "2024-12-01T00:00:00Z", "release-24.11", {
      nixpkgs: ["nixpkgs"],
    }),
    utils: github("numtide", "flake-utils", "2024-11-13T21:27:16Z", undefined, { nixpkgs: "nixpkgs_2" }),
    nixpkgs_2: github("NixOS", "nixpkgs", "2023-01-01T00:00:00Z", "this-is-old"),
  });
  const verdicts = assessInputs(inputs, {}, now);

  it.each([
    ["nixpkgs", "ok", [], 10],
    ["nixpkgs-old", "stale", ["stale: 42 days old (policy: 30)"], 42],
    [
      "nixpkgs-eol",
      "unsupported-branch",
      ["unsupported-branch: branch nixos-23.11 is not a supported Nixpkgs branch"],
      1,
    ],
    ["nixpkgs-fork", "non-upstream", ["non-upstream: owner alice is not an allowed owner (NixOS)"], 1],
    // No explicit branch: like flake-checker, nothing to check.
    ["nixpkgs-pinned", "ok", [], 1],
    // Not Nixpkgs: age reported, no checks.
    ["home-manager", "ok", [], 192],
    // Follows: judged at its target.
    ["home-manager/nixpkgs", "ok", [], 10],
    // Transitive Nixpkgs: not checked by default.
    ["utils/nixpkgs", "ok", [], 892],
  ] as const)("%s → %s", (id, verdict, issues, age) => {
    const v = verdictFor(verdicts, id);
    expect(v.verdict).toBe(verdict);
    expect(v.issues.map((i) => `${i.kind}: ${i.reason}`)).toEqual(issues);
    expect(v.ageDays).toBe(age);
  });

  it("records which inputs were checked", () => {
    expect(verdicts.filter((v) => v.checked).map((v) => v.input.id)).toEqual([
      "nixpkgs",
      "nixpkgs-eol",
      "nixpkgs-fork",
      "nixpkgs-old",
      "nixpkgs-pinned",
    ]);
  });

  it("carries the policy data with the issue", () => {
    const [stale] = verdictFor(verdicts, "nixpkgs-old").issues;
    expect(stale?.maxAgeDays).toBe(30);
    const [branch] = verdictFor(verdicts, "nixpkgs-eol").issues;
    expect(branch?.supportedBranches).toEqual(supportedBranchesAt(now));
  });

  it("fails the policy when any input has an issue", () => {
    expect(policyPassed(verdicts)).toBe(false);
    expect(policyPassed(verdicts.filter((v) => v.issues.length === 0))).toBe(true);
    expect(policyPassed([])).toBe(true);
  });

  it.each([
    ["not pinned", [], ["stale", "unsupported-branch", "non-upstream"], false],
    ["pinned: only the owner check is left", ["nixpkgs"], ["non-upstream"], true],
  ])("%s", (_name, pinned, kinds, isPin) => {
    const [v] = assessInputs(
      inputsOf({ nixpkgs: github("alice", "nixpkgs", "2025-01-01T00:00:00Z", "nixos-23.05") }),
      { pinned: new Set(pinned) },
      now,
    );
    expect(v?.issues.map((i) => i.kind)).toEqual(kinds);
    expect(v?.pinned).toBe(isPin);
  });

  it("lists every issue of an input, stale first", () => {
    const [v] = assessInputs(
      inputsOf({ nixpkgs: github("alice", "nixpkgs", "2025-01-01T00:00:00Z", "main") }),
      {},
      now,
    );
    expect(v?.verdict).toBe("stale");
    expect(v?.issues.map((i) => i.kind)).toEqual(["stale", "unsupported-branch", "non-upstream"]);
  });

  it("flags a path input named nixpkgs as non-upstream", () => {
    const [v] = assessInputs(
      inputsOf({
        nixpkgs: {
          locked: {
            lastModified: unix("2025-06-10T00:00:00Z"),
            narHash: "sha256-x",
            path: "/src/nixpkgs",
            type: "path",
          },
          original: { path: "/src/nixpkgs", type: "path" },
        },
      }),
      {},
      now,
    );
    expect(v?.issues).toEqual([
      { kind: "non-upstream", reason: "path:/src/nixpkgs is not from an allowed owner (NixOS)" },
    ]);
  });

  it.each([
    ["a source in allowedOwners", ["path:/src/nixpkgs"], "ok"],
    ["a folder above the source", ["path:/src/"], "ok"],
    ["a sibling source (rejecting)", ["path:/src/nixpkgs-other"], "non-upstream"],
    ["a prefix that is not a folder (rejecting)", ["path:/src/nix"], "non-upstream"],
    ["an owner name (rejecting, a path has no owner)", ["src"], "non-upstream"],
  ] as const)("allows an owner-less input by %s", (_name, allowedOwners, verdict) => {
    const [v] = assessInputs(
      inputsOf({
        nixpkgs: {
          locked: {
            lastModified: unix("2025-06-10T00:00:00Z"),
            narHash: "sha256-x",
            path: "/src/nixpkgs",
            type: "path",
          },
          original: { path: "/src/nixpkgs", type: "path" },
        },
      }),
      { allowedOwners },
      now,
    );
    expect(v?.verdict).toBe(verdict);
  });

  it.each([
    ["a longer maximum age", { maxAgeDays: 60 }, "nixpkgs-old", "ok"],
    ["a source among the owners", { allowedOwners: ["NixOS", "github:alice/nixpkgs"] }, "nixpkgs-fork", "ok"],
    ["an explicit branch list", { supportedBranches: ["nixos-23.11"] }, "nixpkgs-eol", "ok"],
    [
      "an explicit branch list (rejecting)",
      { supportedBranches: ["nixos-23.11"] },
      "nixpkgs",
      "unsupported-branch",
    ],
    ["more owners, any case", { allowedOwners: ["NixOS", "ALICE"] }, "nixpkgs-fork", "ok"],
    ["the age limit for every input", { maxAgeForAll: true }, "home-manager", "stale"],
    ["transitive checks", { checkTransitive: true }, "utils/nixpkgs", "stale"],
    [
      "a custom Nixpkgs test",
      { nixpkgsLike: (i: LockedInput) => i.name === "home-manager" },
      "home-manager",
      "stale",
    ],
    ["a custom Nixpkgs test (excluding)", { nixpkgsLike: () => false }, "nixpkgs-fork", "ok"],
  ] as const)("honours %s", (_name, policy, id, verdict) => {
    expect(verdictFor(assessInputs(inputs, policy, now), id).verdict).toBe(verdict);
  });

  it("checks a tarball channel by owner", () => {
    const [v] = assessInputs(
      inputsOf({
        nixpkgs: {
          locked: {
            narHash: "sha256-x",
            type: "tarball",
            url: "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz",
          },
          original: { type: "tarball", url: "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz" },
        },
      }),
      {},
      now,
    );
    expect(v).toMatchObject({ verdict: "ok", checked: true, nixpkgsLike: true });
    expect(v?.ageDays).toBeUndefined();
  });

  it("has flake-checker's defaults", () => {
    expect(defaultStalenessPolicy).toMatchObject({
      maxAgeDays: 30,
      supportedBranches: "auto",
      allowedOwners: ["NixOS"],
    });
  });
});
