/**
 * `ternix upgrade --prebuilt`: take the host's system from the binary caches instead of evaluating
 * it, when the fetched commit carries a host manifest (`ternix-hosts.json`, written by `ternix pr`
 * or `plan --manifest`) made from exactly this commit's files. Nix checks the caches' signatures
 * against the host's trusted keys while substituting. Every reason not to use it is a value (said
 * in the log and the report), after which the caller evaluates and builds as usual.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sourceTreeId } from "../../git/source-tree.js";
import type { Git } from "../../git/git.js";
import { substitutionFailure } from "../../nix/messages.js";
import type { Nix } from "../../nix/nix.js";
import type { Effects } from "../effects.js";
import { MANIFEST_FILE, manifestToplevel, parseManifest } from "../manifest.js";

export type PrebuiltOutcome =
  { ok: true; storePath: string; release: () => Promise<void> } | { ok: false; reason: string };

export interface PrebuiltRequest {
  /** The bare clone holding the commit. */
  clone: string;
  commit: string;
  /** The flake's directory inside the repository ("" = root). */
  flakeDir: string;
  host: string;
}

/** Where the manifest sits in the repository: next to flake.nix. */
export function manifestPathFor(flakeDir: string): string {
  const sub = flakeDir.replace(/^\/+|\/+$/g, "");
  return sub === "" ? MANIFEST_FILE : `${sub}/${MANIFEST_FILE}`;
}

export async function realisePrebuilt(
  request: PrebuiltRequest,
  deps: { nix: Nix; git: Git; effects: Effects },
): Promise<PrebuiltOutcome> {
  const { commit, host } = request;
  const short = commit.slice(0, 12);
  const path = manifestPathFor(request.flakeDir);
  const text = await deps.git.showFile(request.clone, commit, path);
  if (text === undefined) return { ok: false, reason: `${short} has no ${path}` };
  let manifest;
  try {
    manifest = parseManifest(text, `${path} at ${short}`);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message.replace(/\.$/, "") : String(error) };
  }
  if (manifest.source.manifestPath !== path) {
    return {
      ok: false,
      reason: `${path} at ${short} was made for a manifest at ${JSON.stringify(manifest.source.manifestPath)}`,
    };
  }
  const toplevel = manifestToplevel(manifest, host);
  if (toplevel === undefined) return { ok: false, reason: `${path} at ${short} has no entry for ${host}` };
  deps.effects.onEvent({ type: "phase", message: `Checking ${path} against ${short}…` });
  const tree = await sourceTreeId(
    { git: deps.git, repo: request.clone, env: deps.effects.env },
    { commit },
    { without: path },
  );
  if (tree !== manifest.source.tree) {
    return {
      ok: false,
      reason: `${path} is stale: it was made for source tree ${manifest.source.tree.slice(0, 12)}, but ${short} without it is ${tree.slice(0, 12)} (something besides the manifest changed after the plan)`,
    };
  }

  deps.effects.onEvent({ type: "phase", message: `Substituting ${host}'s system from the binary caches…` });
  const rootDir = await mkdtemp(join(tmpdir(), "ternix-system-"));
  const release = () => rm(rootDir, { recursive: true, force: true });
  const unregister = deps.effects.cleanup.add(release);
  const releaseOnce = async () => {
    unregister();
    await release();
  };
  try {
    const result = await deps.nix.realise(toplevel, join(rootDir, "result"));
    if (result.exitCode !== 0) {
      await releaseOnce();
      return {
        ok: false,
        reason: `${toplevel} cannot be substituted: ${substitutionFailure(result.stderr)}`,
      };
    }
    return { ok: true, storePath: toplevel, release: releaseOnce };
  } catch (error) {
    await releaseOnce();
    throw error;
  }
}
