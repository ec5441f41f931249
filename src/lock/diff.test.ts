import { describe, expect, it } from "vitest";
import { changedInputs, diffLocks, releaseJump, type InputDiff, type LockDiffOptions } from "./diff.js";
import { parseFlakeLock } from "./parse.js";
import type { FlakeLock } from "./schema.js";

type Node = Record<string, unknown>;
type Inputs = Record<string, string | string[]>;

/** A version 7 lock whose root has `rootInputs`; node keys default to the input names. */
function lock(rootInputs: Inputs, nodes: Record<string, Node>): FlakeLock {
  const text = JSON.stringify(
    { nodes: { root: { inputs: rootInputs }, ...nodes }, root: "root", version: 7 },
    null,
    2,
  );
  return parseFlakeLock(text, "flake.lock");
}

const unix = (iso: string) => Date.parse(iso) / 1000;
const narHash = (seed: string) => `sha256-${seed.padEnd(43, "A").slice(0, 43)}=`;

function github(
  owner: string,
  repo: string,
  rev: string,
  date: string,
  opts: { ref?: string; inputs?: Inputs; host?: string } = {},
): Node {
  const host = opts.host === undefined ? {} : { host: opts.host };
  return {
    ...(opts.inputs ? { inputs: opts.inputs } : {}),
    locked: { ...host, lastModified: unix(date), narHash: narHash(rev), owner, repo, rev, type: "github" },
    original: { ...host, owner, ...(opts.ref ? { ref: opts.ref } : {}), repo, type: "github" },
  };
}

const A = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
const B = "d3f2baba8f425779026c6ec04021b2e927f61e31";
const C = "c1fee8d4a60b89cae12b288ba9dbc608ff298163";
const D = "80a4d7f13492d916e47d6195be23acae8001985a";

function only(diff: ReturnType<typeof diffLocks>, id: string): InputDiff {
  const input = diff.inputs.find((i) => i.id === id);
  if (!input) throw new Error(`no input ${id} in diff`);
  return input;
}

describe("diffLocks: basics", () => {
  const before = lock(
    { nixpkgs: "nixpkgs", "home-manager": "home-manager" },
    {
      nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: "nixos-24.11" }),
      "home-manager": github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", {
        ref: "release-24.11",
        inputs: { nixpkgs: ["nixpkgs"] },
      }),
    },
  );

  it("reports nothing for the same lock", () => {
    const diff = diffLocks(before, before);
    expect(diff.changed).toBe(false);
    expect(diff.counts).toEqual({ added: 0, removed: 0, changed: 0, unchanged: 3 });
    expect(changedInputs(diff)).toEqual([]);
  });

  it("reports a moved input with revs, dates, days and a compare link", () => {
    const after = lock(
      { nixpkgs: "nixpkgs", "home-manager": "home-manager" },
      {
        nixpkgs: github("NixOS", "nixpkgs", B, "2024-12-15T20:30:00Z", { ref: "nixos-24.11" }),
        "home-manager": github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", {
          ref: "release-24.11",
          inputs: { nixpkgs: ["nixpkgs"] },
        }),
      },
    );
    const diff = diffLocks(before, after);
    expect(diff.changed).toBe(true);
    expect(diff.counts).toEqual({ added: 0, removed: 0, changed: 1, unchanged: 2 });
    const nixpkgs = only(diff, "nixpkgs");
    expect(nixpkgs).toMatchObject({
      status: "changed",
      oldRev: A,
      newRev: B,
      daysMoved: 14,
      revChanged: true,
      contentChanged: true,
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
    });
    expect(nixpkgs.oldLastModified?.toISOString()).toBe("2024-12-01T08:10:00.000Z");
    expect(nixpkgs.newLastModified?.toISOString()).toBe("2024-12-15T20:30:00.000Z");
    expect(nixpkgs.refChange).toBeUndefined();
    expect(nixpkgs.releaseJump).toBeUndefined();
    expect(nixpkgs.sourceChange).toBeUndefined();
    // The follows input points at the same target: it is not a change of its own.
    expect(only(diff, "home-manager/nixpkgs").status).toBe("unchanged");
  });

  it("counts days backwards when an input moves to an older commit", () => {
    const older = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", B, "2024-11-28T23:59:00Z", { ref: "nixos-24.11" }) },
    );
    const newer = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: "nixos-24.11" }) },
    );
    expect(only(diffLocks(newer, older), "nixpkgs").daysMoved).toBe(-3);
    expect(only(diffLocks(older, newer), "nixpkgs").daysMoved).toBe(3);
  });
});

describe("diffLocks: release jumps", () => {
  it.each([
    ["nixos-24.11", "nixos-25.05", { from: "24.11", to: "25.05", direction: "forward" }],
    ["nixos-25.05", "nixos-24.11", { from: "25.05", to: "24.11", direction: "backward" }],
    ["nixpkgs-24.11-darwin", "nixpkgs-25.05-darwin", { from: "24.11", to: "25.05", direction: "forward" }],
    ["nixos-24.11-small", "nixos-25.05", { from: "24.11", to: "25.05", direction: "forward" }],
    ["release-24.05", "release-24.11", { from: "24.05", to: "24.11", direction: "forward" }],
    ["nixos-24.11", "nixos-24.11-small", undefined],
    ["nixos-24.11", "nixos-unstable", undefined],
    ["nixos-unstable", "nixos-25.05", undefined],
    ["main", "main", undefined],
  ] as const)("%s → %s", (from, to, expected) => {
    expect(releaseJump(from, to)).toEqual(expected);
    const before = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: from }) },
    );
    const after = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", B, "2025-05-20T10:00:00Z", { ref: to }) },
    );
    const input = only(diffLocks(before, after), "nixpkgs");
    expect(input.releaseJump).toEqual(expected);
    expect(input.refChange).toEqual(from === to ? undefined : { from, to });
  });
});

describe("diffLocks: every input type", () => {
  interface Case {
    name: string;
    before: Node;
    after: Node;
    options?: LockDiffOptions;
    expected: Partial<InputDiff>;
    compareUrl?: string;
  }
  const git = (url: string, rev: string, date: string): Node => ({
    locked: {
      lastModified: unix(date),
      narHash: narHash(rev),
      ref: "refs/heads/main",
      rev,
      revCount: 10,
      type: "git",
      url,
    },
    original: { ref: "main", type: "git", url },
  });
  const cases: Case[] = [
    {
      name: "github",
      before: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z"),
      after: github("NixOS", "nixpkgs", B, "2024-12-15T20:30:00Z"),
      expected: { revChanged: true, daysMoved: 14 },
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
    },
    {
      name: "GitHub Enterprise host",
      before: github("infra", "fleet", A, "2024-12-01T08:10:00Z", { host: "github.corp.example" }),
      after: github("infra", "fleet", B, "2024-12-15T20:30:00Z", { host: "github.corp.example" }),
      expected: { revChanged: true },
      compareUrl: `https://github.corp.example/infra/fleet/compare/${A}...${B}`,
    },
    {
      name: "gitlab.com",
      before: retype(github("veloren", "veloren", A, "2024-12-01T08:10:00Z"), "gitlab"),
      after: retype(github("veloren", "veloren", B, "2024-12-15T20:30:00Z"), "gitlab"),
      expected: { revChanged: true },
      compareUrl: `https://gitlab.com/veloren/veloren/-/compare/${A}...${B}`,
    },
    {
      name: "self-hosted GitLab, subgroup",
      before: retype(
        github("openldap%2Fcore", "openldap", A, "2024-12-01T08:10:00Z", { host: "git.openldap.org" }),
        "gitlab",
      ),
      after: retype(
        github("openldap%2Fcore", "openldap", B, "2024-12-15T20:30:00Z", { host: "git.openldap.org" }),
        "gitlab",
      ),
      expected: { revChanged: true },
      compareUrl: `https://git.openldap.org/openldap/core/openldap/-/compare/${A}...${B}`,
    },
    {
      name: "sourcehut (log from the new revision)",
      before: retype(github("~misterio", "nix-colors", A, "2024-12-01T08:10:00Z"), "sourcehut"),
      after: retype(github("~misterio", "nix-colors", B, "2024-12-15T20:30:00Z"), "sourcehut"),
      expected: { revChanged: true },
      compareUrl: `https://git.sr.ht/~misterio/nix-colors/log/${B}`,
    },
    {
      name: "git on codeberg (Forgejo)",
      before: git("https://codeberg.org/alice/dotfiles.git", A, "2024-12-01T08:10:00Z"),
      after: git("https://codeberg.org/alice/dotfiles.git", B, "2024-12-15T20:30:00Z"),
      expected: { revChanged: true, refChange: undefined },
      compareUrl: `https://codeberg.org/alice/dotfiles/compare/${A}...${B}`,
    },
    {
      name: "git on a configured Gitea host",
      before: git("https://git.home.example/alice/nixos.git", A, "2024-12-01T08:10:00Z"),
      after: git("https://git.home.example/alice/nixos.git", B, "2024-12-15T20:30:00Z"),
      options: { forgeHosts: ["GIT.home.example"] },
      expected: { revChanged: true },
      compareUrl: `https://git.home.example/alice/nixos/compare/${A}...${B}`,
    },
    {
      name: "git on an unknown host",
      before: git("https://git.home.example/alice/nixos.git", A, "2024-12-01T08:10:00Z"),
      after: git("https://git.home.example/alice/nixos.git", B, "2024-12-15T20:30:00Z"),
      expected: { revChanged: true },
    },
    {
      name: "git over ssh to github.com",
      before: git("ssh://git@github.com/alice/secrets", A, "2024-12-01T08:10:00Z"),
      after: git("ssh://git@github.com/alice/secrets", B, "2024-12-15T20:30:00Z"),
      expected: { revChanged: true },
      compareUrl: `https://github.com/alice/secrets/compare/${A}...${B}`,
    },
    {
      name: "git+file",
      before: git("file:///home/alice/src/tools", A, "2024-12-01T08:10:00Z"),
      after: git("file:///home/alice/src/tools", B, "2024-12-15T20:30:00Z"),
      expected: { revChanged: true, daysMoved: 14 },
    },
    {
      name: "path (no rev: content and date only)",
      before: {
        locked: {
          lastModified: unix("2024-12-01T08:10:00Z"),
          narHash: narHash("old"),
          path: "/etc/nixos/secrets",
          type: "path",
        },
        original: { path: "/etc/nixos/secrets", type: "path" },
      },
      after: {
        locked: {
          lastModified: unix("2024-12-15T20:30:00Z"),
          narHash: narHash("new"),
          path: "/etc/nixos/secrets",
          type: "path",
        },
        original: { path: "/etc/nixos/secrets", type: "path" },
      },
      expected: { revChanged: false, contentChanged: true, daysMoved: 14, oldRev: undefined },
    },
    {
      name: "tarball from FlakeHub",
      before: {
        locked: {
          narHash: narHash("old"),
          rev: A,
          revCount: 20,
          type: "tarball",
          url: "https://api.flakehub.com/f/pinned/DeterminateSystems/flake-schemas/0.1.0/0189/source.tar.gz",
        },
        original: {
          type: "tarball",
          url: "https://flakehub.com/f/DeterminateSystems/flake-schemas/0.1.tar.gz",
        },
      },
      after: {
        locked: {
          narHash: narHash("new"),
          rev: B,
          revCount: 21,
          type: "tarball",
          url: "https://api.flakehub.com/f/pinned/DeterminateSystems/flake-schemas/0.1.1/018a/source.tar.gz",
        },
        original: {
          type: "tarball",
          url: "https://flakehub.com/f/DeterminateSystems/flake-schemas/0.1.tar.gz",
        },
      },
      expected: { revChanged: true, sourceChange: undefined, daysMoved: undefined },
    },
    {
      name: "file",
      before: {
        flake: false,
        locked: { narHash: narHash("old"), type: "file", url: "https://example.org/hosts.json" },
        original: { type: "file", url: "https://example.org/hosts.json" },
      },
      after: {
        flake: false,
        locked: { narHash: narHash("new"), type: "file", url: "https://example.org/hosts.json" },
        original: { type: "file", url: "https://example.org/hosts.json" },
      },
      expected: { revChanged: false, contentChanged: true },
    },
    {
      name: "mercurial",
      before: retype(git("https://hg.example.org/repo", A, "2024-12-01T08:10:00Z"), "mercurial"),
      after: retype(git("https://hg.example.org/repo", B, "2024-12-15T20:30:00Z"), "mercurial"),
      expected: { revChanged: true },
    },
    {
      name: "indirect (registry) original",
      before: {
        ...github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z"),
        original: { id: "nixpkgs", type: "indirect" },
      },
      after: {
        ...github("NixOS", "nixpkgs", B, "2024-12-15T20:30:00Z"),
        original: { id: "nixpkgs", type: "indirect" },
      },
      expected: { revChanged: true, sourceChange: undefined },
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
    },
  ];

  it.each(cases)("$name", ({ before, after, options, expected, compareUrl }) => {
    const diff = diffLocks(lock({ x: "x" }, { x: before }), lock({ x: "x" }, { x: after }), options);
    const input = only(diff, "x");
    expect(input.status).toBe("changed");
    const present = Object.entries(expected).filter(([, value]) => value !== undefined);
    expect(input).toMatchObject(Object.fromEntries(present));
    // `key: undefined` in a case means the diff must not have that key at all.
    for (const [key, value] of Object.entries(expected))
      if (value === undefined) expect(input).not.toHaveProperty(key);
    expect(input.compareUrl).toBe(compareUrl);
    expect(input.typeChange).toBeUndefined();
  });
});

/** Change a node's locked and original type (github → gitlab/sourcehut/mercurial share the attribute shape). */
function retype(node: Node, type: string): Node {
  return {
    ...node,
    locked: { ...(node["locked"] as Node), type },
    original: { ...(node["original"] as Node), type },
  };
}

describe("diffLocks: source, type and flake changes", () => {
  it("reports a move to another repository without a compare link", () => {
    const before = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("alice", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: "nixos-24.11" }) },
    );
    const after = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", B, "2024-12-15T20:30:00Z", { ref: "nixos-24.11" }) },
    );
    const input = only(diffLocks(before, after), "nixpkgs");
    expect(input.sourceChange).toEqual({ from: "github:alice/nixpkgs", to: "github:NixOS/nixpkgs" });
    expect(input.compareUrl).toBeUndefined();
  });

  it("reports a type change (github → git) and still links the same GitHub repo", () => {
    const before = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z") },
    );
    const after = lock(
      { nixpkgs: "nixpkgs" },
      {
        nixpkgs: {
          locked: {
            lastModified: unix("2024-12-15T20:30:00Z"),
            narHash: narHash(B),
            rev: B,
            revCount: 700000,
            type: "git",
            url: "https://github.com/NixOS/nixpkgs",
          },
          original: { type: "git", url: "https://github.com/NixOS/nixpkgs" },
        },
      },
    );
    const input = only(diffLocks(before, after), "nixpkgs");
    expect(input.typeChange).toEqual({ from: "github", to: "git" });
    expect(input.sourceChange).toEqual({
      from: "github:NixOS/nixpkgs",
      to: "git+https://github.com/NixOS/nixpkgs",
    });
    expect(input.compareUrl).toBe(`https://github.com/NixOS/nixpkgs/compare/${A}...${B}`);
  });

  it("reports a flake = false switch even when nothing else moved", () => {
    const node = github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z");
    const input = only(
      diffLocks(lock({ x: "x" }, { x: node }), lock({ x: "x" }, { x: { ...node, flake: false } })),
      "x",
    );
    expect(input).toMatchObject({
      status: "changed",
      flakeChange: { from: true, to: false },
      revChanged: false,
    });
  });
});

describe("diffLocks: follows", () => {
  const nixpkgs = github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: "nixos-24.11" });
  const unstable = github("NixOS", "nixpkgs", B, "2024-12-15T20:30:00Z", { ref: "nixos-unstable" });
  const hm = (inputs: Inputs) =>
    github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", { ref: "release-24.11", inputs });
  const roots = {
    "home-manager": "home-manager",
    nixpkgs: "nixpkgs",
    "nixpkgs-unstable": "nixpkgs-unstable",
  };
  const following = (target: string) =>
    lock(roots, { "home-manager": hm({ nixpkgs: [target] }), nixpkgs, "nixpkgs-unstable": unstable });
  const own = lock(roots, {
    "home-manager": hm({ nixpkgs: "nixpkgs_2" }),
    nixpkgs,
    "nixpkgs-unstable": unstable,
    nixpkgs_2: github("NixOS", "nixpkgs", D, "2024-11-28T23:59:00Z", { ref: "nixos-unstable" }),
  });

  it.each([
    ["became a follows", own, following("nixpkgs"), { from: undefined, to: "nixpkgs" }],
    [
      "changed target",
      following("nixpkgs"),
      following("nixpkgs-unstable"),
      { from: "nixpkgs", to: "nixpkgs-unstable" },
    ],
    ["stopped following", following("nixpkgs"), own, { from: "nixpkgs", to: undefined }],
  ])("%s", (_name, before, after, change) => {
    const diff = diffLocks(before, after);
    const input = only(diff, "home-manager/nixpkgs");
    expect(input).toMatchObject({ status: "changed", parent: "home-manager", depth: 1, direct: false });
    expect(input.followsChange).toEqual(change);
    expect(only(diff, "home-manager").status).toBe("unchanged");
    expect(diff.changed).toBe(true);
  });

  it("keeps both sides' resolved revisions", () => {
    const input = only(diffLocks(own, following("nixpkgs")), "home-manager/nixpkgs");
    expect(input).toMatchObject({ oldRev: D, newRev: A, revChanged: true });
  });
});

describe("diffLocks: added, removed and transitive inputs", () => {
  const base = {
    nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", { ref: "nixos-24.11" }),
  };
  const before = lock(
    { nixpkgs: "nixpkgs", "flake-utils": "flake-utils" },
    {
      ...base,
      "flake-utils": github("numtide", "flake-utils", C, "2024-11-13T21:27:16Z", {
        inputs: { systems: "systems" },
      }),
      systems: github("nix-systems", "default", D, "2023-04-09T08:27:08Z"),
    },
  );
  const after = lock(
    { nixpkgs: "nixpkgs", agenix: "agenix" },
    {
      ...base,
      agenix: github("ryantm", "agenix", B, "2024-08-10T12:45:04Z", {
        inputs: { nixpkgs: ["nixpkgs"], systems: "systems" },
      }),
      systems: github("nix-systems", "default", D, "2023-04-09T08:27:08Z"),
    },
  );
  const diff = diffLocks(before, after);

  it("orders inputs depth first with transitive ones after their parent", () => {
    expect(diff.inputs.map((i) => [i.id, i.status, i.parent])).toEqual([
      ["agenix", "added", undefined],
      ["agenix/nixpkgs", "added", "agenix"],
      ["agenix/systems", "added", "agenix"],
      ["flake-utils", "removed", undefined],
      ["flake-utils/systems", "removed", "flake-utils"],
      ["nixpkgs", "unchanged", undefined],
    ]);
    expect(diff.counts).toEqual({ added: 3, removed: 2, changed: 0, unchanged: 1 });
  });

  it("keeps the side that exists", () => {
    expect(only(diff, "agenix")).toMatchObject({ newRev: B, after: { source: "github:ryantm/agenix" } });
    expect(only(diff, "agenix").before).toBeUndefined();
    expect(only(diff, "flake-utils")).toMatchObject({
      oldRev: C,
      before: { source: "github:numtide/flake-utils" },
    });
    expect(only(diff, "agenix/nixpkgs").after?.followsTarget).toBe("nixpkgs");
  });

  it("reports a transitive change under an unchanged parent", () => {
    const moved = lock(
      { nixpkgs: "nixpkgs", "flake-utils": "flake-utils" },
      {
        ...base,
        "flake-utils": github("numtide", "flake-utils", C, "2024-11-13T21:27:16Z", {
          inputs: { systems: "systems" },
        }),
        systems: github("nix-systems", "default", B, "2024-04-09T08:27:08Z"),
      },
    );
    const d = diffLocks(before, moved);
    expect(changedInputs(d).map((i) => [i.id, i.parent])).toEqual([["flake-utils/systems", "flake-utils"]]);
    expect(only(d, "flake-utils").status).toBe("unchanged");
  });
});
