/**
 * The local store's SQLite database, as far as Ternix reads it: where it is for the store in use,
 * which schema it must have, and the one query that reads closures from it. Pure: the reader that
 * opens the file is store-db-reader.ts.
 *
 * Reading the database directly is what makes a first diff cheaper than `nix store diff-closures`:
 * `nix path-info --recursive --json` asks the daemon path by path and prints megabytes of JSON,
 * while the closure is one recursive query over `Refs`. Anything Ternix cannot be sure of (another
 * store URI, a different store directory, an unknown schema) is left to `nix path-info`.
 */
import { DEFAULT_STORE_DIR } from "./schemas.js";

/**
 * Nix's store schema version (`nixSchemaVersion`, written to `<state>/db/schema`) whose tables this
 * reader knows: `ValidPaths(id, path, narSize, …)` and `Refs(referrer, reference)`. Version 10 is
 * every Nix since 2.0; checked against the databases of Nix 2.8.0 and 2.24.15 (and Nix's own
 * `local-store.hh` up to the 2.2x series, which still says 10). Lix keeps the same schema.
 */
export const KNOWN_STORE_SCHEMAS: readonly string[] = ["10"];

/** The default state directory (`NIX_STATE_DIR`), under which `db/db.sqlite` lives. */
const DEFAULT_STATE_DIR = "/nix/var/nix";

export interface StoreDatabaseLocation {
  /** `<state>/db/db.sqlite` */
  database: string;
  /** `<state>/db/schema` */
  schemaFile: string;
}

/**
 * The store URI Nix will use: the last `--option store URI`, else `NIX_REMOTE`, else a `store =`
 * line of `NIX_CONFIG`, else `auto`.
 */
export function storeUriOf(options: readonly (readonly [string, string])[], env: NodeJS.ProcessEnv): string {
  const fromOptions = options.filter(([name]) => name === "store").at(-1)?.[1];
  if (fromOptions !== undefined && fromOptions !== "") return fromOptions;
  const remote = env["NIX_REMOTE"];
  if (remote !== undefined && remote !== "") return remote;
  const configLine = (env["NIX_CONFIG"] ?? "")
    .split("\n")
    .map((line) => /^\s*store\s*=\s*(\S*)\s*$/.exec(line)?.[1])
    .filter((v) => v !== undefined)
    .at(-1);
  return configLine !== undefined && configLine !== "" ? configLine : "auto";
}

/**
 * Where the database of the store `uri` is, or undefined when it is not a local store on this
 * machine that uses `/nix/store`. `auto` and `daemon` are the machine's own store (a daemon
 * serves the default state directory; reading its database is read-only and takes no lock that
 * blocks it). `local?root=DIR` is a chroot store: `DIR/nix/var/nix/db`.
 */
export function storeDatabaseLocation(
  uri: string,
  env: NodeJS.ProcessEnv,
): StoreDatabaseLocation | undefined {
  const queryAt = uri.indexOf("?");
  const scheme = queryAt < 0 ? uri : uri.slice(0, queryAt);
  const params = new URLSearchParams(queryAt < 0 ? "" : uri.slice(queryAt + 1));
  const envStateDir = env["NIX_STATE_DIR"] || DEFAULT_STATE_DIR;
  const envStoreDir = env["NIX_STORE_DIR"] || env["NIX_STORE"] || DEFAULT_STORE_DIR;
  let stateDir: string;
  if (scheme === "auto" || scheme === "daemon" || scheme === "unix") {
    // A daemon elsewhere (`unix:///some/socket`, `daemon?root=`) may serve another state directory.
    if (uri.startsWith("unix://") || params.size > 0) return undefined;
    stateDir = envStateDir;
  } else if (scheme === "local" || scheme.startsWith("/")) {
    const root = params.get("root") ?? (scheme.startsWith("/") ? scheme : undefined);
    stateDir = params.get("state") ?? (root !== undefined ? `${root}${DEFAULT_STATE_DIR}` : envStateDir);
    const storeDir = params.get("store") ?? (root !== undefined ? DEFAULT_STORE_DIR : envStoreDir);
    if (storeDir !== DEFAULT_STORE_DIR) return undefined;
  } else return undefined;
  if (envStoreDir !== DEFAULT_STORE_DIR) return undefined;
  const dbDir = `${stateDir.replace(/\/+$/, "")}/db`;
  return { database: `${dbDir}/db.sqlite`, schemaFile: `${dbDir}/schema` };
}

/**
 * Every path in the closures of the roots bound to `json_each(?)` (a JSON array of paths), with its
 * NAR size and its references as a space-separated list of row ids. One statement, so both
 * closures come from one snapshot of the database. `UNION` (not `UNION ALL`) visits each path once,
 * which also ends the recursion on a path that references itself.
 */
export const CLOSURE_QUERY = `
WITH RECURSIVE closure(id) AS (
  SELECT v.id FROM ValidPaths v JOIN json_each(?) j ON v.path = j.value
  UNION
  SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id
)
SELECT v.id, v.path, v.narSize,
  (SELECT group_concat(r.reference, ' ') FROM Refs r WHERE r.referrer = v.id) AS refs
FROM closure c JOIN ValidPaths v ON v.id = c.id`;

/** One row of {@link CLOSURE_QUERY}, as the reader gets it. */
export type ClosureRow = [id: number, path: string, narSize: number | null, refs: string | null];

/** How many valid paths the store holds and the sum of their NAR sizes (one row: count, bytes). */
export const STORE_TOTALS_QUERY = `SELECT count(*), coalesce(sum(narSize), 0) FROM ValidPaths`;
