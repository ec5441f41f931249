/**
 * Closures read straight from the local store's SQLite database (see store-db.ts), read-only: the
 * file is opened with SQLITE_OPEN_READONLY and `query_only`, so this connection can never take a
 * write lock. Nix runs the database in WAL mode, where a reader neither blocks the daemon's writes
 * nor waits for them; with the rollback journal (`use-sqlite-wal = false`) a writer's commit can
 * make the query wait, for at most the busy timeout, after which Ternix asks `nix path-info`
 * instead. `immutable=1` would skip locking altogether, and is wrong here: the daemon changes the
 * database while we read it.
 *
 * Every way this can fail (no such file, not readable by this user, an unknown schema, a busy or
 * damaged database, the SQLite binding missing) is "cannot answer", never an error: the caller
 * falls back to `nix path-info`, which gives the same result more slowly.
 */
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import type { Database } from "better-sqlite3";
import type { StorePathInfo } from "./schemas.js";
import {
  CLOSURE_QUERY,
  KNOWN_STORE_SCHEMAS,
  STORE_TOTALS_QUERY,
  storeDatabaseLocation,
  storeUriOf,
  type ClosureRow,
  type StoreDatabaseLocation,
} from "./store-db.js";

/** How long to wait for a writer holding the database (rollback-journal mode only). */
const BUSY_TIMEOUT_MS = 1000;

export interface StoreDatabase {
  readonly location: StoreDatabaseLocation;
  /**
   * Every path in the closures of `roots` (a root that is not a valid path comes back with
   * `valid: false`), references sorted as `nix path-info` prints them; undefined when the database
   * cannot answer, with the reason in `lastFailure`.
   */
  closures(roots: readonly string[]): Promise<StorePathInfo[] | undefined>;
  /** The number of valid paths and the sum of their NAR sizes; undefined when it cannot answer. */
  totals(): Promise<{ paths: number; narBytes: number } | undefined>;
  readonly lastFailure: string | undefined;
}

/** The database of the store Nix would use with these `--option` pairs and environment, if local. */
export function storeDatabaseFor(
  options: readonly (readonly [string, string])[],
  env: NodeJS.ProcessEnv,
): StoreDatabase | undefined {
  if (env["TERNIX_NO_STORE_DB"] === "1") return undefined;
  const location = storeDatabaseLocation(storeUriOf(options, env), env);
  return location === undefined ? undefined : openStoreDatabase(location);
}

export function openStoreDatabase(location: StoreDatabaseLocation): StoreDatabase {
  let lastFailure: string | undefined;
  return {
    location,
    get lastFailure() {
      return lastFailure;
    },
    async closures(roots) {
      // A database that could not answer once (unreadable, unknown schema) will not the next time.
      if (lastFailure !== undefined) return undefined;
      try {
        return await withDatabase(location, (db) => {
          const rows = db.prepare(CLOSURE_QUERY).raw(true).all(JSON.stringify(roots)) as ClosureRow[];
          return closureRowsToInfos(rows, roots);
        });
      } catch (error) {
        lastFailure = error instanceof Error ? error.message : String(error);
        return undefined;
      }
    },
    async totals() {
      if (lastFailure !== undefined) return undefined;
      try {
        return await withDatabase(location, (db) => {
          const [paths, narBytes] = db.prepare(STORE_TOTALS_QUERY).raw(true).get() as [number, number];
          return { paths, narBytes };
        });
      } catch (error) {
        lastFailure = error instanceof Error ? error.message : String(error);
        return undefined;
      }
    },
  };
}

async function withDatabase<T>(location: StoreDatabaseLocation, query: (db: Database) => T): Promise<T> {
  await access(location.database, constants.R_OK);
  const schema = (await readFile(location.schemaFile, "utf8")).trim();
  if (!KNOWN_STORE_SCHEMAS.includes(schema)) {
    throw new Error(`store schema ${schema} is not one Ternix knows (${KNOWN_STORE_SCHEMAS.join(", ")})`);
  }
  // Loaded only here: a native module that commands without a closure query never need.
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(location.database, {
    readonly: true,
    fileMustExist: true,
    timeout: BUSY_TIMEOUT_MS,
  });
  try {
    db.pragma("query_only = ON");
    return query(db);
  } finally {
    db.close();
  }
}

/** Rows of CLOSURE_QUERY → path infos; roots the query did not find are invalid. */
export function closureRowsToInfos(rows: readonly ClosureRow[], roots: readonly string[]): StorePathInfo[] {
  const pathOf = new Map<number, string>();
  for (const [id, path] of rows) pathOf.set(id, path);
  const infos: StorePathInfo[] = rows.map(([, path, narSize, refs]) => ({
    path,
    narSize: narSize ?? 0,
    // Every reference of a path in the closure is in the closure; `?? ""` only guards a torn read.
    references:
      refs === null
        ? []
        : refs
            .split(" ")
            .map((id) => pathOf.get(Number(id)) ?? "")
            .filter((p) => p !== "")
            .sort(),
    valid: true,
  }));
  const found = new Set(pathOf.values());
  for (const root of new Set(roots)) {
    if (!found.has(root)) infos.push({ path: root, narSize: 0, references: [], valid: false });
  }
  return infos;
}
