import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import {
  detectForge,
  parseRemoteUrl,
  requireForgeToken,
  resolveForgeToken,
  type DetectForgeInput,
  type ForgeTarget,
  type RemoteLocation,
} from "./detect.js";

describe("parseRemoteUrl", () => {
  const at = (
    host: string,
    owner: string,
    repo: string,
    extra: Partial<RemoteLocation> = {},
  ): RemoteLocation => ({
    protocol: "https",
    host,
    port: undefined,
    basePath: "",
    owner,
    repo,
    ...extra,
  });

  it.each<[string, RemoteLocation | undefined]>([
    ["https://github.com/acme/infra.git", at("github.com", "acme", "infra")],
    ["https://github.com/acme/infra", at("github.com", "acme", "infra")],
    ["https://github.com/acme/infra/", at("github.com", "acme", "infra")],
    ["https://x-access-token:ghs_abc@github.com/acme/infra.git", at("github.com", "acme", "infra")],
    ["https://oauth2:tok@Codeberg.org/acme/my.repo.git", at("codeberg.org", "acme", "my.repo")],
    [
      "http://forge.lan:3000/acme/infra.git",
      at("forge.lan", "acme", "infra", { protocol: "http", port: 3000 }),
    ],
    ["https://example.com/git/acme/infra.git", at("example.com", "acme", "infra", { basePath: "/git" })],
    ["ssh://git@github.com/acme/infra.git", at("github.com", "acme", "infra", { protocol: "ssh" })],
    [
      "ssh://git@forge.example:2222/acme/infra.git",
      at("forge.example", "acme", "infra", { protocol: "ssh", port: 2222 }),
    ],
    ["ssh://forge.example/acme/infra", at("forge.example", "acme", "infra", { protocol: "ssh" })],
    ["git+ssh://git@github.com/acme/infra.git", at("github.com", "acme", "infra", { protocol: "ssh" })],
    ["git@github.com:acme/infra.git", at("github.com", "acme", "infra", { protocol: "ssh" })],
    ["git@codeberg.org:acme/infra", at("codeberg.org", "acme", "infra", { protocol: "ssh" })],
    ["forgejo@forge.example:/acme/infra.git", at("forge.example", "acme", "infra", { protocol: "ssh" })],
    ["git://git.example.org/acme/infra.git", at("git.example.org", "acme", "infra", { protocol: "git" })],
    ["/srv/git/infra.git", undefined],
    ["./infra", undefined],
    ["file:///srv/git/acme/infra.git", undefined],
    ["https://github.com/acme", undefined],
    ["C:\\repos\\infra", undefined],
    ["", undefined],
  ])("%s", (remote, expected) => {
    expect(parseRemoteUrl(remote)).toEqual(expected);
  });
});

describe("detectForge", () => {
  const target = (t: Omit<ForgeTarget, "source"> & { source?: ForgeTarget["source"] }): ForgeTarget => ({
    source: "remote",
    ...t,
  });

  it.each<[string, DetectForgeInput, ForgeTarget]>([
    [
      "github.com remote",
      { env: {}, remoteUrl: "git@github.com:acme/infra.git" },
      target({
        kind: "github",
        apiUrl: "https://api.github.com",
        serverUrl: "https://github.com",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "any other host is Forgejo",
      { env: {}, remoteUrl: "https://codeberg.org/acme/infra.git" },
      target({
        kind: "forgejo",
        apiUrl: "https://codeberg.org/api/v1",
        serverUrl: "https://codeberg.org",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "Forgejo under a sub-path and port",
      { env: {}, remoteUrl: "http://forge.lan:3000/git/acme/infra.git" },
      target({
        kind: "forgejo",
        apiUrl: "http://forge.lan:3000/git/api/v1",
        serverUrl: "http://forge.lan:3000/git",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "ssh port is not the web port",
      { env: {}, remoteUrl: "ssh://git@forge.example:2222/acme/infra.git" },
      target({
        kind: "forgejo",
        apiUrl: "https://forge.example/api/v1",
        serverUrl: "https://forge.example",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "--forge github on another host means GitHub Enterprise Server",
      { flags: { forge: "github" }, env: {}, remoteUrl: "git@ghe.corp.example:acme/infra.git" },
      target({
        kind: "github",
        apiUrl: "https://ghe.corp.example/api/v3",
        serverUrl: "https://ghe.corp.example",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "GitHub Actions on github.com",
      {
        env: {
          GITHUB_ACTIONS: "true",
          GITHUB_SERVER_URL: "https://github.com",
          GITHUB_API_URL: "https://api.github.com",
          GITHUB_REPOSITORY: "acme/infra",
        },
        remoteUrl: "https://github.com/someone/else.git",
      },
      target({
        kind: "github",
        apiUrl: "https://api.github.com",
        serverUrl: "https://github.com",
        owner: "acme",
        repo: "infra",
        source: "ci",
      }),
    ],
    [
      "GitHub Actions on GitHub Enterprise Server",
      {
        env: {
          GITHUB_ACTIONS: "true",
          GITHUB_SERVER_URL: "https://ghe.corp.example",
          GITHUB_API_URL: "https://ghe.corp.example/api/v3",
          GITHUB_REPOSITORY: "acme/infra",
        },
      },
      target({
        kind: "github",
        apiUrl: "https://ghe.corp.example/api/v3",
        serverUrl: "https://ghe.corp.example",
        owner: "acme",
        repo: "infra",
        source: "ci",
      }),
    ],
    [
      "Forgejo Actions (FORGEJO_* and the GITHUB_* mirror)",
      {
        env: {
          GITHUB_ACTIONS: "true",
          FORGEJO_ACTIONS: "true",
          FORGEJO_SERVER_URL: "https://codeberg.org",
          FORGEJO_REPOSITORY: "acme/infra",
          GITHUB_SERVER_URL: "https://codeberg.org",
          GITHUB_API_URL: "https://codeberg.org/api/v1",
          GITHUB_REPOSITORY: "acme/infra",
        },
      },
      target({
        kind: "forgejo",
        apiUrl: "https://codeberg.org/api/v1",
        serverUrl: "https://codeberg.org",
        owner: "acme",
        repo: "infra",
        source: "ci",
      }),
    ],
    [
      "Gitea Actions (GITEA_ACTIONS and GITHUB_*)",
      {
        env: {
          GITHUB_ACTIONS: "true",
          GITEA_ACTIONS: "true",
          GITHUB_SERVER_URL: "https://gitea.example/",
          GITHUB_API_URL: "https://gitea.example/api/v1",
          GITHUB_REPOSITORY: "acme/infra",
        },
      },
      target({
        kind: "forgejo",
        apiUrl: "https://gitea.example/api/v1",
        serverUrl: "https://gitea.example",
        owner: "acme",
        repo: "infra",
        source: "ci",
      }),
    ],
    [
      "a Gitea-compatible runner seen only through GITHUB_API_URL /api/v1",
      {
        env: {
          GITHUB_ACTIONS: "true",
          GITHUB_SERVER_URL: "https://forge.example",
          GITHUB_API_URL: "https://forge.example/api/v1",
          GITHUB_REPOSITORY: "acme/infra",
        },
      },
      target({
        kind: "forgejo",
        apiUrl: "https://forge.example/api/v1",
        serverUrl: "https://forge.example",
        owner: "acme",
        repo: "infra",
        source: "ci",
      }),
    ],
    [
      "flags beat the CI environment",
      {
        flags: { repository: "other/repo", serverUrl: "https://forge.example/" },
        env: {
          GITHUB_ACTIONS: "true",
          GITHUB_REPOSITORY: "acme/infra",
          GITHUB_API_URL: "https://api.github.com",
        },
      },
      target({
        kind: "forgejo",
        apiUrl: "https://forge.example/api/v1",
        serverUrl: "https://forge.example",
        owner: "other",
        repo: "repo",
        source: "flags",
      }),
    ],
    [
      "--api-url tells the kind and the server",
      {
        flags: { apiUrl: "https://ghe.corp.example/api/v3" },
        env: {},
        remoteUrl: "git@ghe.corp.example:acme/infra.git",
      },
      target({
        kind: "github",
        apiUrl: "https://ghe.corp.example/api/v3",
        serverUrl: "https://ghe.corp.example",
        owner: "acme",
        repo: "infra",
      }),
    ],
    [
      "--repository alone is enough for github with --forge",
      { flags: { forge: "github", repository: "acme/infra" }, env: {} },
      target({
        kind: "github",
        apiUrl: "https://api.github.com",
        serverUrl: "https://github.com",
        owner: "acme",
        repo: "infra",
        source: "flags",
      }),
    ],
  ])("%s", (_name, input, expected) => {
    expect(detectForge(input)).toEqual(expected);
  });

  it.each<[string, DetectForgeInput, RegExp]>([
    ["no repository anywhere", { env: {} }, /cannot tell which repository/],
    ["a local remote", { env: {}, remoteUrl: "/srv/git/infra.git" }, /cannot tell which repository/],
    ["a malformed --repository", { flags: { repository: "acme" }, env: {} }, /must be owner\/repo/],
    [
      "a Forgejo repository without server",
      { flags: { repository: "acme/infra" }, env: {} },
      /which Forgejo\/Gitea server/,
    ],
    [
      "a bad --server-url",
      { flags: { serverUrl: "forge.example" }, env: {}, remoteUrl: "git@x.org:a/b" },
      /not a URL/,
    ],
  ])("throws UsageError for %s", (_name, input, message) => {
    expect(() => detectForge(input)).toThrow(UsageError);
    expect(() => detectForge(input)).toThrow(message);
  });

  it("never quotes credentials of a remote in its error", () => {
    try {
      detectForge({ env: {}, remoteUrl: "https://user:sekrit@host.example/just-one-segment" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect(JSON.stringify([(error as UsageError).message, (error as UsageError).hint])).not.toContain(
        "sekrit",
      );
    }
  });
});

describe("resolveForgeToken", () => {
  it.each<
    [string, "github" | "forgejo", Record<string, string>, { token: string; variable: string } | undefined]
  >([
    [
      "TERNIX_FORGE_TOKEN first",
      "github",
      { TERNIX_FORGE_TOKEN: "t", GITHUB_TOKEN: "g" },
      { token: "t", variable: "TERNIX_FORGE_TOKEN" },
    ],
    [
      "GITHUB_TOKEN for GitHub",
      "github",
      { GITHUB_TOKEN: "g", FORGEJO_TOKEN: "f" },
      { token: "g", variable: "GITHUB_TOKEN" },
    ],
    [
      "FORGEJO_TOKEN before GITEA_TOKEN",
      "forgejo",
      { GITEA_TOKEN: "e", FORGEJO_TOKEN: "f" },
      { token: "f", variable: "FORGEJO_TOKEN" },
    ],
    [
      "GITEA_TOKEN for Forgejo",
      "forgejo",
      { GITEA_TOKEN: "e", GITHUB_TOKEN: "g" },
      { token: "e", variable: "GITEA_TOKEN" },
    ],
    ["not another forge's token", "forgejo", { GITHUB_TOKEN: "g" }, undefined],
    [
      "empty values are absent",
      "github",
      { TERNIX_FORGE_TOKEN: " ", GITHUB_TOKEN: "g" },
      { token: "g", variable: "GITHUB_TOKEN" },
    ],
  ])("%s", (_name, kind, env, expected) => {
    expect(resolveForgeToken(kind, env)).toEqual(expected);
  });

  it("requireForgeToken names the variables to set", () => {
    expect(() => requireForgeToken("forgejo", {})).toThrow(UsageError);
    try {
      requireForgeToken("forgejo", {});
    } catch (error) {
      expect((error as UsageError).hint).toContain("TERNIX_FORGE_TOKEN, or FORGEJO_TOKEN, or GITEA_TOKEN");
    }
  });
});
