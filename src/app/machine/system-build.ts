/**
 * Building one machine's system: find the flake (`--flake DIR`, else the current directory, else
 * /etc/nixos), look the host up in `nixosConfigurations` with a quoted name, and build its toplevel
 * derivation by path, as the user, rooted under a temporary out-link until the profile holds it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError, NixError, UsageError } from "../../errors.js";
import type { Git } from "../../git/git.js";
import { evalJsonArgs } from "../../nix/args.js";
import type { Nix } from "../../nix/nix.js";
import { checkHostName, toplevelLookupExpr, type ToplevelLookup } from "../../system/host.js";
import { createBuildTracker, reportBuildProgress } from "../build-progress.js";
import type { Effects } from "../effects.js";
import { locateFlake, type FlakeLocation } from "../flake.js";
import { evalErrorLine } from "../../nix/messages.js";
import { flakeAttr } from "../fleet/hosts.js";
import { instantiateSystemArgs } from "../../nix/channel.js";
import type { ChannelSystemSource } from "../channels.js";

export const SYSTEM_FLAKE_DIR = "/etc/nixos";

/** The flake to build from: `--flake DIR`, else the one around `cwd`, else /etc/nixos. */
export async function locateSystemFlake(
  dirArg: string | undefined,
  cwd: string,
  git: Git,
): Promise<FlakeLocation> {
  if (dirArg !== undefined) return locateFlake(dirArg, cwd, git);
  try {
    return await locateFlake(undefined, cwd, git);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    try {
      return await locateFlake(SYSTEM_FLAKE_DIR, cwd, git);
    } catch {
      throw new InputError(`no flake.nix in ${cwd} (or above it) nor in ${SYSTEM_FLAKE_DIR}.`, {
        hint: "Run Ternix inside your system flake or pass --flake DIR.",
      });
    }
  }
}

/** The host to build: the argument, else this machine's host name; checked before it is used anywhere. */
export function resolveHostName(arg: string | undefined, machineHostName: string): string {
  const name = arg ?? machineHostName;
  const check = checkHostName(name);
  if (!check.ok) {
    throw new UsageError(`invalid host name: ${check.reason}.`, {
      hint:
        arg === undefined
          ? "This machine's host name cannot be used; name the host: `ternix switch HOST`."
          : "Name a host of the flake's nixosConfigurations.",
    });
  }
  return check.name;
}

/**
 * Where the system comes from: a flake directory (`switch`), or a locked flake reference such as one
 * commit of a git repository (`upgrade`), evaluated without updating or writing its lock.
 */
export type SystemSource =
  FlakeLocation | { flakeRef: string; cwd: string; label: string } | ChannelSystemSource;

const sourceLabel = (source: FlakeLocation | { flakeRef: string; cwd: string; label: string }) =>
  "flakeRef" in source ? source.label : source.dir;

/**
 * A channel-based system's toplevel derivation: `nix-instantiate '<nixpkgs/nixos>' -A system` with
 * the channels' NIX_PATH, as nixos-rebuild does without flakes.
 */
async function instantiateChannelSystem(nix: Nix, source: ChannelSystemSource): Promise<string> {
  const args = instantiateSystemArgs(source.channels.nixPath);
  try {
    const result = await nix.nixInstantiate(`evaluating ${source.channels.label} failed`, args);
    const drvPath = result.stdout.trim().split("\n").pop() ?? "";
    if (!/^\/nix\/store\/[0-9a-z]{32}-[^/]+\.drv$/.test(drvPath))
      throw new Error(`nix-instantiate printed no derivation (${JSON.stringify(drvPath)})`);
    return drvPath;
  } catch (error) {
    if (error instanceof NixError) {
      throw new NixError(
        `evaluating ${source.channels.label} failed: ${evalErrorLine(error.stderrTail)}`,
        error.argv,
        error.commandExitCode,
        error.stderrTail,
        { hint: "Nothing was changed. Fix the evaluation error (run with --verbose for Nix's output)." },
      );
    }
    throw error;
  }
}

/** The toplevel derivation of `host`, without building anything. */
export async function evalHostToplevel(nix: Nix, source: SystemSource, host: string): Promise<string> {
  if ("channels" in source) return instantiateChannelSystem(nix, source);
  const args =
    "flakeRef" in source
      ? evalJsonArgs(`${source.flakeRef}#nixosConfigurations`, toplevelLookupExpr(host), {
          noUpdateLockFile: true,
          noWriteLockFile: true,
        })
      : evalJsonArgs(flakeAttr(source.dir, "nixosConfigurations"), toplevelLookupExpr(host));
  const result = await nix.call(args, { cwd: "flakeRef" in source ? source.cwd : source.dir });
  if (result.exitCode !== 0) {
    throw new NixError(
      `evaluating ${host}'s system failed: ${evalErrorLine(result.stderr)}`,
      result.argv,
      result.exitCode,
      result.stderr,
      {
        hint: "Nothing was changed. Fix the evaluation error (run with --verbose for Nix's output).",
      },
    );
  }
  const lookup = JSON.parse(result.stdout) as ToplevelLookup;
  if (!lookup.found) {
    const names = lookup.names.map((n) => JSON.stringify(n)).join(", ") || "(none)";
    throw new InputError(
      `the flake in ${sourceLabel(source)} has no host ${JSON.stringify(host)} in nixosConfigurations.`,
      {
        hint: `Hosts there: ${names}. Name one as the HOST argument.`,
      },
    );
  }
  return lookup.drvPath;
}

export interface BuiltSystem {
  host: string;
  drvPath: string;
  /** The toplevel store path. */
  storePath: string;
  /** Drop the temporary GC root (once the profile or the caller holds the path). */
  release(): Promise<void>;
}

/** Evaluate and build `host`'s toplevel. A failed build throws and changes nothing. */
export async function buildHostSystem(
  nix: Nix,
  source: SystemSource,
  host: string,
  effects: Effects,
): Promise<BuiltSystem> {
  effects.onEvent({ type: "phase", message: `Evaluating ${host}…` });
  const drvPath = await evalHostToplevel(nix, source, host);
  effects.onEvent({ type: "phase", message: `Building ${host}…` });
  // A GC root for the window between the build and `nix-env --set`; its name never holds the host name.
  const rootDir = await mkdtemp(join(tmpdir(), "ternix-system-"));
  const release = () => rm(rootDir, { recursive: true, force: true });
  const unregister = effects.cleanup.add(release);
  const releaseOnce = async () => {
    unregister();
    await release();
  };
  try {
    const outcome = await nix.build([nix.drvInstallable(drvPath)], {
      outLink: join(rootDir, "result"),
      // One host: the whole build is its own, so Nix's totals are the host's (no dry run needed).
      onLog: reportBuildProgress(createBuildTracker({ whole: host }), effects.onEvent),
    });
    const storePath = outcome.results[0]?.outputs.out;
    if (!outcome.ok || storePath === undefined) {
      throw new NixError(
        `building ${host}'s system failed: ${evalErrorLine(outcome.stderr)}`,
        ["nix", "build", drvPath],
        outcome.exitCode,
        outcome.stderr,
        {
          hint: "Nothing was changed: the profile and the running system are as they were. Run with --verbose for the build log.",
        },
      );
    }
    return { host, drvPath, storePath, release: releaseOnce };
  } catch (error) {
    await releaseOnce();
    throw error;
  }
}
