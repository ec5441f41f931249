/**
 * `ternix vm [HOST]`: build a throwaway VM of a host as `nixos-rebuild build-vm` does
 * (`config.system.build.vm`, or `vmWithBootLoader`), compare the system it boots with the running
 * one, and start it on request. Nothing on the machine changes: no profile, no activation.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ClosureDiff } from "../../closure/model.js";
import { InputError, NixError } from "../../errors.js";
import { evalJsonArgs } from "../../nix/args.js";
import { evalErrorLine } from "../../nix/messages.js";
import type { Nix } from "../../nix/nix.js";
import type { Run } from "../../proc/run.js";
import {
  systemBuildLookupExpr,
  type SystemBuildAttribute,
  type SystemBuildLookup,
} from "../../system/host.js";
import { createBuildTracker, reportBuildProgress } from "../build-progress.js";
import type { Effects } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { flakeAttr } from "../fleet/hosts.js";
import { compareSystems } from "./apply.js";
import { storePathOfLink } from "./profile.js";

export interface VmRequest {
  /** Already checked with resolveHostName. */
  host: string;
  flake: FlakeLocation;
  withBootLoader: boolean;
  /** The `result` link that holds the VM (a GC root), absolute. */
  outLink: string;
  /** The running system's link, to compare with. */
  currentSystem: string;
}

export interface VmBuild {
  host: string;
  attribute: SystemBuildAttribute;
  drvPath: string;
  /** The VM's store path (what `outLink` points to). */
  storePath: string;
  outLink: string;
  /** `<outLink>/bin/run-<name>-vm`; undefined when the output has no such script. */
  runScript: string | undefined;
  /** The system the VM boots (`<vm>/system`). */
  system: string | undefined;
  /** What the running-system link points to, if anything. */
  current: string | undefined;
  diff: ClosureDiff | undefined;
  /** Why there is no diff, when there is none. */
  diffNote?: string | undefined;
}

export function vmAttribute(withBootLoader: boolean): SystemBuildAttribute {
  return withBootLoader ? "vmWithBootLoader" : "vm";
}

/** Evaluate `config.system.build.<attribute>` of `host` (nothing is built); its derivation and output paths. */
export async function evalSystemBuild(
  nix: Nix,
  flake: FlakeLocation,
  host: string,
  attribute: SystemBuildAttribute,
): Promise<{ drvPath: string; outPath: string }> {
  const result = await nix.call(
    evalJsonArgs(flakeAttr(flake.dir, "nixosConfigurations"), systemBuildLookupExpr(host, attribute)),
    { cwd: flake.dir },
  );
  if (result.exitCode !== 0) {
    throw new NixError(
      `evaluating ${host}'s ${attribute} failed: ${evalErrorLine(result.stderr)}`,
      result.argv,
      result.exitCode,
      result.stderr,
      { hint: "Fix the evaluation error (run with --verbose for Nix's output)." },
    );
  }
  const lookup = JSON.parse(result.stdout) as SystemBuildLookup;
  if (lookup.found === false) {
    const names = lookup.names.map((n) => JSON.stringify(n)).join(", ") || "(none)";
    throw new InputError(
      `the flake in ${flake.dir} has no host ${JSON.stringify(host)} in nixosConfigurations.`,
      {
        hint: `Hosts there: ${names}. Name one as the HOST argument.`,
      },
    );
  }
  if (lookup.found === "no-attribute") {
    throw new InputError(`${host}'s configuration has no config.system.build.${attribute}.`, {
      hint:
        "nixpkgs' lib.nixosSystem adds it from NixOS 21.05 on; with an older nixpkgs, or a configuration " +
        'not made by nixosSystem, import (modulesPath + "/virtualisation/qemu-vm.nix") in a configuration of its own.',
    });
  }
  return { drvPath: lookup.drvPath, outPath: lookup.outputPath };
}

/** The store path `host`'s system would have if built now: evaluation only. */
export async function evalHostSystemOutPath(nix: Nix, flake: FlakeLocation, host: string): Promise<string> {
  return (await evalSystemBuild(nix, flake, host, "toplevel")).outPath;
}

export async function buildVm(request: VmRequest, deps: { nix: Nix; effects: Effects }): Promise<VmBuild> {
  const { nix, effects } = deps;
  const attribute = vmAttribute(request.withBootLoader);
  effects.onEvent({ type: "phase", message: `Evaluating ${request.host}'s ${attribute}…` });
  const { drvPath } = await evalSystemBuild(nix, request.flake, request.host, attribute);
  effects.onEvent({ type: "phase", message: `Building ${request.host}'s ${attribute}…` });
  const outcome = await nix.build([nix.drvInstallable(drvPath)], {
    outLink: request.outLink,
    // One host's build: Nix's totals are its own (build-progress.ts).
    onLog: reportBuildProgress(createBuildTracker({ whole: request.host }), effects.onEvent),
  });
  const storePath = outcome.results[0]?.outputs.out;
  if (!outcome.ok || storePath === undefined) {
    throw new NixError(
      `building ${request.host}'s ${attribute} failed: ${evalErrorLine(outcome.stderr)}`,
      ["nix", "build", drvPath],
      outcome.exitCode,
      outcome.stderr,
      { hint: "Nothing on the machine was changed. Run with --verbose for the build log." },
    );
  }
  const [runScript, system, current] = await Promise.all([
    findRunScript(request.outLink),
    storePathOfLink(join(storePath, "system")),
    storePathOfLink(request.currentSystem),
  ]);
  const base = {
    host: request.host,
    attribute,
    drvPath,
    storePath,
    outLink: request.outLink,
    runScript,
    system,
    current,
  };
  if (system === undefined)
    return { ...base, diff: undefined, diffNote: `${storePath} has no system link to compare` };
  if (current === undefined)
    return {
      ...base,
      diff: undefined,
      diffNote: `${request.currentSystem} does not exist; nothing to compare with`,
    };
  if (current === system)
    return { ...base, diff: undefined, diffNote: "the VM boots the system that is running" };
  return { ...base, ...(await compareSystems(nix, effects, current, system)) };
}

/** NixOS names it `run-${config.system.name}-vm`; the name is read from the output, not guessed. */
async function findRunScript(outLink: string): Promise<string | undefined> {
  const bin = join(outLink, "bin");
  const entries = await readdir(bin).catch(() => [] as string[]);
  const script = entries.filter((e) => /^run-.+-vm$/.test(e)).sort()[0];
  return script === undefined ? undefined : join(bin, script);
}

/**
 * Start the VM on this terminal: `[...runCommand, runScript]`, in `cwd` (where QEMU puts
 * the VM's disk image, `<name>.qcow2`). Returns the VM's exit code.
 */
export async function runVm(
  build: VmBuild,
  options: { runCommand: readonly string[]; cwd: string; env: NodeJS.ProcessEnv },
  run: Run,
): Promise<{ argv: readonly string[]; exitCode: number | null }> {
  if (build.runScript === undefined) {
    throw new InputError(`${build.storePath} has no bin/run-*-vm script to start.`, {
      hint: "Is this a NixOS VM (config.system.build.vm)? Start it by hand.",
    });
  }
  const argv = [...options.runCommand, build.runScript];
  const [command, ...rest] = argv as [string, ...string[]];
  const result = await run(command, rest, { cwd: options.cwd, env: options.env, interactive: true });
  return { argv, exitCode: result.exitCode };
}
