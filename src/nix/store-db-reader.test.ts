/**
 * The store-database reader against real Nix databases: each test store is a chroot store
 * (`local?root=DIR`) whose paths Nix itself registers (`nix-store --load-db`, as `--dump-db` prints it, with the
 * references we choose, including one to itself), then read both by the reader and by
 * `nix path-info --recursive --json` on the same store.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closureOf } from "../app/closure-load.js";
import { run } from "../proc/run.js";
import { createNix, type Nix } from "./nix.js";
import type { StorePathInfo } from "./schemas.js";
import { openStoreDatabase, storeDatabaseFor } from "./store-db-reader.js";
import { storeDatabaseLocation, storeUriOf } from "./store-db.js";

const NIX_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

/** A well-formed store path whose hash part is derived from `name`. */
function storePath(name: string): string {
  const digest = createHash("sha256").update(name).digest();
  const hash = [...digest.subarray(0, 32)].map((b) => NIX_ALPHABET[b % 32]).join("");
  return `/nix/store/${hash}-${name}`;
}

interface PathSpec {
  name: string;
  refs: string[];
  narSize: number;
}

/** Register `specs` (references by name) as valid paths of the chroot store at `root`, with Nix. */
async function registerPaths(root: string, specs: readonly PathSpec[]): Promise<void> {
  await mkdir(join(root, "nix", "store"), { recursive: true });
  const lines: string[] = [];
  for (const spec of specs) {
    const path = storePath(spec.name);
    await writeFile(join(root, path), `${spec.name}\n`);
    lines.push(
      path,
      `sha256:${createHash("sha256").update(spec.name).digest("hex")}`,
      String(spec.narSize),
      "",
      String(spec.refs.length),
      ...spec.refs.map(storePath),
    );
  }
  const result = await run("nix-store", ["--load-db"], {
    env: storeEnv(root),
    input: lines.join("\n") + "\n",
  });
  expect(result.exitCode, result.stderr).toBe(0);
}

const storeEnv = (root: string): NodeJS.ProcessEnv => ({
  ...process.env,
  NIX_REMOTE: `local?root=${root}`,
  // No network: an invalid path must not be looked up in a binary cache.
  NIX_CONFIG: "substituters =",
});

const sorted = (infos: readonly StorePathInfo[]) =>
  infos
    .map((i) => ({ path: i.path, narSize: i.narSize, references: i.references, valid: i.valid }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));

// Two systems sharing 40 libraries; each has a few of its own; `self` references itself.
const SHARED = Array.from({ length: 40 }, (_, i) => `lib${i}-1.0`);
const SPECS: PathSpec[] = [
  { name: "glibc-2.40", refs: ["glibc-2.40"], narSize: 1000 },
  ...SHARED.map((name, i) => ({
    name,
    refs: ["glibc-2.40", ...(i > 0 ? [SHARED[i - 1] ?? ""] : [])],
    narSize: 10 + i,
  })),
  { name: "self-1.0", refs: ["self-1.0", "glibc-2.40"], narSize: 7 },
  { name: "curl-8.10", refs: ["lib3-1.0"], narSize: 50 },
  { name: "curl-8.11", refs: ["lib3-1.0", "self-1.0"], narSize: 51 },
  { name: "unreferenced-1.0", refs: [], narSize: 3 },
  { name: "system-a", refs: ["curl-8.10", "lib39-1.0"], narSize: 100 },
  { name: "system-b", refs: ["curl-8.11", "lib39-1.0", "system-b"], narSize: 101 },
];

let dir: string;
let root: string;
let nix: Nix;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-store-db-"));
  root = join(dir, "chroot");
  await registerPaths(root, SPECS);
  nix = await createNix({ run, env: storeEnv(root), storeDatabase: null });
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the store-database reader on a real chroot store", () => {
  const a = storePath("system-a");
  const b = storePath("system-b");

  it("finds the chroot store's database from the store URI", () => {
    const db = storeDatabaseFor([], storeEnv(root));
    expect(db?.location.database).toBe(join(root, "nix/var/nix/db/db.sqlite"));
  });

  it("reads both closures in one query, exactly as `nix path-info --recursive` does", async () => {
    const db = storeDatabaseFor([], storeEnv(root));
    const fromDb = await db?.closures([a, b]);
    expect(db?.lastFailure).toBeUndefined();
    const fromNix = await nix.pathInfo([a, b], { recursive: true });
    expect(fromDb).toBeDefined();
    expect(sorted(fromDb ?? [])).toEqual(sorted(fromNix));
    // The two sides share most paths: the union holds each once.
    expect(fromDb).toHaveLength(new Set(fromDb?.map((i) => i.path)).size);
    expect(fromDb).toHaveLength(SHARED.length + 6);
    expect(fromDb?.some((i) => i.path === storePath("unreferenced-1.0"))).toBe(false);
  });

  it("keeps a reference to the path itself, and each root's closure walks out of the union", async () => {
    const infos = (await storeDatabaseFor([], storeEnv(root))?.closures([a, b])) ?? [];
    const byPath = new Map(infos.map((i) => [i.path, i]));
    expect(byPath.get(storePath("self-1.0"))?.references).toEqual(
      [storePath("self-1.0"), storePath("glibc-2.40")].sort(),
    );
    expect(byPath.get(b)?.references).toContain(b);
    const closureA = closureOf(a, byPath).map((i) => i.path);
    const closureB = closureOf(b, byPath).map((i) => i.path);
    expect(closureA).not.toContain(storePath("self-1.0"));
    expect(closureB).toContain(storePath("self-1.0"));
    expect(closureA.filter((p) => closureB.includes(p))).toHaveLength(SHARED.length + 1);
  });

  it("counts every valid path and sums their NAR sizes (doctor's store size)", async () => {
    const totals = await storeDatabaseFor([], storeEnv(root))?.totals();
    expect(totals).toEqual({
      paths: SPECS.length,
      narBytes: SPECS.reduce((sum, s) => sum + s.narSize, 0),
    });
  });

  it("reports a root that is not a valid path as invalid, as path-info does", async () => {
    const missing = storePath("never-registered-1.0");
    const infos = (await storeDatabaseFor([], storeEnv(root))?.closures([a, missing])) ?? [];
    expect(infos.find((i) => i.path === missing)).toEqual({
      path: missing,
      narSize: 0,
      references: [],
      valid: false,
    });
    expect(infos.filter((i) => i.valid)).toHaveLength(
      closureOf(a, new Map(infos.map((i) => [i.path, i]))).length,
    );
    const fromNix = await nix.pathInfo([missing], { recursive: false });
    expect(fromNix.map((i) => i.valid)).toEqual([false]);
  });

  it("cannot answer for an unknown schema or a missing database, and the adapter then asks Nix", async () => {
    const copy = join(dir, "copy");
    await cp(join(root, "nix", "var", "nix", "db"), join(copy, "db"), { recursive: true });
    await writeFile(join(copy, "db", "schema"), "11");
    const unknown = openStoreDatabase({
      database: join(copy, "db", "db.sqlite"),
      schemaFile: join(copy, "db", "schema"),
    });
    expect(await unknown.closures([a])).toBeUndefined();
    expect(unknown.lastFailure).toMatch(/schema 11/);

    const absent = openStoreDatabase({ database: join(dir, "none.sqlite"), schemaFile: join(dir, "schema") });
    const viaAdapter = await (
      await createNix({ run, env: storeEnv(root), storeDatabase: absent })
    ).closurePathInfo([a, b]);
    expect(absent.lastFailure).toMatch(/ENOENT/);
    expect(sorted(viaAdapter)).toEqual(sorted(await nix.pathInfo([a, b], { recursive: true })));
  });

  it("never writes: the database file is unchanged after reading", async () => {
    const db = storeDatabaseFor([], storeEnv(root));
    const { readFile } = await import("node:fs/promises");
    const file = join(root, "nix/var/nix/db/db.sqlite");
    const before = await readFile(file);
    await db?.closures([a, b]);
    expect((await readFile(file)).equals(before)).toBe(true);
  });
});

describe("storeDatabaseLocation", () => {
  const env = {};
  it.each([
    ["auto", "/nix/var/nix/db/db.sqlite"],
    ["daemon", "/nix/var/nix/db/db.sqlite"],
    ["local", "/nix/var/nix/db/db.sqlite"],
    ["local?root=/tmp/x", "/tmp/x/nix/var/nix/db/db.sqlite"],
    ["/tmp/x", "/tmp/x/nix/var/nix/db/db.sqlite"],
    ["local?root=/tmp/x&state=/tmp/s", "/tmp/s/db/db.sqlite"],
    ["local?store=/gnu/store", undefined],
    ["unix:///run/other.socket", undefined],
    ["ssh-ng://host", undefined],
    ["file:///tmp/cache", undefined],
    ["https://cache.nixos.org", undefined],
  ])("%s → %s", (uri, expected) => {
    expect(storeDatabaseLocation(uri, env)?.database).toBe(expected);
  });

  it("follows NIX_STATE_DIR, and gives up on another store directory", () => {
    expect(storeDatabaseLocation("daemon", { NIX_STATE_DIR: "/s" })?.database).toBe("/s/db/db.sqlite");
    expect(storeDatabaseLocation("auto", { NIX_STORE_DIR: "/gnu/store" })).toBeUndefined();
  });
});

describe("storeUriOf", () => {
  it.each([
    [[], {}, "auto"],
    [[], { NIX_REMOTE: "daemon" }, "daemon"],
    [[], { NIX_CONFIG: "substituters =\nstore = local?root=/r\n" }, "local?root=/r"],
    [[["store", "local?root=/o"]], { NIX_REMOTE: "daemon" }, "local?root=/o"],
    [
      [
        ["store", "a"],
        ["store", "b"],
      ],
      {},
      "b",
    ],
  ] as [[string, string][], NodeJS.ProcessEnv, string][])("%j %j → %s", (options, env, expected) => {
    expect(storeUriOf(options, env)).toBe(expected);
  });
});
