/**
 * End-to-end: `ternix pin` / `ternix unpin` on the fixture fleet with real Nix and git. The fleet's
 * nixpkgs is advanced, then an older nixpkgs revision is pinned as a second input; the test reads
 * flake.nix and flake.lock itself to check the edit is minimal, only the pin was locked, the flake
 * still evaluates, and that refusals and failures leave both files as they were.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../../src/proc/run.js";
import { CLI_BIN, ensureBuiltCli, runCli, snapshotDir, type CliResult } from "../helpers/cli.js";
import {
  advanceNixpkgs,
  createWorld,
  git,
  nixOrThrow,
  updateFleetLock,
  type World,
} from "../helpers/world.js";

interface LockJson {
  nodes: Record<string, { inputs?: Record<string, unknown>; locked?: { rev?: string } }>;
}

let world: World;
let oldRev: string;

beforeAll(async () => {
  await ensureBuiltCli();
  world = await createWorld({ hosts: [{ name: "web" }] });
  oldRev = (await git(world, world.nixpkgsRepo, ["rev-parse", "HEAD"])).trim();
  await advanceNixpkgs(world, "24.11-b");
  await updateFleetLock(world, { inputs: ["nixpkgs"], commit: true });
});

afterAll(async () => {
  await world?.cleanup();
});

const cli = (...args: string[]): Promise<CliResult> => runCli(args, { cwd: world.fleetDir, env: world.env });
const readFleet = async (file: string) => readFile(join(world.fleetDir, file), "utf8");
const readLock = async () => JSON.parse(await readFleet("flake.lock")) as LockJson;
const lockedRev = (lock: LockJson, input: string) => {
  const node = lock.nodes.root?.inputs?.[input];
  return typeof node === "string" ? lock.nodes[node]?.locked?.rev : undefined;
};

describe("ternix pin / unpin", () => {
  let nixBefore: string;
  let lockBefore: string;

  test("pin adds one input line and one argument, locks only it at --rev, prints the snippet", async () => {
    nixBefore = await readFleet("flake.nix");
    lockBefore = await readFleet("flake.lock");
    const before = await readLock();
    const url = `git+file://${world.nixpkgsRepo}?ref=nixos-24.11`;
    const result = await cli("pin", "nixpkgs-old", "--url", url, "--rev", oldRev);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("nixpkgs-old");
    expect(result.stdout).toContain("import inputs.nixpkgs-old { inherit (pkgs) system;");

    const nixAfter = await readFleet("flake.nix");
    const added = nixAfter.split("\n").filter((l) => !nixBefore.split("\n").includes(l));
    expect(added).toEqual([
      `    nixpkgs-old.url = "${url}&rev=${oldRev}"; # ternix:pin`,
      "      nixpkgs-old,",
    ]);
    expect(nixAfter.split("\n")).toHaveLength(nixBefore.split("\n").length + 2);

    const after = await readLock();
    expect(lockedRev(after, "nixpkgs-old")).toBe(oldRev);
    for (const input of ["nixpkgs", "home", "hardware"])
      expect(lockedRev(after, input)).toBe(lockedRev(before, input));
    expect(lockedRev(after, "nixpkgs")).not.toBe(oldRev);
    // The edited flake still evaluates (outputs accepts the new argument).
    const hosts = await nixOrThrow(world, [
      "eval",
      "--json",
      `${world.fleetDir}#nixosConfigurations`,
      "--apply",
      "builtins.attrNames",
    ]);
    expect(JSON.parse(hosts.stdout)).toEqual(["web"]);
  });

  test("inputs marks the pin and exempts it from the age check", async () => {
    const result = await cli("inputs", "--json", "--max-age", "1");
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout) as {
      inputs: { id: string; pinned: boolean; issues: { kind: string }[] }[];
    };
    const pin = json.inputs.find((i) => i.id === "nixpkgs-old");
    expect(pin).toMatchObject({ pinned: true });
    expect(pin?.issues.map((i) => i.kind)).not.toContain("stale");
    expect(json.inputs.find((i) => i.id === "nixpkgs")).toMatchObject({ pinned: false });
    const text = await cli("inputs", "--no-color");
    expect(text.stdout).toMatch(/nixpkgs-old .*pinned/);
  });

  test("a second pin of the same name, and unpinning an input that is not a pin, are refused", async () => {
    const snapshot = await snapshotDir(world.fleetDir);
    const again = await cli("pin", "nixpkgs-old", "--url", "github:NixOS/nixpkgs");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("already has an input named nixpkgs-old");
    const notPin = await cli("unpin", "home");
    expect(notPin.exitCode).toBe(1);
    expect(notPin.stderr).toContain("not a pin made by `ternix pin`");
    expect(notPin.stderr).toContain("hint:");
    expect(await snapshotDir(world.fleetDir)).toEqual(snapshot);
  });

  test("unpin restores flake.nix and flake.lock byte for byte", async () => {
    const result = await cli("unpin", "nixpkgs-old");
    expect(result.exitCode).toBe(0);
    expect(await readFleet("flake.nix")).toBe(nixBefore);
    expect(await readFleet("flake.lock")).toBe(lockBefore);
  });

  test("an input that cannot be locked leaves both files as they were", async () => {
    const snapshot = await snapshotDir(world.fleetDir);
    const result = await cli("pin", "gone", "--url", `git+file://${world.dir}/no-such-repo`);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: locking the flake failed/m);
    expect(result.stderr).toContain("hint:");
    expect(await snapshotDir(world.fleetDir)).toEqual(snapshot);
  });

  test("Ctrl-C while locking restores flake.nix and flake.lock (exit 130)", async () => {
    // A FIFO nobody writes to: Nix blocks reading the "tarball" until it is interrupted.
    const fifo = join(world.dir, "hang.tar.gz");
    expect((await run("mkfifo", [fifo])).exitCode).toBe(0);
    const snapshot = await snapshotDir(world.fleetDir);
    const nixBefore = await readFleet("flake.nix");
    const child = spawn(process.execPath, [CLI_BIN, "pin", "hang", "--url", `file://${fifo}`], {
      cwd: world.fleetDir,
      env: world.env,
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let i = 0; i < 400 && (await readFleet("flake.nix")) === nixBefore; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await readFleet("flake.nix")).toContain("hang.url");
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain("interrupted by SIGINT");
    expect(await snapshotDir(world.fleetDir)).toEqual(snapshot);
  });

  test("bad names and revisions are usage errors; nothing is written", async () => {
    const snapshot = await snapshotDir(world.fleetDir);
    const rev = await cli("pin", "p", "--url", "github:NixOS/nixpkgs", "--rev", "main");
    expect(rev.exitCode).toBe(64);
    expect(rev.stderr).toContain("not a full commit hash");
    const name = await cli("pin", "a b", "--url", "github:NixOS/nixpkgs");
    expect(name.exitCode).toBe(64);
    expect(await snapshotDir(world.fleetDir)).toEqual(snapshot);
  });

  test("a flake.nix whose inputs are computed is refused with the reason", async () => {
    const original = await readFleet("flake.nix");
    const computed = original.replace(/inputs = \{[\s\S]*?\n {2}\};/, "inputs = import ./inputs.nix;");
    expect(computed).not.toBe(original);
    await writeFile(join(world.fleetDir, "flake.nix"), computed);
    const snapshot = await snapshotDir(world.fleetDir);
    const result = await cli("pin", "p", "--url", "github:NixOS/nixpkgs");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("`inputs` is computed, not an attribute set literal");
    expect(result.stderr).toContain("# ternix:pin");
    expect(await snapshotDir(world.fleetDir)).toEqual(snapshot);
    await writeFile(join(world.fleetDir, "flake.nix"), original);
  });
});
