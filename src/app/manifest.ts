/**
 * The host manifest (`ternix-hosts.json`, `plan --manifest FILE`): each host's after-update
 * toplevel store path, and the source tree it was evaluated from. `ternix upgrade --prebuilt` reads
 * it at the fetched commit and, when the commit's tree is that tree, realises the path from the
 * binary caches instead of evaluating (docs/upgrade.md, "Prebuilt upgrades").
 *
 * The tree is named by git's own tree id of the repository with the manifest file removed
 * (src/git/source-tree.ts): the same files give the same id whatever commit holds them (merge
 * commit, squash, rebase), and any other change to any file gives another id. Pure: no effects.
 */
import { z } from "zod";
import { InputError } from "../errors.js";

/** The manifest's name in the flake directory when `pr` commits it. */
export const MANIFEST_FILE = "ternix-hosts.json";

export const MANIFEST_SCHEMA_VERSION = 1;

const STORE_PATH = /^\/[^\0\n]*\/[0-9a-df-np-sv-z]{32}-[^/\0\n]+$/;

const HostEntry = z.strictObject({
  /** The after-update `system.build.toplevel` output path. */
  toplevel: z.string().regex(STORE_PATH, "a store path"),
});

export const HostManifest = z.strictObject({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  kind: z.literal("ternix-hosts"),
  source: z.strictObject({
    /**
     * `git-tree-without-manifest`: the git tree id of the whole repository at the commit (or the
     * planned working tree), with the manifest file's entry removed.
     */
    method: z.literal("git-tree-without-manifest"),
    tree: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/),
    /** The manifest's path in the repository, the entry left out of the tree. */
    manifestPath: z.string().min(1),
  }),
  hosts: z.record(z.string(), HostEntry),
});
export type HostManifest = z.infer<typeof HostManifest>;

export interface ManifestHost {
  host: string;
  toplevel: string;
}

/** The manifest document; hosts sorted by name, so the same plan writes the same bytes. */
export function buildManifest(
  tree: string,
  manifestPath: string,
  hosts: readonly ManifestHost[],
): HostManifest {
  const sorted = [...hosts].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    kind: "ternix-hosts",
    source: { method: "git-tree-without-manifest", tree, manifestPath },
    // Defined, not assigned: a host named __proto__ stays an ordinary key.
    hosts: Object.fromEntries(sorted.map((h) => [h.host, { toplevel: h.toplevel }])),
  };
}

export function renderManifest(manifest: HostManifest): string {
  return JSON.stringify(manifest, null, 2) + "\n";
}

/** Parse a manifest; a malformed one is an InputError naming where it came from. */
export function parseManifest(text: string, where: string): HostManifest {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch {
    throw new InputError(`${where} is not JSON.`, {
      hint: "Regenerate it with `ternix plan --manifest FILE` or `ternix pr`.",
    });
  }
  const result = HostManifest.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue?.path.length ? issue.path.map(String).join(".") : "(top level)";
    throw new InputError(`${where} is not a Ternix host manifest: ${at}: ${issue?.message ?? "invalid"}.`, {
      hint: `Expected schemaVersion ${MANIFEST_SCHEMA_VERSION}, kind "ternix-hosts" (docs/json-schema.md); regenerate it with \`ternix plan --manifest FILE\`.`,
    });
  }
  // zod rebuilds records by assignment, which drops a host named __proto__: take the (validated)
  // entries from the document itself into a null-prototype object.
  const hosts = Object.create(null) as HostManifest["hosts"];
  for (const [name, entry] of Object.entries((data as { hosts: Record<string, unknown> }).hosts)) {
    Object.defineProperty(hosts, name, {
      value: HostEntry.parse(entry),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { ...result.data, hosts };
}

/** The host's entry, looked up as an own key only (never an inherited property). */
export function manifestToplevel(manifest: HostManifest, host: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(manifest.hosts, host)
    ? manifest.hosts[host]?.toplevel
    : undefined;
}
