/**
 * Interrupts, closed pipes and concurrent runs on the flake-side commands (issue 10, items 1, 3, 4,
 * 7, 9, 10): the built binary, real Nix and git on the fixture fleet. Each run is stopped at the
 * progress line that marks its phase, then the flake must be exactly as it was: flake.lock's bytes,
 * no temporary directory, no live GC root, no private ref.
 */
import { mkdir, readdir, readFile, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import {
  expectFlakeAsBefore,
  runCliUntil,
  snapshotFlake,
  type RunUntilResult,
} from "../helpers/interrupt.js";
import { advanceNixpkgs, buildHosts, createWorld, git, type HostSpec, type World } from "../helpers/world.js";

const worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
});
beforeAll(ensureBuiltCli);

/** A world whose nixpkgs moved on (an update changes the lock), with a private TMPDIR for the CLI. */
async function world(hosts: readonly HostSpec[]): Promise<{ w: World; tmp: string; env: NodeJS.ProcessEnv }> {
  const w = await createWorld({ hosts });
  worlds.push(w);
  await advanceNixpkgs(w, "24.11-b");
  const tmp = join(w.dir, "tmp");
  await mkdir(tmp);
  return { w, tmp, env: { ...w.env, TMPDIR: tmp, NO_COLOR: "1" } };
}

/**
 * A toplevel that takes a few seconds to build: long enough to be interrupted mid-build. A count of
 * its own per world, so no earlier test has built it already.
 */
const slowHost = (): HostSpec => ({
  name: "slow",
  packages: ["curl"],
  buildCost: 6_000_000 + Math.floor(Math.random() * 1_000_000),
});
const AFTER_BUILD = "[after] slow: building";

const lockOf = (w: World) => readFile(join(w.fleetDir, "flake.lock"), "utf8");

function expectNoStackTrace(r: RunUntilResult): void {
  expect(r.stderr).not.toMatch(/internal error|^\s+at .*\(.*:\d+:\d+\)$/m);
  expect(r.stderr).not.toContain("Unhandled");
}

describe("plan interrupted", () => {
  it("SIGINT during the after-side build: exit 130, no report claiming breakage, flake as it was", async () => {
    const { w, tmp, env } = await world([slowHost()]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const output = join(w.dir, "report.md");
    const r = await runCliUntil(["plan", "--output", output], {
      cwd: w.fleetDir,
      env,
      when: AFTER_BUILD,
      then: "SIGINT",
    });
    expect(r.triggered, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toContain("interrupted by SIGINT");
    expect(r.stderr).not.toMatch(/failed|BREAKS|broken/i);
    expect(r.stdout).toBe("");
    await expect(readdir(w.dir)).resolves.not.toContain("report.md");
    // Without --restore-lock too: an interrupted plan leaves the lock it found.
    await expectFlakeAsBefore(before);
  });
});

describe("closed pipes", () => {
  it("update with stdout and stderr closed (`2>&1 | true`) stops nix and keeps the old lock", async () => {
    const { w, tmp, env } = await world([{ name: "web" }]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const r = await runCliUntil(["update"], { cwd: w.fleetDir, env, when: "start", then: "close-both" });
    // Give an orphaned `nix flake update` (the bug) time to write the lock.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await expectFlakeAsBefore(before);
    expect(r.exitCode).toBe(141);
  });

  it("plan --restore-lock with stderr closed mid-build restores the lock and removes its roots", async () => {
    const { w, tmp, env } = await world([slowHost()]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const r = await runCliUntil(["plan", "--restore-lock"], {
      cwd: w.fleetDir,
      env,
      when: "with the updated lock",
      then: "close-stderr",
    });
    expect(r.triggered).toBe(true);
    expect(r.exitCode).toBe(141);
    expect(r.stdout).toBe("");
    await expectFlakeAsBefore(before);
  });

  it("diff --json into a closed pipe exits quietly, without a stack trace", async () => {
    const { w, env } = await world([{ name: "web" }]);
    const { web } = await buildHosts(w, ["web"]);
    const r = await runCliUntil(["diff", "--json", web as string, web as string], {
      cwd: w.fleetDir,
      env,
      when: "start",
      then: "close-stdout",
    });
    expect(r.exitCode, r.stderr).toBe(141);
    expect(r.stderr).toBe("");
    expectNoStackTrace(r);
  });
});

describe("pr interrupted", () => {
  it("SIGINT while pr plans deletes its private refs/ternix/tmp refs", async () => {
    const { w, tmp, env } = await world([slowHost()]);
    const remote = join(w.dir, "origin.git");
    await git(w, w.dir, ["clone", "--quiet", "--bare", w.fleetDir, remote]);
    await git(w, w.fleetDir, ["remote", "add", "origin", remote]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const r = await runCliUntil(["pr", "--dry-run", "--forge", "github", "--repository", "o/r"], {
      cwd: w.fleetDir,
      env: { ...env, CI: "", GITHUB_ACTIONS: "", TERNIX_FORGE_TOKEN: "" },
      when: AFTER_BUILD,
      then: "SIGINT",
    });
    expect(r.triggered, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(before.refs).toEqual([]);
    await expectFlakeAsBefore(before);
  });
});

describe("concurrent runs on one flake", () => {
  it("an update during plan --restore-lock waits for it, so the plan's restore cannot revert it", async () => {
    const { w, tmp, env } = await world([slowHost()]);
    const original = await lockOf(w);
    let update: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    let noWait: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    const planRun = await runCliUntil(["plan", "--restore-lock"], {
      cwd: w.fleetDir,
      env,
      when: AFTER_BUILD,
      onTrigger: () => {
        noWait = runCli(["update", "--no-wait"], { cwd: w.fleetDir, env });
        update = runCli(["update"], { cwd: w.fleetDir, env });
      },
    });
    expect(planRun.exitCode, planRun.stderr).toBe(0);
    const refused = await (noWait as NonNullable<typeof noWait>);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /error: another Ternix run is changing the flake in .*: pid \d+ \(`ternix plan`/,
    );
    expect(refused.stderr).toMatch(/hint: .*without --no-wait/);
    const waited = await (update as NonNullable<typeof update>);
    expect(waited.exitCode, waited.stderr).toBe(0);
    expect(waited.stderr).toMatch(/Waiting for pid \d+ \(`ternix plan`/);
    // The update ran after the plan put the old lock back, and stands.
    const updated = await lockOf(w);
    expect(updated).not.toBe(original);
    expect(JSON.parse(updated)).toMatchObject({ nodes: { nixpkgs: { locked: {} } } });
    expect(await readdir(tmp)).toEqual([]);
  });

  it("a second plan started mid-way waits and reports the same update (not exit 2)", async () => {
    const { w, env } = await world([slowHost()]);
    let second: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    const first = await runCliUntil(["plan", "--restore-lock", "--json"], {
      cwd: w.fleetDir,
      env,
      when: AFTER_BUILD,
      onTrigger: () => {
        second = runCli(["plan", "--restore-lock", "--json"], { cwd: w.fleetDir, env });
      },
    });
    expect(first.exitCode, first.stderr).toBe(0);
    const r = await (second as NonNullable<typeof second>);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("Waiting for");
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "changed" });
  });
});

describe("plan output paths", () => {
  it.each([
    ["a directory", (dir: string) => dir],
    ["a file in a missing directory", (dir: string) => join(dir, "missing", "report.md")],
  ])("--output to %s fails before any work, lock untouched", async (_name, target) => {
    const { w, tmp, env } = await world([{ name: "web" }]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const r = await runCli(["plan", "--output", target(w.dir)], { cwd: w.fleetDir, env });
    expect(r.exitCode, r.stderr).toBe(64);
    expect(r.stderr).toMatch(/^error: cannot write the report: .*\nhint: /m);
    expect(r.stderr).not.toContain("Updating");
    await expectFlakeAsBefore(before);
  });

  it("an --output that fails at the end prints the report to stdout and restores the lock", async () => {
    const { w, tmp, env } = await world([{ name: "web", packages: ["curl"] }]);
    const before = await snapshotFlake({ flakeDir: w.fleetDir, tmpDir: tmp });
    const outDir = join(w.dir, "out");
    await mkdir(outDir);
    const r = await runCliUntil(["plan", "--output", join(outDir, "report.md")], {
      cwd: w.fleetDir,
      env,
      when: "with the updated lock",
      // The directory disappears while the plan runs.
      onTrigger: () => void rm(outDir, { recursive: true, force: true }),
    });
    expect(r.triggered).toBe(true);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /error: writing the report to .* failed \(ENOENT\); it was printed to stdout instead/,
    );
    expect(r.stdout).toContain("web");
    await expectFlakeAsBefore(before);
  });
});

describe("plan --keep-results", () => {
  it("shortens a host name too long for a file name, with a hash", async () => {
    // 88 bytes, but 256 characters percent-encoded: too long for a file name with `.before`.
    const long = `web-${"é".repeat(42)}`;
    const { w, env } = await world([{ name: long }]);
    const keep = join(w.dir, "keep");
    const r = await runCli(["plan", "--keep-results", keep, "--json"], { cwd: w.fleetDir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const names = (await readdir(keep)).sort();
    expect(names).toHaveLength(2);
    for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(names[0]).toMatch(/^web-(%C3|%A9)+~[0-9a-f]{16}\.after$/);
    const plan = JSON.parse(r.stdout) as { hosts: { host: string; after: { toplevel: string } }[] };
    expect(await readlink(join(keep, names[0] as string))).toBe(plan.hosts[0]?.after.toplevel);
  });
});
