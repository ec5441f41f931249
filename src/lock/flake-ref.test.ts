import { describe, expect, it } from "vitest";
import { formatFlakeRef, repoFromUrl, shortRefName } from "./flake-ref.js";
import type { LockRef } from "./schema.js";

describe("formatFlakeRef", () => {
  it.each<[string, LockRef, string, string]>([
    [
      "github with ref",
      { type: "github", owner: "NixOS", repo: "nixpkgs", ref: "nixos-24.11" },
      "github:NixOS/nixpkgs/nixos-24.11",
      "github:NixOS/nixpkgs",
    ],
    [
      "github pinned to a rev",
      { type: "github", owner: "NixOS", repo: "nixpkgs", rev: "5e4fbfb6b3de1aa2872b76d49fafc942626e2add" },
      "github:NixOS/nixpkgs/5e4fbfb6b3de1aa2872b76d49fafc942626e2add",
      "github:NixOS/nixpkgs",
    ],
    [
      "GitHub Enterprise host and dir",
      { type: "github", owner: "infra", repo: "fleet", host: "github.corp.example", dir: "nix/hosts" },
      "github:infra/fleet?host=github.corp.example&dir=nix/hosts",
      "github:infra/fleet?host=github.corp.example&dir=nix/hosts",
    ],
    [
      "gitlab subgroup",
      { type: "gitlab", owner: "veloren%2Fdev", repo: "rfcs", ref: "master" },
      "gitlab:veloren%2Fdev/rfcs/master",
      "gitlab:veloren%2Fdev/rfcs",
    ],
    [
      "sourcehut",
      { type: "sourcehut", owner: "~misterio", repo: "nix-colors", ref: "main" },
      "sourcehut:~misterio/nix-colors/main",
      "sourcehut:~misterio/nix-colors",
    ],
    [
      "git over https with ref and submodules",
      { type: "git", url: "https://example.org/my/repo", ref: "main", submodules: true },
      "git+https://example.org/my/repo?ref=main&submodules=1",
      "git+https://example.org/my/repo?submodules=1",
    ],
    ["git+file", { type: "git", url: "file:///x", ref: "main" }, "git+file:///x?ref=main", "git+file:///x"],
    [
      "git:// stays bare",
      { type: "git", url: "git://github.com/edolstra/dwarffs", ref: "unstable" },
      "git://github.com/edolstra/dwarffs?ref=unstable",
      "git://github.com/edolstra/dwarffs",
    ],
    [
      "git url that already has a query",
      { type: "git", url: "https://example.org/repo?x=1", ref: "main" },
      "git+https://example.org/repo?x=1&ref=main",
      "git+https://example.org/repo?x=1",
    ],
    ["path", { type: "path", path: "/etc/nixos" }, "path:/etc/nixos", "path:/etc/nixos"],
    [
      "tarball",
      { type: "tarball", url: "https://channels.nixos.org/nixos-24.11/nixexprs.tar.xz" },
      "https://channels.nixos.org/nixos-24.11/nixexprs.tar.xz",
      "https://channels.nixos.org/nixos-24.11/nixexprs.tar.xz",
    ],
    [
      "file",
      { type: "file", url: "https://example.org/hosts.json" },
      "file+https://example.org/hosts.json",
      "file+https://example.org/hosts.json",
    ],
    [
      "mercurial",
      { type: "mercurial", url: "https://hg.example.org/r" },
      "hg+https://hg.example.org/r",
      "hg+https://hg.example.org/r",
    ],
    ["indirect", { type: "indirect", id: "nixpkgs" }, "flake:nixpkgs", "flake:nixpkgs"],
    [
      "indirect with ref",
      { type: "indirect", id: "nixpkgs", ref: "nixos-24.11" },
      "flake:nixpkgs/nixos-24.11",
      "flake:nixpkgs",
    ],
  ])("%s", (_name, ref, withRef, withoutRef) => {
    expect(formatFlakeRef(ref)).toBe(withRef);
    expect(formatFlakeRef(ref, { withRef: false })).toBe(withoutRef);
  });
});

describe("repoFromUrl", () => {
  it.each<[string, "git" | "tarball", ReturnType<typeof repoFromUrl>]>([
    [
      "https://codeberg.org/alice/dotfiles.git",
      "git",
      { host: "codeberg.org", owner: "alice", repo: "dotfiles" },
    ],
    ["ssh://git@github.com/NixOS/nixpkgs", "git", { host: "github.com", owner: "NixOS", repo: "nixpkgs" }],
    [
      "https://gitlab.com/group/sub/repo.git",
      "git",
      { host: "gitlab.com", owner: "group/sub", repo: "repo" },
    ],
    ["file:///home/alice/repo", "git", undefined],
    ["https://example.org/repo", "git", undefined],
    ["not a url", "git", undefined],
    [
      "https://github.com/NixOS/nixpkgs/archive/nixos-24.11.tar.gz",
      "tarball",
      { host: "github.com", owner: "NixOS", repo: "nixpkgs" },
    ],
    [
      "https://gitlab.com/group/sub/repo/-/archive/main/repo-main.tar.gz",
      "tarball",
      { host: "gitlab.com", owner: "group/sub", repo: "repo" },
    ],
    [
      "https://flakehub.com/f/NixOS/nixpkgs/0.2411.*.tar.gz",
      "tarball",
      { host: "flakehub.com", owner: "NixOS", repo: "nixpkgs" },
    ],
    [
      "https://api.flakehub.com/f/pinned/NixOS/nixpkgs/0.2411.1/0193/source.tar.gz",
      "tarball",
      { host: "api.flakehub.com", owner: "NixOS", repo: "nixpkgs" },
    ],
    [
      "https://channels.nixos.org/nixos-24.11/nixexprs.tar.xz",
      "tarball",
      { host: "channels.nixos.org", owner: "NixOS", repo: "nixpkgs" },
    ],
    [
      "https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz",
      "tarball",
      { host: "nixos.org", owner: "NixOS", repo: "nixpkgs" },
    ],
    ["https://example.org/a/b.tar.gz", "tarball", undefined],
  ])("%s (%s)", (url, kind, expected) => {
    expect(repoFromUrl(url, kind)).toEqual(expected);
  });
});

describe("shortRefName", () => {
  it.each([
    ["refs/heads/main", "main"],
    ["refs/tags/v1.2.3", "v1.2.3"],
    ["nixos-24.11", "nixos-24.11"],
    [undefined, undefined],
  ])("%s → %s", (ref, expected) => {
    expect(shortRefName(ref)).toBe(expected);
  });
});
