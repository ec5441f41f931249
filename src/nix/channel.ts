/**
 * Channels (`nix-channel`) as data: its argument arrays, its output, the files a channel carries,
 * and the NIX_PATH nixos-rebuild builds a channel-based system with. Pure.
 *
 * Version differences (recorded from Nix 2.8 and 2.24): `nix-channel --list-generations` exists only
 * from Nix 2.9 on, so generations are read from the channels profile itself (`nix-env --profile`,
 * and `readProfile`); the profile of a non-root user moved to `$XDG_STATE_HOME/nix/profiles` in
 * Nix 2.14 (root's stays in `$NIX_STATE_DIR/profiles/per-user/root`).
 */
import { parseRelease } from "../lock/release.js";

/** nix-channel's own rule for names (`addChannel` in nix-channel.cc). */
const CHANNEL_NAME = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/;
/** nix-channel's own rule for URLs. */
const CHANNEL_URL = /^(?:file|http|https):\/\/[^\s]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function isChannelName(name: string): boolean {
  return CHANNEL_NAME.test(name) && name.length <= 200;
}

export function isChannelUrl(url: string): boolean {
  return CHANNEL_URL.test(url) && !CONTROL.test(url);
}

/** A channel URL without its user info (`https://user:token@host/…` → `https://host/…`), for display. */
export function redactChannelUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1");
}

export interface ChannelEntry {
  name: string;
  url: string;
}

/** `nix-channel --list`: `NAME URL` per line. */
export function parseChannelList(stdout: string): ChannelEntry[] {
  const out: ChannelEntry[] = [];
  for (const line of stdout.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    const space = trimmed.indexOf(" ");
    if (space <= 0) continue;
    out.push({ name: trimmed.slice(0, space), url: trimmed.slice(space + 1).trim() });
  }
  return out;
}

/** `nix-channel --update [NAME…]` */
export function channelUpdateArgs(names: readonly string[]): string[] {
  for (const n of names) if (!isChannelName(n)) throw new Error(`not a channel name: ${JSON.stringify(n)}`);
  return ["--update", ...names];
}

/** `nix-channel --add URL NAME` */
export function channelAddArgs(url: string, name: string): string[] {
  if (!isChannelUrl(url)) throw new Error(`not a channel URL: ${JSON.stringify(url)}`);
  if (!isChannelName(name)) throw new Error(`not a channel name: ${JSON.stringify(name)}`);
  return ["--add", url, name];
}

/** What a channel's files say about it (Hydra's channel job writes them; older channels `svn-revision`). */
export interface ChannelInfo {
  /** `.version`: `24.11`. */
  release: string | undefined;
  /** `.version` + `.version-suffix`: `24.11.710315.b681065d0919`. */
  version: string | undefined;
  /** `.git-revision`, else the hash part of `svn-revision`. */
  revision: string | undefined;
}

export function parseChannelInfo(files: {
  version?: string | undefined;
  versionSuffix?: string | undefined;
  gitRevision?: string | undefined;
  svnRevision?: string | undefined;
}): ChannelInfo {
  const clean = (s: string | undefined) => {
    const t = s?.trim();
    return t === undefined || t === "" || CONTROL.test(t) ? undefined : t;
  };
  const release = clean(files.version);
  const suffix = clean(files.versionSuffix) ?? "";
  // svn-revision: `710315.b681065d0919` (count and short hash) on channels that predate .git-revision.
  const svn = clean(files.svnRevision);
  const revision = clean(files.gitRevision) ?? (svn === undefined ? undefined : svn.replace(/^\d+\./, ""));
  return {
    release: release === undefined ? undefined : (parseRelease(`nixos-${release}`) ?? release),
    version: release === undefined ? undefined : `${release}${suffix}`,
    revision: revision !== undefined && /^[0-9a-f]{7,40}$/.test(revision) ? revision : undefined,
  };
}

/**
 * The branch a channel follows, from its URL's last component (`…/channels/nixos-24.11` →
 * `nixos-24.11`); what the staleness policy's supported branches are compared with.
 */
export function channelBranch(url: string): string | undefined {
  const last = url.replace(/\/+$/, "").split("/").pop() ?? "";
  return /^[A-Za-z0-9._-]+$/.test(last) ? last : undefined;
}

/** Official channels (nixos.org and its mirrors of it) count as owned by NixOS. */
export function channelOwner(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === "nixos.org" || host.endsWith(".nixos.org") ? "NixOS" : undefined;
  } catch {
    return undefined;
  }
}

/** A Nixpkgs channel (gets the Nixpkgs checks): `nixos`, `nixpkgs`, `nixos-24.11`, `nixpkgs-unstable`… */
export function isNixpkgsChannel(name: string, branch: string | undefined): boolean {
  const re = /^(?:nixos|nixpkgs)(?:-|$)/;
  return re.test(name) || (branch !== undefined && re.test(branch));
}

/**
 * The channels profile nix-channel uses when `~/.nix-defexpr/channels` does not say (before the
 * first `--update`): root's under the state directory; other users' per-user one, which Nix 2.14
 * moved to `$XDG_STATE_HOME/nix/profiles` (Nix 2.14 release notes, "XDG base directories").
 */
export function defaultChannelsProfile(options: {
  root: boolean;
  user: string;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  profilesInStateHome: boolean;
}): string {
  const stateDir = options.env["NIX_STATE_DIR"] || "/nix/var/nix";
  if (options.root) return `${stateDir}/profiles/per-user/root/channels`;
  if (options.profilesInStateHome) {
    const stateHome = options.env["XDG_STATE_HOME"] || `${options.home}/.local/state`;
    return `${stateHome}/nix/profiles/channels`;
  }
  return `${stateDir}/profiles/per-user/${options.user}/channels`;
}

/**
 * The NIX_PATH `nixos-rebuild` builds a channel-based system with (its default
 * `nixpkgs=…/channels/nixos:nixos-config=/etc/nixos/configuration.nix:…/channels`), as `-I` flags.
 */
export function channelNixPathArgs(options: {
  channels: string;
  nixpkgsChannel: string;
  configuration: string;
}): string[] {
  for (const [what, path] of [
    ["channels directory", options.channels],
    ["configuration", options.configuration],
  ] as const) {
    if (!path.startsWith("/"))
      throw new Error(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
  if (!isChannelName(options.nixpkgsChannel))
    throw new Error(`not a channel name: ${JSON.stringify(options.nixpkgsChannel)}`);
  return [
    "-I",
    `nixpkgs=${options.channels}/${options.nixpkgsChannel}`,
    "-I",
    `nixos-config=${options.configuration}`,
    "-I",
    options.channels,
  ];
}

/** `nix-instantiate '<nixpkgs/nixos>' -A system -I …`: the toplevel derivation, as nixos-rebuild builds it. */
export function instantiateSystemArgs(nixPath: readonly string[]): string[] {
  return ["<nixpkgs/nixos>", "-A", "system", ...nixPath];
}

/** `nix-instantiate --eval`: the version of the Nix a channel's package set brings (null without one). */
export function channelNixVersionArgs(channelDir: string): string[] {
  if (!channelDir.startsWith("/")) throw new Error(`channel directory must be absolute: ${channelDir}`);
  return [
    "--eval",
    "--json",
    "--expr",
    "{ dir }: ((import (/. + dir) { }).nix or { }).version or null",
    "--argstr",
    "dir",
    channelDir,
  ];
}
