/**
 * `ternix diff` reads closures from the store database when it can, and from `nix path-info`
 * otherwise: both must give the same diff, byte for byte, on every fixture scenario (each default
 * host across a point update, a quiet update and a release jump, and plain packages). The database
 * run has no `nix` on PATH, so it cannot have asked Nix; the other has the database turned off.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ensureBuiltCli, pathWithoutNix, runCli } from "../helpers/cli.js";
import {
  advanceNixpkgs,
  buildHosts,
  createWorld,
  DEFAULT_HOSTS,
  setFleetNixpkgsBranch,
  updateFleetLock,
  type World,
} from "../helpers/world.js";

const HOSTS = DEFAULT_HOSTS.map((h) => h.name);
type Systems = Record<string, string>;

let world: World;
let dir: string;
let withoutNix: string;
const built: Record<"a" | "b" | "c" | "next", Systems> = { a: {}, b: {}, c: {}, next: {} };

beforeAll(async () => {
  await ensureBuiltCli();
  world = await createWorld();
  dir = await mkdtemp(join(tmpdir(), "ternix-diff-db-"));
  withoutNix = await pathWithoutNix(dir);
  built.a = await buildHosts(world, HOSTS);
  await advanceNixpkgs(world, "24.11-b");
  await updateFleetLock(world);
  built.b = await buildHosts(world, HOSTS);
  await advanceNixpkgs(world, "24.11-c");
  await updateFleetLock(world);
  built.c = await buildHosts(world, HOSTS);
  await setFleetNixpkgsBranch(world, "nixos-25.05");
  await advanceNixpkgs(world, "25.05-a");
  await updateFleetLock(world);
  built.next = await buildHosts(world, HOSTS);
});

afterAll(async () => {
  await world?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function bothWays(before: string, after: string, format: string): Promise<string> {
  const args = ["diff", before, after, "--format", format];
  const env = { ...world.env, TERNIX_NO_CACHE: "1", NO_COLOR: "1" };
  const fromDb = await runCli(args, { cwd: dir, env: { ...env, PATH: withoutNix } });
  const fromNix = await runCli(args, { cwd: dir, env: { ...env, TERNIX_NO_STORE_DB: "1" } });
  expect(fromDb.exitCode, fromDb.stderr).toBe(0);
  expect(fromNix.exitCode, fromNix.stderr).toBe(0);
  expect(fromDb.stdout).toBe(fromNix.stdout);
  return fromDb.stdout;
}

describe("store database and nix path-info give the same diff", () => {
  const pairs: [string, "a" | "b" | "c", "a" | "b" | "c" | "next"][] = [];
  for (const host of HOSTS) pairs.push([host, "a", "b"], [host, "b", "c"], [host, "a", "next"]);

  test.each(pairs)("%s: %s → %s", async (host, from, to) => {
    const before = built[from][host] as string;
    const after = built[to][host] as string;
    const json = await bothWays(before, after, "json");
    expect(JSON.parse(json)).toMatchObject({ kind: "closure-diff", before: { path: before } });
    await bothWays(before, after, "text");
  });

  test("plain packages and the same path twice", async () => {
    const json = JSON.parse(await bothWays(built.a["web"] as string, built.b["web"] as string, "json")) as {
      packages: { name: string; pathsBefore: string[]; pathsAfter: string[] }[];
    };
    const curl = json.packages.find((p) => p.name === "curl");
    const [oldCurl, newCurl] = [curl?.pathsBefore[0] ?? "", curl?.pathsAfter[0] ?? ""];
    expect(oldCurl).not.toBe(newCurl);
    await bothWays(oldCurl, newCurl, "json");
    await bothWays(newCurl, newCurl, "text");
  });
});
