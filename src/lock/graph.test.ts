import { describe, expect, it } from "vitest";
import { comparePaths, lockInputs } from "./graph.js";
import { parseFlakeLock } from "./parse.js";

/** A lock with one input of every type, written the way `nix flake lock` writes them. */
const everyTypeLock = {
  nodes: {
    root: {
      inputs: {
        "flake-schemas": "flake-schemas",
        hgrepo: "hgrepo",
        hosts: "hosts",
        local: "local",
        "nix-colors": "nix-colors",
        nixpkgs: "nixpkgs",
        openldap: "openldap",
        private: "private",
        registry: "registry",
        secrets: "secrets",
      },
    },
    nixpkgs: {
      locked: {
        lastModified: 1733040600,
        narHash: "sha256-Ln3mgx8ZF5O7Kp2e1S8Yp3vZJ6yTb5Z7Fu2xqNHnW2k=",
        owner: "NixOS",
        repo: "nixpkgs",
        rev: "5e4fbfb6b3de1aa2872b76d49fafc942626e2add",
        type: "github",
      },
      original: { owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" },
    },
    openldap: {
      locked: {
        host: "git.openldap.org",
        lastModified: 1732838340,
        narHash: "sha256-4Uu6N6oFQm1lBqJ7WB2o3qm3iJ0nQ0gE3r+Q0mBxA1E=",
        owner: "openldap",
        repo: "openldap",
        rev: "80a4d7f13492d916e47d6195be23acae8001985a",
        type: "gitlab",
      },
      original: { host: "git.openldap.org", owner: "openldap", repo: "openldap", type: "gitlab" },
    },
    "nix-colors": {
      locked: {
        lastModified: 1707825078,
        narHash: "sha256-hTfge2J2W+42SZ7VHXkf4kjU+qzFqPeC9k66jAUBMHk=",
        owner: "~misterio",
        repo: "nix-colors",
        rev: "b01f024090d2c4fc3152cd0cf12027a7b8453ba1",
        type: "sourcehut",
      },
      original: { owner: "~misterio", repo: "nix-colors", type: "sourcehut" },
    },
    private: {
      locked: {
        lastModified: 1734294600,
        narHash: "sha256-8xRYcK9u1t5GfHQ7m2m3O1nQm2x4u3fD6d9H2ZrZ8mE=",
        ref: "refs/heads/main",
        rev: "d3f2baba8f425779026c6ec04021b2e927f61e31",
        revCount: 412,
        type: "git",
        url: "https://codeberg.org/alice/dotfiles.git",
      },
      original: { ref: "main", type: "git", url: "https://codeberg.org/alice/dotfiles.git" },
    },
    local: {
      locked: {
        lastModified: 1734294600,
        narHash: "sha256-3nX0nWcVwq3l5m6u7cD2bKpQ9t3x8vV4rW5nY2aT1sE=",
        ref: "main",
        rev: "e486d8d40e626a20e06d792db8cc5ac5aba9a5b4",
        revCount: 7,
        type: "git",
        url: "file:///home/alice/src/tools",
      },
      original: { ref: "main", type: "git", url: "file:///home/alice/src/tools" },
    },
    secrets: {
      flake: false,
      locked: {
        lastModified: 1733085484,
        narHash: "sha256-q0n2vZ3x2Y0m8cY3nQ4sX9r5u1tX2yZ6wV7b8c9d0eE=",
        path: "/etc/nixos/secrets",
        type: "path",
      },
      original: { path: "/etc/nixos/secrets", type: "path" },
    },
    "flake-schemas": {
      locked: {
        narHash: "sha256-ifw8Td8kD08J8DxFbYjeIx5naHcDLz7s2IFP3X42I/U=",
        rev: "c702cbb663d6d70bbb716584a2ee3aeb35017279",
        revCount: 21,
        type: "tarball",
        url: "https://api.flakehub.com/f/pinned/DeterminateSystems/flake-schemas/0.1.1/018a4c59-80e1-708a-bb4d-854930c20f72/source.tar.gz",
      },
      original: {
        type: "tarball",
        url: "https://flakehub.com/f/DeterminateSystems/flake-schemas/0.1.1.tar.gz",
      },
    },
    hosts: {
      flake: false,
      locked: {
        narHash: "sha256-9d1o8m7vB6c5X4z3Y2w1V0u9T8s7R6q5P4o3N2m1L0k=",
        type: "file",
        url: "https://example.org/hosts.json",
      },
      original: { type: "file", url: "https://example.org/hosts.json" },
    },
    hgrepo: {
      locked: {
        lastModified: 1728993600,
        narHash: "sha256-1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2=",
        ref: "default",
        rev: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
        type: "mercurial",
        url: "https://hg.example.org/repo",
      },
      original: { type: "mercurial", url: "https://hg.example.org/repo" },
    },
    registry: {
      locked: {
        lastModified: 1733040600,
        narHash: "sha256-Ln3mgx8ZF5O7Kp2e1S8Yp3vZJ6yTb5Z7Fu2xqNHnW2k=",
        owner: "NixOS",
        repo: "nixpkgs",
        rev: "5e4fbfb6b3de1aa2872b76d49fafc942626e2add",
        type: "github",
      },
      original: { id: "nixpkgs", type: "indirect" },
    },
  },
  root: "root",
  version: 7,
};

describe("lockInputs: every input type", () => {
  const inputs = new Map(
    lockInputs(parseFlakeLock(JSON.stringify(everyTypeLock), "flake.lock")).map((i) => [i.id, i]),
  );

  it.each([
    {
      id: "nixpkgs",
      type: "github",
      source: "github:NixOS/nixpkgs/nixos-24.11",
      location: "github:NixOS/nixpkgs",
      owner: "NixOS",
      repo: "nixpkgs",
      ref: "nixos-24.11",
      shortRev: "5e4fbfb",
      date: "2024-12-01T08:10:00.000Z",
    },
    {
      id: "openldap",
      type: "gitlab",
      source: "gitlab:openldap/openldap?host=git.openldap.org",
      location: "gitlab:openldap/openldap?host=git.openldap.org",
      owner: "openldap",
      repo: "openldap",
      host: "git.openldap.org",
      shortRev: "80a4d7f",
      date: "2024-11-28T23:59:00.000Z",
    },
    {
      id: "nix-colors",
      type: "sourcehut",
      source: "sourcehut:~misterio/nix-colors",
      location: "sourcehut:~misterio/nix-colors",
      owner: "~misterio",
      repo: "nix-colors",
      shortRev: "b01f024",
      date: "2024-02-13T11:51:18.000Z",
    },
    {
      id: "private",
      type: "git",
      source: "git+https://codeberg.org/alice/dotfiles.git?ref=main",
      location: "git+https://codeberg.org/alice/dotfiles.git",
      owner: "alice",
      repo: "dotfiles",
      host: "codeberg.org",
      url: "https://codeberg.org/alice/dotfiles.git",
      ref: "main",
      shortRev: "d3f2bab",
      date: "2024-12-15T20:30:00.000Z",
    },
    {
      id: "local",
      type: "git",
      source: "git+file:///home/alice/src/tools?ref=main",
      location: "git+file:///home/alice/src/tools",
      url: "file:///home/alice/src/tools",
      ref: "main",
      shortRev: "e486d8d",
      date: "2024-12-15T20:30:00.000Z",
    },
    {
      id: "secrets",
      type: "path",
      source: "path:/etc/nixos/secrets",
      location: "path:/etc/nixos/secrets",
      date: "2024-12-01T20:38:04.000Z",
      flake: false,
    },
    {
      id: "flake-schemas",
      type: "tarball",
      source: "https://flakehub.com/f/DeterminateSystems/flake-schemas/0.1.1.tar.gz",
      location: "https://flakehub.com/f/DeterminateSystems/flake-schemas/0.1.1.tar.gz",
      owner: "DeterminateSystems",
      repo: "flake-schemas",
      host: "api.flakehub.com",
      url: "https://api.flakehub.com/f/pinned/DeterminateSystems/flake-schemas/0.1.1/018a4c59-80e1-708a-bb4d-854930c20f72/source.tar.gz",
      shortRev: "c702cbb",
    },
    {
      id: "hosts",
      type: "file",
      source: "file+https://example.org/hosts.json",
      location: "file+https://example.org/hosts.json",
      url: "https://example.org/hosts.json",
      flake: false,
    },
    {
      id: "hgrepo",
      type: "mercurial",
      source: "hg+https://hg.example.org/repo",
      location: "hg+https://hg.example.org/repo",
      url: "https://hg.example.org/repo",
      ref: "default",
      shortRev: "0a1b2c3",
      date: "2024-10-15T12:00:00.000Z",
    },
    {
      id: "registry",
      type: "github",
      source: "flake:nixpkgs",
      location: "flake:nixpkgs",
      owner: "NixOS",
      repo: "nixpkgs",
      shortRev: "5e4fbfb",
      date: "2024-12-01T08:10:00.000Z",
    },
  ])("$id ($type)", (expected) => {
    const input = inputs.get(expected.id);
    expect(input).toBeDefined();
    if (!input) return;
    expect({
      type: input.type,
      source: input.source,
      location: input.location,
      owner: input.owner,
      repo: input.repo,
      host: input.host,
      url: input.url,
      ref: input.ref,
      shortRev: input.shortRev,
      date: input.lastModified?.toISOString(),
      flake: input.flake,
    }).toEqual({
      owner: undefined,
      repo: undefined,
      host: undefined,
      url: undefined,
      ref: undefined,
      shortRev: undefined,
      date: undefined,
      flake: true,
      ...expected,
      id: undefined,
    });
    expect(input.direct).toBe(true);
    expect(input.parent).toBeUndefined();
    expect(input.shortRev).toBe(input.rev?.slice(0, 7));
  });

  it("keeps narHash and revCount", () => {
    expect(inputs.get("private")?.revCount).toBe(412);
    expect(inputs.get("hosts")?.narHash).toBe("sha256-9d1o8m7vB6c5X4z3Y2w1V0u9T8s7R6q5P4o3N2m1L0k=");
  });
});

/** nixpkgs; home-manager following it; agenix and flake-utils sharing one systems node; stylix following through home-manager. */
const transitiveLock = {
  nodes: {
    root: {
      inputs: {
        agenix: "agenix",
        "flake-utils": "flake-utils",
        "home-manager": "home-manager",
        nixpkgs: "nixpkgs",
        stylix: "stylix",
      },
    },
    agenix: {
      inputs: {
        darwin: "darwin",
        "home-manager": ["home-manager"],
        nixpkgs: ["nixpkgs"],
        systems: "systems",
      },
      locked: gh("ryantm", "agenix", "f6291c5935fdc4e0bef208cfc0dcab7e3f7a1c41", 1723293904),
      original: { owner: "ryantm", repo: "agenix", type: "github" },
    },
    darwin: {
      inputs: { nixpkgs: ["agenix", "nixpkgs"] },
      locked: gh("lnl7", "nix-darwin", "4b9b83d5a92e8c1fbfd8eb27eda375908c11ec4d", 1700795494),
      original: { owner: "lnl7", ref: "master", repo: "nix-darwin", type: "github" },
    },
    "flake-utils": {
      inputs: { systems: "systems" },
      locked: gh("numtide", "flake-utils", "11707dc2f618dd54ca8739b309ec4fc024de578b", 1731533236),
      original: { owner: "numtide", repo: "flake-utils", type: "github" },
    },
    "home-manager": {
      inputs: { nixpkgs: ["nixpkgs"] },
      locked: gh("nix-community", "home-manager", "c1fee8d4a60b89cae12b288ba9dbc608ff298163", 1733085484),
      original: { owner: "nix-community", ref: "release-24.11", repo: "home-manager", type: "github" },
    },
    nixpkgs: {
      locked: gh("NixOS", "nixpkgs", "5e4fbfb6b3de1aa2872b76d49fafc942626e2add", 1733040600),
      original: { owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" },
    },
    stylix: {
      inputs: { nixpkgs: ["home-manager", "nixpkgs"], self: [] },
      locked: gh("danth", "stylix", "ae2a9d0b5e8ea2a5e2b8a3d5b2a0f3d1f7c8e9a1", 1733000000),
      original: { owner: "danth", ref: "release-24.11", repo: "stylix", type: "github" },
    },
    systems: {
      locked: gh("nix-systems", "default", "da67096a3b9bf56a91d16901293e51ba5b49a27e", 1681028828),
      original: { owner: "nix-systems", repo: "default", type: "github" },
    },
  },
  root: "root",
  version: 7,
};

function gh(owner: string, repo: string, rev: string, lastModified: number) {
  return { lastModified, narHash: `sha256-${rev.slice(0, 43)}=`, owner, repo, rev, type: "github" };
}

describe("lockInputs: graph", () => {
  const inputs = lockInputs(parseFlakeLock(JSON.stringify(transitiveLock), "flake.lock"));
  const byId = new Map(inputs.map((i) => [i.id, i]));

  it("lists every input depth first, names sorted", () => {
    expect(inputs.map((i) => i.id)).toEqual([
      "agenix",
      "agenix/darwin",
      "agenix/darwin/nixpkgs",
      "agenix/home-manager",
      "agenix/nixpkgs",
      "agenix/systems",
      "flake-utils",
      "flake-utils/systems",
      "home-manager",
      "home-manager/nixpkgs",
      "nixpkgs",
      "stylix",
      "stylix/nixpkgs",
      "stylix/self",
    ]);
  });

  it("records parent, depth and directness", () => {
    expect(byId.get("agenix/darwin/nixpkgs")).toMatchObject({
      name: "nixpkgs",
      path: ["agenix", "darwin", "nixpkgs"],
      parent: "agenix/darwin",
      depth: 2,
      direct: false,
    });
    expect(byId.get("agenix")).toMatchObject({ parent: undefined, depth: 0, direct: true });
  });

  it.each([
    ["home-manager/nixpkgs", ["nixpkgs"], "nixpkgs"],
    ["agenix/nixpkgs", ["nixpkgs"], "nixpkgs"],
    ["agenix/home-manager", ["home-manager"], "home-manager"],
    // agenix/darwin/nixpkgs → agenix/nixpkgs → nixpkgs: the target is the input that owns the node.
    ["agenix/darwin/nixpkgs", ["agenix", "nixpkgs"], "nixpkgs"],
    ["stylix/nixpkgs", ["home-manager", "nixpkgs"], "nixpkgs"],
    ["stylix/self", [], ""],
  ])("%s follows %j (target %j)", (id, follows, target) => {
    const input = byId.get(id);
    expect(input?.follows).toEqual(follows);
    expect(input?.followsTarget).toBe(target);
    expect(input?.sameNodeAs).toEqual([]);
  });

  it("gives a follows input the data of the node it resolves to", () => {
    expect(byId.get("home-manager/nixpkgs")).toMatchObject({
      nodeKey: "nixpkgs",
      type: "github",
      source: "github:NixOS/nixpkgs/nixos-24.11",
      shortRev: "5e4fbfb",
    });
    expect(byId.get("stylix/self")).toMatchObject({ nodeKey: "root", source: "self" });
  });

  it("does not descend into follows inputs", () => {
    expect(inputs.some((i) => i.id.startsWith("agenix/home-manager/"))).toBe(false);
  });

  it("marks a node reached by two paths on both", () => {
    expect(byId.get("agenix/systems")).toMatchObject({
      nodeKey: "systems",
      sameNodeAs: ["flake-utils/systems"],
    });
    expect(byId.get("flake-utils/systems")).toMatchObject({
      nodeKey: "systems",
      sameNodeAs: ["agenix/systems"],
    });
    expect(byId.get("nixpkgs")?.sameNodeAs).toEqual([]);
  });

  it("is deterministic regardless of key order in the file", () => {
    const reversed = {
      ...transitiveLock,
      nodes: Object.fromEntries(Object.entries(transitiveLock.nodes).reverse()),
    };
    const again = lockInputs(parseFlakeLock(JSON.stringify(reversed), "flake.lock"));
    expect(again).toEqual(inputs);
  });

  it("returns nothing for a flake without inputs", () => {
    const lock = parseFlakeLock('{"nodes":{"root":{}},"root":"root","version":7}', "flake.lock");
    expect(lockInputs(lock)).toEqual([]);
  });
});

describe("comparePaths", () => {
  it.each([
    [["a"], ["b"], -1],
    [["a"], ["a", "b"], -1],
    [["a", "z"], ["b"], -1],
    [["B"], ["a"], -1],
    [["a", "b"], ["a", "b"], 0],
  ] as const)("%j vs %j", (a, b, sign) => {
    expect(Math.sign(comparePaths(a, b))).toBe(sign);
  });
});
