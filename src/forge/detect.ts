import { UsageError } from "../errors.js";
import { GITHUB_API_URL } from "./github.js";
import type { ForgeKind } from "./types.js";

/**
 * Which forge, API and repository `ternix pr` talks to, resolved field by field from (in priority)
 * explicit flags, the CI environment, and a git remote URL. Pure: the environment is an argument.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface ForgeFlags {
  forge?: ForgeKind | undefined;
  /** API root: `https://api.github.com`, `https://HOST/api/v3` (GHES), `https://HOST/api/v1` (Forgejo/Gitea). */
  apiUrl?: string | undefined;
  /** Web root, e.g. `https://codeberg.org`. */
  serverUrl?: string | undefined;
  /** `owner/repo`. */
  repository?: string | undefined;
}

export interface ForgeTarget {
  kind: ForgeKind;
  apiUrl: string;
  serverUrl: string;
  owner: string;
  repo: string;
  /** Where the repository was found, for messages. */
  source: "flags" | "ci" | "remote";
}

export interface RemoteLocation {
  protocol: "https" | "http" | "ssh" | "git";
  /** Host name without port. */
  host: string;
  port: number | undefined;
  /** Path of the forge below the host for http(s) remotes (`/git` in `https://h/git/o/r.git`), else "". */
  basePath: string;
  owner: string;
  repo: string;
}

/**
 * Parses the remote forms git accepts for a hosted repository: `https://[user[:pass]@]host[:port]/owner/repo[.git]`,
 * `ssh://[user@]host[:port]/owner/repo[.git]` and the scp-like `[user@]host:owner/repo[.git]`.
 * Credentials in the URL are dropped. Returns undefined for anything else (local paths, bundles).
 */
export function parseRemoteUrl(remote: string): RemoteLocation | undefined {
  const text = remote.trim();
  if (text === "") return undefined;

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    const scheme = url.protocol.slice(0, -1).toLowerCase();
    const protocol =
      scheme === "https" || scheme === "http"
        ? scheme
        : scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git"
          ? "ssh"
          : scheme === "git"
            ? "git"
            : undefined;
    if (protocol === undefined || url.hostname === "") return undefined;
    const path = splitRepoPath(decodeURIComponent(url.pathname));
    if (path === undefined) return undefined;
    return {
      protocol,
      host: url.hostname.toLowerCase(),
      port: url.port === "" ? undefined : Number(url.port),
      basePath: protocol === "https" || protocol === "http" ? path.basePath : "",
      owner: path.owner,
      repo: path.repo,
    };
  }

  // scp-like syntax: no scheme, `host:path`; git reads a colon before any slash this way.
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(text);
  if (scp?.[1] === undefined || scp[2] === undefined || scp[1].length < 2) return undefined;
  const path = splitRepoPath(scp[2]);
  if (path === undefined) return undefined;
  return { ...path, protocol: "ssh", host: scp[1].toLowerCase(), port: undefined, basePath: "" };
}

function splitRepoPath(path: string): { basePath: string; owner: string; repo: string } | undefined {
  const segments = path
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .split("/")
    .filter((s) => s !== "");
  const repo = segments.at(-1);
  const owner = segments.at(-2);
  if (owner === undefined || repo === undefined || !isName(owner) || !isName(repo)) return undefined;
  const base = segments.slice(0, -2);
  return { basePath: base.length > 0 ? `/${base.join("/")}` : "", owner, repo };
}

function isName(segment: string): boolean {
  return /^[\w.-]+$/.test(segment) && segment !== "." && segment !== "..";
}

interface CiContext {
  name: string;
  kind: ForgeKind;
  serverUrl: string | undefined;
  apiUrl: string | undefined;
  repository: string | undefined;
}

/**
 * The CI system's own description of the repository. Forgejo's runner sets `FORGEJO_*` and mirrors
 * them as `GITHUB_*` (with `GITHUB_API_URL` ending in `/api/v1`); Gitea's act_runner sets
 * `GITEA_ACTIONS=true` and `GITHUB_*`. Both set `GITHUB_ACTIONS=true`, so they are checked first.
 */
function ciContext(env: Env): CiContext | undefined {
  const value = (name: string) => nonEmpty(env[name]);
  if (env.FORGEJO_ACTIONS === "true" || value("FORGEJO_REPOSITORY") !== undefined) {
    return {
      name: "Forgejo Actions",
      kind: "forgejo",
      serverUrl: value("FORGEJO_SERVER_URL") ?? value("GITHUB_SERVER_URL"),
      apiUrl: value("FORGEJO_API_URL") ?? value("GITHUB_API_URL"),
      repository: value("FORGEJO_REPOSITORY") ?? value("GITHUB_REPOSITORY"),
    };
  }
  if (env.GITEA_ACTIONS === "true" || value("GITEA_REPOSITORY") !== undefined) {
    return {
      name: "Gitea Actions",
      kind: "forgejo",
      serverUrl: value("GITEA_SERVER_URL") ?? value("GITHUB_SERVER_URL"),
      apiUrl: value("GITEA_API_URL") ?? value("GITHUB_API_URL"),
      repository: value("GITEA_REPOSITORY") ?? value("GITHUB_REPOSITORY"),
    };
  }
  if (env.GITHUB_ACTIONS === "true") {
    const apiUrl = value("GITHUB_API_URL");
    return {
      name: "GitHub Actions",
      kind: apiUrl !== undefined && kindFromApiUrl(apiUrl) === "forgejo" ? "forgejo" : "github",
      serverUrl: value("GITHUB_SERVER_URL"),
      apiUrl,
      repository: value("GITHUB_REPOSITORY"),
    };
  }
  return undefined;
}

export interface DetectForgeInput {
  flags?: ForgeFlags | undefined;
  env: Env;
  /** `git remote get-url origin`, when there is one. */
  remoteUrl?: string | undefined;
}

/** Resolves the forge target; throws `UsageError` when the repository cannot be determined. */
export function detectForge(input: DetectForgeInput): ForgeTarget {
  const flags = input.flags ?? {};
  const ci = ciContext(input.env);
  const remote = input.remoteUrl === undefined ? undefined : parseRemoteUrl(input.remoteUrl);
  const flagApiUrl = flags.apiUrl === undefined ? undefined : normalizeUrl(flags.apiUrl, "--api-url");
  const flagServerUrl =
    flags.serverUrl === undefined ? undefined : normalizeUrl(flags.serverUrl, "--server-url");

  const repository =
    flags.repository !== undefined
      ? { ...parseRepository(flags.repository, "--repository"), source: "flags" as const }
      : ci?.repository !== undefined
        ? { ...parseRepository(ci.repository, `${ci.name} repository`), source: "ci" as const }
        : remote !== undefined
          ? { owner: remote.owner, repo: remote.repo, source: "remote" as const }
          : undefined;
  if (repository === undefined) {
    throw new UsageError("cannot tell which repository to open the pull request in", {
      hint:
        input.remoteUrl === undefined
          ? "Pass --repository owner/repo (and --server-url), or run inside a git checkout with a remote."
          : `The git remote ${redactRemote(input.remoteUrl)} is not a hosted repository URL; pass --repository owner/repo.`,
    });
  }

  const kind: ForgeKind =
    flags.forge ??
    (flagApiUrl === undefined ? undefined : kindFromApiUrl(flagApiUrl)) ??
    (flagServerUrl === undefined ? undefined : kindFromHost(new URL(flagServerUrl).hostname)) ??
    ci?.kind ??
    (remote === undefined ? undefined : kindFromHost(remote.host)) ??
    "forgejo";

  const ciFits = ci !== undefined && ci.kind === kind;
  const serverUrl =
    flagServerUrl ??
    (flagApiUrl === undefined ? undefined : serverFromApiUrl(flagApiUrl)) ??
    (ciFits && ci.serverUrl !== undefined
      ? normalizeUrl(ci.serverUrl, `${ci.name} server URL`)
      : undefined) ??
    (remote === undefined ? undefined : serverFromRemote(remote)) ??
    (kind === "github" ? "https://github.com" : undefined);
  if (serverUrl === undefined) {
    throw new UsageError(
      `cannot tell which Forgejo/Gitea server hosts ${repository.owner}/${repository.repo}`,
      {
        hint: "Pass --server-url https://forge.example.org (or --api-url https://forge.example.org/api/v1).",
      },
    );
  }

  const apiUrl =
    flagApiUrl ??
    (ciFits && ci.apiUrl !== undefined && flagServerUrl === undefined
      ? normalizeUrl(ci.apiUrl, `${ci.name} API URL`)
      : undefined) ??
    apiFromServer(kind, serverUrl);

  return {
    kind,
    apiUrl,
    serverUrl,
    owner: repository.owner,
    repo: repository.repo,
    source: repository.source,
  };
}

/** github.com is GitHub; every other host is taken for Forgejo/Gitea unless told otherwise. */
export function kindFromHost(host: string): ForgeKind {
  const h = host.toLowerCase();
  return h === "github.com" || h === "www.github.com" || h === "api.github.com" ? "github" : "forgejo";
}

function kindFromApiUrl(apiUrl: string): ForgeKind | undefined {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com" || /\/api\/v3\/?$/.test(url.pathname)) return "github";
  if (/\/api\/v1\/?$/.test(url.pathname)) return "forgejo";
  return undefined;
}

function serverFromApiUrl(apiUrl: string): string | undefined {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "https://github.com";
  const match = /^(.*)\/api\/v[13]\/?$/.exec(url.pathname);
  return match === null ? undefined : `${url.origin}${match[1] ?? ""}`;
}

function serverFromRemote(remote: RemoteLocation): string {
  // ssh and git ports are not the web port; assume the web UI on https.
  if (remote.protocol === "http" || remote.protocol === "https") {
    const port = remote.port === undefined ? "" : `:${remote.port}`;
    return `${remote.protocol}://${remote.host}${port}${remote.basePath}`;
  }
  return `https://${remote.host}`;
}

function apiFromServer(kind: ForgeKind, serverUrl: string): string {
  if (kind === "forgejo") return `${serverUrl}/api/v1`;
  const host = new URL(serverUrl).hostname;
  return host === "github.com" || host === "www.github.com" ? GITHUB_API_URL : `${serverUrl}/api/v3`;
}

function parseRepository(value: string, what: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = value
    .trim()
    .replace(/\.git$/, "")
    .split("/");
  if (owner === undefined || repo === undefined || rest.length > 0 || !isName(owner) || !isName(repo)) {
    throw new UsageError(`${what} must be owner/repo, got "${value}"`, {
      hint: "Write it as owner/repo, e.g. --repository nixos-fans/infra.",
    });
  }
  return { owner, repo };
}

function normalizeUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new UsageError(`${what} is not a URL: "${redactRemote(value)}"`, {
      hint: "Write it with its scheme, e.g. https://codeberg.org.",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`${what} must be an http(s) URL: "${redactRemote(value)}"`);
  }
  url.username = "";
  url.password = "";
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}

/** A remote for messages: user info (often a token) removed. */
function redactRemote(remote: string): string {
  return remote.replace(/\/\/[^/@\s]*@/, "//");
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

export interface ForgeToken {
  token: string;
  /** The variable it came from, for messages (never the value). */
  variable: string;
}

/** Token variables in the order they are read. */
export function forgeTokenVariables(kind: ForgeKind): readonly string[] {
  return kind === "github"
    ? ["TERNIX_FORGE_TOKEN", "GITHUB_TOKEN"]
    : ["TERNIX_FORGE_TOKEN", "FORGEJO_TOKEN", "GITEA_TOKEN"];
}

/** The API token, from the environment only (never from flags, which end up in shell history). */
export function resolveForgeToken(kind: ForgeKind, env: Env): ForgeToken | undefined {
  for (const variable of forgeTokenVariables(kind)) {
    const token = nonEmpty(env[variable]);
    // A header cannot carry it, and fetch would quote it in its error: refuse it, never showing it.
    // eslint-disable-next-line no-control-regex
    if (token !== undefined && /[\u0000-\u001f\u007f-\u009f]/.test(token)) {
      throw new UsageError(
        `${variable} holds a control character (such as a line break); its value is not shown.`,
        {
          hint: `Set ${variable} to the token alone, e.g. ${variable}="$(tr -d '\\r\\n' < token-file)".`,
        },
      );
    }
    if (token !== undefined) return { token, variable };
  }
  return undefined;
}

export function requireForgeToken(kind: ForgeKind, env: Env): ForgeToken {
  const found = resolveForgeToken(kind, env);
  if (found !== undefined) return found;
  const variables = forgeTokenVariables(kind);
  throw new UsageError(`no ${kind === "github" ? "GitHub" : "Forgejo/Gitea"} API token in the environment`, {
    hint: `Set ${variables.join(", or ")}; in CI pass the workflow's token, e.g. TERNIX_FORGE_TOKEN: \${{ secrets.${kind === "github" ? "GITHUB_TOKEN" : "FORGEJO_TOKEN"} }}.`,
  });
}
