/**
 * A binary cache for the hosts (`plan --push-to STORE_URI [--sign-key FILE]`) and the host manifest
 * (`plan --manifest FILE`, `pr`): the built after-systems are signed in the local store and copied
 * in one `nix copy`; the manifest names each host's after toplevel and the source tree it was
 * evaluated from, so `ternix upgrade --prebuilt` can substitute instead of evaluating.
 */
import { dirname, posix } from "node:path";
import { InputError } from "../../errors.js";
import { sourceTreeId } from "../../git/source-tree.js";
import type { Git } from "../../git/git.js";
import type { Nix } from "../../nix/nix.js";
import type { AppEvent } from "../effects.js";
import type { FlakeLocation } from "../flake.js";
import { buildManifest, MANIFEST_FILE, type HostManifest } from "../manifest.js";
import type { HostPlan, PlanCachePush } from "./plan-model.js";

/** Hosts whose after side built, with its toplevel: what is pushed and what the manifest lists. */
export function builtAfterSystems(hosts: readonly HostPlan[]): { host: string; toplevel: string }[] {
  return hosts.flatMap((h) => (h.after.ok ? [{ host: h.host, toplevel: h.after.toplevel }] : []));
}

export async function pushSystems(
  nix: Nix,
  hosts: readonly HostPlan[],
  options: { storeUri: string; signKey?: string | undefined; onEvent: (event: AppEvent) => void },
): Promise<PlanCachePush> {
  const systems = builtAfterSystems(hosts);
  const paths = [...new Set(systems.map((s) => s.toplevel))];
  if (options.signKey !== undefined && paths.length > 0) {
    options.onEvent({
      type: "phase",
      message: `Signing ${paths.length} system closure${paths.length === 1 ? "" : "s"}…`,
    });
    await nix.sign(options.signKey, paths);
  }
  if (paths.length > 0) {
    options.onEvent({
      type: "phase",
      message: `Copying ${paths.length} system closure${paths.length === 1 ? "" : "s"} to ${options.storeUri}…`,
    });
    await nix.copyTo(options.storeUri, paths);
  }
  return {
    storeUri: options.storeUri,
    hosts: systems.map((s) => s.host).sort(),
    signed: options.signKey !== undefined,
  };
}

/** The manifest's path in the repository: `ternix-hosts.json` next to flake.nix. */
export function manifestPathInRepo(flake: FlakeLocation): string {
  const lock = requireManifestSource(flake);
  const dir = dirname(lock);
  return dir === "." ? MANIFEST_FILE : posix.join(dir, MANIFEST_FILE);
}

/** The manifest names a git tree: a flake outside git has none. Checked before any work. */
export function requireManifestSource(flake: FlakeLocation): string {
  if (flake.gitRoot === undefined || flake.lockPathInRepo === undefined) {
    throw new InputError(
      "a host manifest names the flake's git tree, but the flake is not in a git repository.",
      {
        hint: "Commit the flake to git, or run without --manifest.",
      },
    );
  }
  return flake.lockPathInRepo;
}

/**
 * The manifest of a plan: the tree the after side was evaluated from (the work tree's tracked files
 * with the updated lock, without the manifest) and every host whose after side built.
 */
export async function planManifest(
  repo: { git: Git; env: NodeJS.ProcessEnv },
  flake: FlakeLocation,
  afterLockText: string,
  hosts: readonly HostPlan[],
): Promise<HostManifest> {
  const lockPath = requireManifestSource(flake);
  const manifestPath = manifestPathInRepo(flake);
  const tree = await sourceTreeId(
    { git: repo.git, repo: flake.gitRoot as string, env: repo.env },
    { workTree: true },
    { replace: [{ path: lockPath, content: afterLockText }], without: manifestPath },
  );
  return buildManifest(tree, manifestPath, builtAfterSystems(hosts));
}
