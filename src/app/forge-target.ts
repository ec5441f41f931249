/**
 * Which forge a command talks to, from flags, `[forge]` in ternix.toml, the CI environment and a git
 * remote URL (in that order). `[forge] url` is an API root when it ends in /api/v1 or /api/v3 (or is
 * api.github.com), else the web root.
 */
import type { Config } from "../config/config.js";
import { detectForge, type Env, type ForgeTarget } from "../forge/detect.js";
import type { ForgeKind } from "../forge/types.js";

export interface ForgeTargetFlags {
  kind?: ForgeKind | "gitea" | undefined;
  apiUrl?: string | undefined;
  serverUrl?: string | undefined;
  repository?: string | undefined;
}

export function forgeTargetFor(
  forge: Config["forge"],
  flags: ForgeTargetFlags,
  env: Env,
  remoteUrl: string | undefined,
): ForgeTarget {
  const configUrl = forge.url;
  const configIsApi =
    configUrl !== undefined && /\/api\/v[13]\/?$|^https?:\/\/api\.github\.com/.test(configUrl);
  const kind = flags.kind ?? forge.kind;
  return detectForge({
    flags: {
      forge: kind === "gitea" ? "forgejo" : kind,
      apiUrl: flags.apiUrl ?? (configIsApi ? configUrl : undefined),
      serverUrl: flags.serverUrl ?? (configIsApi ? undefined : configUrl),
      repository: flags.repository ?? forge.repository,
    },
    env,
    remoteUrl,
  });
}
