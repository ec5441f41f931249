/**
 * The fleet as `deploy` and `status` see it: which hosts a command line selects (names, `@tag`s,
 * the exclude pattern), which of them go first (canaries), and how each is reached (ssh target,
 * sudo, the system paths on the machine). Pure: the config is parsed already.
 */
import { parseDuration, type CheckConfig, type Config } from "../../config/config.js";
import { UsageError } from "../../errors.js";
import { parseExcludePattern } from "./hosts.js";
import type { SystemPaths } from "../machine/system-paths.js";
import {
  DEFAULT_CONNECT_TIMEOUT,
  parseConfigSshOption,
  parseSshOption,
  type SshOption,
  type SshTarget,
} from "../../remote/ssh.js";

export interface RemoteHost {
  /** The name in nixosConfigurations. */
  name: string;
  ssh: SshTarget;
  tags: readonly string[];
  sudo: boolean;
  buildOn: "local" | "target";
  /** The global `[[checks]]`, then the host's own. */
  checks: readonly CheckConfig[];
  /** The store on the target that `nix copy` fills; undefined: its default store. */
  remoteStore?: string | undefined;
  /** Paths on the target machine (absolute). */
  paths: SystemPaths;
}

export interface RemoteOptions {
  /** `--ssh-option NAME=VALUE` flags, after `[deploy] ssh-options`. */
  sshOptions?: readonly string[] | undefined;
  connectTimeout?: number | undefined;
  /** `--trust-config`: the config's ssh options may run commands (ProxyCommand, …). */
  trustConfig?: boolean | undefined;
}

/** How to reach `name`: `[deploy.hosts."NAME"]` over `[deploy]` and `[system]`. */
export function remoteHost(name: string, config: Config, options: RemoteOptions = {}): RemoteHost {
  const host = config.deploy.hosts[name];
  const options_: SshOption[] = [
    ...config.deploy["ssh-options"].map((o) =>
      parseConfigSshOption(o, "ternix.toml", options.trustConfig ?? false),
    ),
    ...(options.sshOptions ?? []).map(parseSshOption),
  ];
  const sys = { ...config.system, ...(host?.system ?? {}) };
  const where = `[deploy.hosts.${JSON.stringify(name)}] system`;
  const absolute = (key: string, path: string) => {
    if (!path.startsWith("/"))
      throw new UsageError(`${where}: ${key} ${JSON.stringify(path)} must be an absolute path on the host.`, {
        hint: "Paths on a deploy target are taken as they are there; write them from /.",
      });
    return path;
  };
  const systemdRun = sys["systemd-run"];
  return {
    name,
    ssh: {
      destination: host?.target ?? name,
      port: host?.port,
      connectTimeout: options.connectTimeout ?? config.deploy["connect-timeout"] ?? DEFAULT_CONNECT_TIMEOUT,
      options: options_,
    },
    tags: host?.tags ?? [],
    sudo: host?.sudo ?? false,
    buildOn: host?.["build-on"] ?? "local",
    checks: [...config.checks, ...(host?.checks ?? [])],
    remoteStore: host?.["remote-store"],
    paths: {
      profile: absolute("profile", sys.profile),
      currentSystem: absolute("current-system", sys["current-system"]),
      bootedSystem: absolute("booted-system", sys["booted-system"]),
      stateDir: absolute("state-dir", sys["state-dir"]),
      systemctl: sys.systemctl,
      systemdRun: systemdRun === "" ? undefined : systemdRun,
    },
  };
}

export interface FleetSelection {
  /** Host names and `@tag`s from the command line; empty: every host. */
  selectors: readonly string[];
  /** A regular expression; matching hosts are left out unless named. Default `[hosts] exclude`. */
  exclude?: string | undefined;
}

/**
 * The hosts a command works on, in the flake's order: named hosts (even when excluded), hosts
 * carrying a named `@tag`, or every host; the exclude pattern drops the ones not named.
 */
export function selectFleet(
  all: readonly string[],
  config: Config,
  selection: FleetSelection,
): { selected: string[]; skipped: string[] } {
  const exclude = selection.exclude ?? config.hosts.exclude;
  const pattern = exclude ? parseExcludePattern(exclude) : undefined;
  const named = new Set<string>();
  const tags = new Set<string>();
  for (const s of selection.selectors) {
    if (s.startsWith("@")) tags.add(s.slice(1));
    else named.add(s);
  }
  const unknown = [...named].filter((h) => !all.includes(h));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown host${unknown.length > 1 ? "s" : ""}: ${unknown.map((h) => JSON.stringify(h)).join(", ")}`,
      { hint: `Hosts in nixosConfigurations: ${all.map((h) => JSON.stringify(h)).join(", ") || "(none)"}.` },
    );
  }
  const tagsOf = (h: string) => config.deploy.hosts[h]?.tags ?? [];
  for (const tag of tags) {
    if (!all.some((h) => tagsOf(h).includes(tag))) {
      throw new UsageError(`no host has the tag @${tag}.`, {
        hint: 'Tags come from ternix.toml: [deploy.hosts."NAME"] tags = ["…"].',
      });
    }
  }
  const everything = named.size === 0 && tags.size === 0;
  const selected: string[] = [];
  const skipped: string[] = [];
  for (const host of all) {
    if (named.has(host)) selected.push(host);
    else if (everything || tagsOf(host).some((t) => tags.has(t))) {
      if (pattern?.test(host)) skipped.push(host);
      else selected.push(host);
    }
  }
  return { selected, skipped };
}

/** The selected hosts that `canary` (names or `@tag`s) names, in the selection's order. */
export function canaryHosts(
  selected: readonly string[],
  config: Config,
  canary: readonly string[],
): string[] {
  const wanted = (h: string) =>
    canary.some((c) =>
      c.startsWith("@") ? (config.deploy.hosts[h]?.tags ?? []).includes(c.slice(1)) : c === h,
    );
  return selected.filter(wanted);
}

/** The confirm timeout in seconds, as systemd-run's `--on-active` takes it. */
export function confirmTimeoutSeconds(config: Config, flag?: string): number {
  return Math.max(1, Math.round(parseDuration(flag ?? config.deploy["confirm-timeout"]) / 1000));
}
