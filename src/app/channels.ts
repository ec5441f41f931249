/**
 * Channel-based systems (the NixOS manual's "Upgrading NixOS"): the subscribed channels with their
 * release, revision and age, `nix-channel --update` with the semantic diff (dry run in a temporary
 * profile, the generation put back when a run fails), switching a channel to another release with
 * the store-schema warning, and the source `build | switch` builds `<nixpkgs/nixos>` from.
 *
 * nix-channel has no `--profile`: it keeps its list in `$HOME/.nix-channels` and root's profile in
 * `$NIX_STATE_DIR/profiles/per-user/root/channels`. A dry run points both at a temporary directory
 * and reaches the store through the daemon socket, so the real channels are never touched.
 */
import { mkdir, mkdtemp, readFile, readlink, realpath, rm, unlink } from "node:fs/promises";
import { homedir, tmpdir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import type { Config } from "../config/config.js";
import { InputError, NixError, UsageError } from "../errors.js";
import type { LockedInput } from "../lock/graph.js";
import { parseRelease, compareReleases } from "../lock/release.js";
import type { StalenessPolicy } from "../lock/staleness.js";
import {
  channelAddArgs,
  channelBranch,
  channelNixPathArgs,
  channelNixVersionArgs,
  channelOwner,
  channelUpdateArgs,
  defaultChannelsProfile,
  isChannelName,
  isChannelUrl,
  isNixpkgsChannel,
  parseChannelInfo,
  parseChannelList,
  redactChannelUrl,
  type ChannelEntry,
  type ChannelInfo,
} from "../nix/channel.js";
import { profileSwitchGenerationArgs } from "../nix/args.js";
import type { Nix } from "../nix/nix.js";
import { storeSchemaChangesBetween, type NixRelease, type StoreSchemaChange } from "../nix/store-schema.js";
import { formatNixVersion } from "../nix/version.js";
import { CommandNotFoundError, type RunResult } from "../proc/run.js";
import { readUserFile, writeFileAtomic } from "../proc/files.js";
import type { Effects } from "./effects.js";
import { readProfile } from "./machine/profile.js";

export interface ChannelDeps {
  nix: Nix;
  effects: Effects;
}

/** Where nix-channel keeps things for this user. */
export interface ChannelsLocation {
  /** `$HOME/.nix-channels`. */
  listFile: string;
  /** The channels profile: what `~/.nix-defexpr/channels` points to, else nix-channel's default. */
  profile: string;
}

export function locateChannels(env: NodeJS.ProcessEnv, nix: Nix): Promise<ChannelsLocation> {
  return locateChannelsIn(env, nix.caps.profilesInStateHome);
}

async function locateChannelsIn(
  env: NodeJS.ProcessEnv,
  profilesInStateHome: boolean,
): Promise<ChannelsLocation> {
  const home = env["HOME"] || homedir();
  const linked = await readlink(join(home, ".nix-defexpr", "channels")).catch(() => undefined);
  const user = userInfo();
  const profile =
    linked !== undefined && isAbsolute(linked)
      ? linked
      : defaultChannelsProfile({ root: user.uid === 0, user: user.username, home, env, profilesInStateHome });
  return { listFile: join(home, ".nix-channels"), profile };
}

async function nixChannel(
  deps: ChannelDeps,
  args: readonly string[],
  what: string,
  options: { env?: NodeJS.ProcessEnv; hint?: string } = {},
): Promise<RunResult> {
  const result = await deps.effects.run("nix-channel", args, { env: options.env ?? deps.effects.env });
  if (result.exitCode !== 0) {
    const first = result.stderr
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.startsWith("error:"));
    throw new NixError(
      redactChannelUrl(first ? `${what}: ${first.replace(/^error:\s*/, "")}` : what),
      // A channel URL may carry credentials: not in the message, the command line or the output tail.
      result.argv.map(redactChannelUrl),
      result.exitCode,
      redactChannelUrl(result.stderr),
      {
        hint: options.hint ?? "Nothing was changed. Run with --verbose to see nix-channel's output.",
      },
    );
  }
  return result;
}

/** `nix-channel --list`. */
export async function listChannelEntries(
  deps: ChannelDeps,
  env?: NodeJS.ProcessEnv,
): Promise<ChannelEntry[]> {
  const result = await nixChannel(deps, ["--list"], "listing the channels failed", { env });
  return parseChannelList(result.stdout);
}

/**
 * Whether this machine uses channels: there is a subscribed channel. False when nix-channel is not
 * installed or lists none (the caller then reports its missing flake.nix).
 */
export async function hasChannels(deps: ChannelDeps): Promise<boolean> {
  try {
    return (await listChannelEntries(deps)).length > 0;
  } catch (error) {
    if (error instanceof CommandNotFoundError || error instanceof NixError) return false;
    throw error;
  }
}

export interface ChannelState extends ChannelEntry {
  /** The branch the URL names (`nixos-24.11`). */
  branch: string | undefined;
  /** The channel's directory in the store; undefined when it was never fetched. */
  storePath: string | undefined;
  info: ChannelInfo;
  /** When this revision was fetched: the oldest channels generation that holds it. */
  fetchedAt: Date | undefined;
}

async function readFileIn(dir: string, name: string): Promise<string | undefined> {
  return readFile(join(dir, name), "utf8").catch(() => undefined);
}

/** The channels in `profile`, with what their files say and when each revision arrived. */
export async function readChannelStates(
  entries: readonly ChannelEntry[],
  profile: string,
): Promise<ChannelState[]> {
  const state = await readProfile(profile);
  return Promise.all(
    entries.map(async (entry): Promise<ChannelState> => {
      const storePath = await realpath(join(profile, entry.name)).catch(() => undefined);
      const base = { ...entry, branch: channelBranch(entry.url), storePath };
      if (storePath === undefined) return { ...base, info: parseChannelInfo({}), fetchedAt: undefined };
      const [version, versionSuffix, gitRevision, svnRevision] = await Promise.all(
        [".version", ".version-suffix", ".git-revision", "svn-revision"].map((f) => readFileIn(storePath, f)),
      );
      let fetchedAt: Date | undefined;
      for (const generation of state.generations) {
        const held = await realpath(join(generation.link, entry.name)).catch(() => undefined);
        if (held === storePath && (fetchedAt === undefined || generation.createdAt < fetchedAt))
          fetchedAt = generation.createdAt;
      }
      return {
        ...base,
        info: parseChannelInfo({ version, versionSuffix, gitRevision, svnRevision }),
        fetchedAt,
      };
    }),
  );
}

/** The channels, read where nix-channel keeps them. */
export async function listChannels(
  deps: ChannelDeps,
): Promise<{ location: ChannelsLocation; channels: ChannelState[] }> {
  const location = await locateChannels(deps.effects.env, deps.nix);
  const entries = await listChannelEntries(deps);
  return { location, channels: await readChannelStates(entries, location.profile) };
}

/**
 * A channel as a locked input, so the staleness policy and the inputs report apply unchanged:
 * the branch is the URL's last component, the revision `.git-revision`, and the date when this
 * revision was fetched (a channel tarball carries no commit date).
 */
export function channelAsInput(channel: ChannelState): LockedInput {
  const owner = channelOwner(channel.url);
  const rev = channel.info.revision;
  // A channel URL may carry credentials; the report shows it without them.
  const url = redactChannelUrl(channel.url);
  return {
    id: channel.name,
    path: [channel.name],
    name: channel.name,
    parent: undefined,
    depth: 0,
    direct: true,
    nodeKey: channel.name,
    sameNodeAs: [],
    flake: false,
    type: "tarball",
    source: url,
    location: url,
    ...(owner === undefined ? {} : { owner }),
    ...(channel.branch === undefined ? {} : { ref: channel.branch }),
    ...(rev === undefined ? {} : { rev, shortRev: rev.slice(0, 7) }),
    ...(channel.fetchedAt === undefined ? {} : { lastModified: channel.fetchedAt }),
    url,
  };
}

/** The staleness policy for channels: the flake one, with Nixpkgs-likeness read from the channel name. */
export function channelStalenessPolicy(config: Config): Partial<StalenessPolicy> {
  return {
    maxAgeDays: config.staleness["max-age-days"],
    supportedBranches: config.staleness["supported-branches"],
    allowedOwners: config.staleness["allowed-owners"],
    nixpkgsLike: (input) => isNixpkgsChannel(input.name, input.ref),
  };
}

// ---------------------------------------------------------------------------------------------
// Update

export interface ChannelChange {
  name: string;
  url: string;
  before: ChannelState | undefined;
  after: ChannelState | undefined;
  /** The channel's store path moved. */
  changed: boolean;
  /** The release (`.version`) changed: `24.11` → `25.05`. */
  releaseJump: { from: string; to: string; newer: boolean } | undefined;
}

export interface ChannelUpdateResult {
  changes: ChannelChange[];
  dryRun: boolean;
  /** The channels generation before and after (undefined: no profile yet / dry run). */
  generationBefore: number | undefined;
  generationAfter: number | undefined;
}

export function diffChannelStates(
  before: readonly ChannelState[],
  after: readonly ChannelState[],
): ChannelChange[] {
  const names = [...new Set([...before.map((c) => c.name), ...after.map((c) => c.name)])].sort();
  return names.map((name) => {
    const b = before.find((c) => c.name === name);
    const a = after.find((c) => c.name === name);
    const from = b?.info.release;
    const to = a?.info.release;
    const releaseJump =
      from !== undefined && to !== undefined && from !== to
        ? { from, to, newer: compareReleasesLoose(from, to) < 0 }
        : undefined;
    return {
      name,
      url: a?.url ?? b?.url ?? "",
      before: b,
      after: a,
      changed: b?.storePath !== a?.storePath,
      releaseJump,
    };
  });
}

function compareReleasesLoose(a: string, b: string): number {
  const ra = parseRelease(`nixos-${a}`);
  const rb = parseRelease(`nixos-${b}`);
  return ra !== undefined && rb !== undefined ? compareReleases(ra, rb) : a < b ? -1 : a > b ? 1 : 0;
}

function checkNames(names: readonly string[], entries: readonly ChannelEntry[]): void {
  for (const name of names) {
    if (!entries.some((e) => e.name === name)) {
      const known = entries.map((e) => e.name).join(", ") || "(none)";
      throw new UsageError(`unknown channel ${JSON.stringify(name)}.`, {
        hint: `Channels here (nix-channel --list): ${known}.`,
      });
    }
  }
}

/**
 * Run nix-channel against a temporary list and profile holding `entries`: the store is reached
 * through the daemon socket (a temporary state directory would otherwise also move the store's
 * database), so a dry run fetches real store paths and changes no channel of the user's.
 */
async function inTemporaryChannels<T>(
  deps: ChannelDeps,
  entries: readonly ChannelEntry[],
  names: readonly string[],
  use: (profile: string, env: NodeJS.ProcessEnv) => Promise<T>,
): Promise<T> {
  const env = deps.effects.env;
  const remote = env["NIX_REMOTE"];
  if (remote !== undefined && remote !== "" && remote !== "daemon" && !remote.startsWith("unix://")) {
    throw new UsageError(
      `a channel dry run needs the nix-daemon, but NIX_REMOTE is ${JSON.stringify(remote)}.`,
      {
        hint: "Run it where Nix talks to a nix-daemon, or update without --dry-run.",
      },
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "ternix-channels-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  const unregister = deps.effects.cleanup.add(remove);
  try {
    const home = join(dir, "home");
    const stateDir = join(dir, "state");
    const user = userInfo();
    await mkdir(join(stateDir, "profiles", "per-user", user.username), { recursive: true });
    await mkdir(home);
    const lines = entries.map((e) => `${e.url} ${e.name}\n`).join("");
    await writeFileAtomic(join(home, ".nix-channels"), lines);
    const tempEnv: NodeJS.ProcessEnv = {
      ...env,
      HOME: home,
      XDG_STATE_HOME: join(home, ".local", "state"),
      NIX_STATE_DIR: stateDir,
      NIX_REMOTE: remote === undefined || remote === "" ? "daemon" : remote,
      NIX_DAEMON_SOCKET_PATH:
        env["NIX_DAEMON_SOCKET_PATH"] ?? `${env["NIX_STATE_DIR"] || "/nix/var/nix"}/daemon-socket/socket`,
    };
    await nixChannel(deps, channelUpdateArgs(names), "fetching the channels failed", {
      env: tempEnv,
      hint: "Nothing was changed. Check the channel URL (nix-channel fetches URL/nixexprs.tar.xz); --verbose shows nix-channel's output.",
    });
    const profile = (await locateChannelsIn(tempEnv, deps.nix.caps.profilesInStateHome)).profile;
    return await use(profile, tempEnv);
  } finally {
    unregister();
    await remove();
  }
}

export async function updateChannels(
  request: { names: readonly string[]; dryRun: boolean },
  deps: ChannelDeps,
): Promise<ChannelUpdateResult> {
  const location = await locateChannels(deps.effects.env, deps.nix);
  const entries = await listChannelEntries(deps);
  if (entries.length === 0) {
    throw new InputError("there are no channels to update (nix-channel --list is empty).", {
      hint: "Subscribe to one: `nix-channel --add https://nixos.org/channels/nixos-25.05 nixos`.",
    });
  }
  checkNames(request.names, entries);
  const before = await readChannelStates(entries, location.profile);
  const selected =
    request.names.length === 0 ? entries : entries.filter((e) => request.names.includes(e.name));
  deps.effects.onEvent({
    type: "phase",
    message: `Fetching ${selected.map((e) => e.name).join(", ")}${request.dryRun ? " (dry run)" : ""}…`,
  });

  if (request.dryRun) {
    const after = await inTemporaryChannels(deps, selected, [], (profile) =>
      readChannelStates(selected, profile),
    );
    const untouched = before.filter((b) => !selected.some((s) => s.name === b.name));
    return {
      changes: diffChannelStates(before, [...after, ...untouched]),
      dryRun: true,
      generationBefore: undefined,
      generationAfter: undefined,
    };
  }

  const generationBefore = (await readProfile(location.profile)).current;
  const restore = () => restoreGeneration(deps, location.profile, generationBefore);
  const unregister = deps.effects.cleanup.add(restore);
  try {
    await nixChannel(deps, channelUpdateArgs(request.names), "updating the channels failed", {
      hint: "The channels are as they were. Check the channel URLs (nix-channel --list); --verbose shows nix-channel's output.",
    });
    const after = await readChannelStates(entries, location.profile);
    const generationAfter = (await readProfile(location.profile)).current;
    unregister();
    return { changes: diffChannelStates(before, after), dryRun: false, generationBefore, generationAfter };
  } catch (error) {
    unregister();
    await restore();
    throw error;
  }
}

/** Put the channels profile back on `generation` when a failed run left it elsewhere. */
async function restoreGeneration(
  deps: ChannelDeps,
  profile: string,
  generation: number | undefined,
): Promise<void> {
  if (generation === undefined) return;
  const now = (await readProfile(profile)).current;
  if (now === generation) return;
  await deps.nix.nixEnv(
    `putting the channels back on generation ${generation} failed`,
    profileSwitchGenerationArgs(profile, generation),
    { cleanup: true },
  );
}

// ---------------------------------------------------------------------------------------------
// Switch a channel to another release

export interface ChannelSwitchPlan {
  name: string;
  url: string;
  /** The channel as it is now; undefined when NAME is a new channel. */
  before: ChannelState | undefined;
  /** The new channel, fetched into a temporary profile. */
  after: ChannelState;
  change: ChannelChange;
  running: NixRelease;
  /** The Nix the new channel's package set brings (`nix.version`), when it has one. */
  channelNix: string | undefined;
  /** The new channel brings a newer Nix than the running one. */
  newerNix: boolean;
  /** Store schema changes between the running Nix and the new channel's. */
  schemaChanges: StoreSchemaChange[];
}

/**
 * `channel switch NAME URL` sets channel NAME to URL; `channel switch BRANCH` moves the channel
 * Nixpkgs comes from (`nixos`, else the only Nixpkgs channel) to BRANCH at the same place.
 */
export function resolveSwitchTarget(
  nameArg: string,
  urlArg: string | undefined,
  entries: readonly ChannelEntry[],
): { name: string; url: string } {
  if (urlArg !== undefined) {
    if (!isChannelName(nameArg))
      throw new UsageError(`${JSON.stringify(nameArg)} is not a channel name nix-channel accepts.`, {
        hint: "Letters, digits, `_`, `.` and `-`, not starting with `.` or `-`.",
      });
    if (!isChannelUrl(urlArg))
      throw new UsageError(`${JSON.stringify(urlArg)} is not a channel URL.`, {
        hint: "Give an http://, https:// or file:// URL, e.g. https://nixos.org/channels/nixos-25.05.",
      });
    return { name: nameArg, url: urlArg.replace(/\/+$/, "") };
  }
  const target =
    entries.find((e) => e.name === "nixos") ??
    (() => {
      const like = entries.filter((e) => isNixpkgsChannel(e.name, channelBranch(e.url)));
      return like.length === 1 ? like[0] : undefined;
    })();
  if (entries.some((e) => e.name === nameArg) || target === undefined || !/^[A-Za-z0-9._-]+$/.test(nameArg)) {
    throw new UsageError(`which URL should channel ${JSON.stringify(target?.name ?? nameArg)} follow?`, {
      hint: "Name the release (`ternix channel switch nixos-25.05`) with a `nixos` channel present, or give both: `ternix channel switch NAME URL`.",
    });
  }
  const base = target.url.replace(/\/+$/, "");
  return { name: target.name, url: `${base.slice(0, base.lastIndexOf("/") + 1)}${nameArg}` };
}

function runningRelease(nix: Nix): NixRelease {
  const v = nix.version;
  return v.implementation === "lix"
    ? { implementation: "lix", version: v.implementationVersion }
    : { implementation: "nix", version: `${v.major}.${v.minor}.${v.patch}` };
}

export async function planChannelSwitch(
  request: { name: string; url?: string | undefined },
  deps: ChannelDeps,
): Promise<ChannelSwitchPlan> {
  const location = await locateChannels(deps.effects.env, deps.nix);
  const entries = await listChannelEntries(deps);
  const { name, url } = resolveSwitchTarget(request.name, request.url, entries);
  const existing = entries.find((e) => e.name === name);
  const before =
    existing === undefined ? undefined : (await readChannelStates([existing], location.profile))[0];
  deps.effects.onEvent({ type: "phase", message: `Fetching ${url} (into a temporary profile)…` });
  const entry = { name, url };
  const { after, channelNix } = await inTemporaryChannels(deps, [entry], [], async (profile, env) => {
    const [state] = await readChannelStates([entry], profile);
    if (state?.storePath === undefined)
      throw new InputError(`${url} did not unpack into a channel named ${name}.`);
    const result = await deps.nix.nixInstantiate(
      "reading the channel's Nix version failed",
      channelNixVersionArgs(state.storePath),
      { env },
    );
    const parsed: unknown = JSON.parse(result.stdout);
    return { after: state, channelNix: typeof parsed === "string" ? parsed : undefined };
  });
  const running = runningRelease(deps.nix);
  const newNix: NixRelease | undefined =
    channelNix === undefined ? undefined : { implementation: "nix", version: channelNix };
  const newerNix =
    newNix !== undefined &&
    compareNixVersions(running.implementation === "lix" ? "2.18" : running.version, newNix.version) < 0;
  const [change] = diffChannelStates(before ? [before] : [], [after]);
  return {
    name,
    url,
    before,
    after,
    change: change as ChannelChange,
    running,
    channelNix,
    newerNix,
    schemaChanges: newerNix && newNix !== undefined ? storeSchemaChangesBetween(running, newNix) : [],
  };
}

function compareNixVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function describeRunningNix(nix: Nix): string {
  return formatNixVersion(nix.version);
}

/**
 * Subscribe NAME to URL and update it. On failure `~/.nix-channels` gets its old content back and
 * the channels profile its old generation.
 */
export async function applyChannelSwitch(
  plan: Pick<ChannelSwitchPlan, "name" | "url">,
  deps: ChannelDeps,
): Promise<ChannelUpdateResult> {
  const location = await locateChannels(deps.effects.env, deps.nix);
  const listBefore = await readUserFile(location.listFile);
  const generationBefore = (await readProfile(location.profile)).current;
  const entries = await listChannelEntries(deps);
  const before = await readChannelStates(entries, location.profile);
  const restore = async () => {
    if (listBefore === undefined) await unlink(location.listFile).catch(() => undefined);
    else await writeFileAtomic(location.listFile, listBefore);
    await restoreGeneration(deps, location.profile, generationBefore);
  };
  const unregister = deps.effects.cleanup.add(restore);
  try {
    await nixChannel(deps, channelAddArgs(plan.url, plan.name), "subscribing to the channel failed");
    await nixChannel(deps, channelUpdateArgs([plan.name]), "updating the channel failed", {
      hint: "The channel list and the channels are as they were; --verbose shows nix-channel's output.",
    });
    const afterEntries = await listChannelEntries(deps);
    const after = await readChannelStates(afterEntries, location.profile);
    const generationAfter = (await readProfile(location.profile)).current;
    unregister();
    return { changes: diffChannelStates(before, after), dryRun: false, generationBefore, generationAfter };
  } catch (error) {
    unregister();
    await restore();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Building a channel-based system

/** Where `build | switch` take a channel-based system from. */
export interface ChannelSystemSource {
  channels: {
    /** The `-I` flags: nixpkgs, nixos-config and the channels directory. */
    nixPath: string[];
    /** For messages: the configuration file. */
    label: string;
  };
}

export const DEFAULT_NIXOS_CONFIG = "/etc/nixos/configuration.nix";

/** nixos-rebuild's NIX_PATH for this machine: nixpkgs from the `nixos` channel (else the only Nixpkgs one). */
export async function channelSystemSource(
  deps: ChannelDeps,
  configuration: string,
): Promise<ChannelSystemSource> {
  const { location, channels } = await listChannels(deps);
  const nixpkgs =
    channels.find((c) => c.name === "nixos") ??
    (() => {
      const like = channels.filter((c) => isNixpkgsChannel(c.name, c.branch));
      return like.length === 1 ? like[0] : undefined;
    })();
  if (nixpkgs === undefined) {
    throw new InputError("no `nixos` channel to build the system from.", {
      hint:
        channels.length === 0
          ? "Subscribe to one: `nix-channel --add https://nixos.org/channels/nixos-25.05 nixos && nix-channel --update`."
          : `Channels here: ${channels.map((c) => c.name).join(", ")}; name the NixOS one \`nixos\`.`,
    });
  }
  if (nixpkgs.storePath === undefined) {
    throw new InputError(`channel ${nixpkgs.name} was never fetched.`, {
      hint: "Run `ternix update` (or nix-channel --update) first.",
    });
  }
  if (!isAbsolute(configuration)) throw new Error(`configuration path must be absolute: ${configuration}`);
  const configPath = configuration;
  const text = await readUserFile(configPath);
  if (text === undefined) {
    throw new InputError(`${configPath} does not exist.`, {
      hint: "Pass --nixos-config PATH (the configuration.nix to build).",
    });
  }
  return {
    channels: {
      nixPath: channelNixPathArgs({
        channels: location.profile,
        nixpkgsChannel: nixpkgs.name,
        configuration: configPath,
      }),
      label: configPath,
    },
  };
}
