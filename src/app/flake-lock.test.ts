import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGit } from "../git/git.js";
import { run } from "../proc/run.js";
import { acquireFlakeLock, flakeLockPath } from "./flake-lock.js";
import { ApplyLockedError } from "./machine/apply-lock.js";
import { fakeEffects } from "./machine/system-effects.test-support.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-flake-lock-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const git = createGit(run, process.env);
const flakeAt = (flakeDir: string, gitRoot?: string) => ({
  dir: flakeDir,
  lockPath: join(flakeDir, "flake.lock"),
  gitRoot,
  lockPathInRepo: undefined,
});

describe("the flake lock", () => {
  it("lives in the git directory of a flake in a work tree", async () => {
    await git.check("init", ["-C", dir, "init", "--quiet"]);
    const fx = fakeEffects();
    expect(await flakeLockPath(flakeAt(join(dir, "sub"), dir), { git, effects: fx.effects })).toBe(
      join(dir, ".git", "ternix-flake.lock"),
    );
  });

  it("lives in the user's cache, one per directory, for a flake outside git", async () => {
    const fx = fakeEffects();
    fx.effects.env = { XDG_CACHE_HOME: join(dir, "cache") };
    const a = await flakeLockPath(flakeAt("/srv/a"), { git, effects: fx.effects });
    const b = await flakeLockPath(flakeAt("/srv/b"), { git, effects: fx.effects });
    expect(a.startsWith(join(dir, "cache", "ternix", "flake-locks") + "/")).toBe(true);
    expect(a).not.toBe(b);
  });

  it("with --no-wait, fails naming the holder and the flag; released, it can be taken again", async () => {
    const fx = fakeEffects({ pid: 4242, alive: (pid) => pid === 4242 });
    fx.effects.env = { XDG_CACHE_HOME: join(dir, "cache") };
    const flake = flakeAt("/srv/fleet");
    const deps = { git, effects: fx.effects, system: fx.system };
    const held = await acquireFlakeLock(flake, { command: "plan", wait: false }, deps);
    expect(JSON.parse(await readFile(held.path, "utf8"))).toMatchObject({ pid: 4242, command: "plan" });
    const error = (await acquireFlakeLock(flake, { command: "update", wait: false }, deps).catch(
      (e: unknown) => e,
    )) as ApplyLockedError;
    expect(error).toBeInstanceOf(ApplyLockedError);
    expect(error.message).toBe(
      `another Ternix run is changing the flake in /srv/fleet: pid 4242 (\`ternix plan\`, since ${new Date(Date.UTC(2025, 0, 1)).toISOString()}).`,
    );
    expect(error.hint).toContain("without --no-wait");
    await held.release();
    await (await acquireFlakeLock(flake, { command: "update", wait: false }, deps)).release();
  });
});
