/**
 * The remote lock script against a real /bin/sh (the same program sshd hands it to), and against
 * the local apply lock of apply-lock.ts on the same file: the protocol must be one.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../proc/run.js";
import { acquireApplyLock, ApplyLockedError } from "./apply-lock.js";
import { acquireRemoteApplyLock } from "./remote-apply-lock.js";
import { fakeEffects } from "./system-effects.test-support.js";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-remote-lock-"));
  path = join(dir, "state", "apply.lock");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** A pid that is surely gone: a process that ran and was reaped. */
function deadPid(): number {
  return spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim() as unknown as number;
}

const options = { path: "", command: "deploy web", host: "web" };

describe("acquireRemoteApplyLock", () => {
  it("holds the lock with a live pid while held; a local run is refused; release removes it", async () => {
    const fx = fakeEffects();
    const r = await acquireRemoteApplyLock(run, { ...options, path }, fx.effects);
    if (!r.ok) throw new Error(r.reason);
    const owner = JSON.parse(await readFile(path, "utf8")) as { pid: number; command: string; token: string };
    expect(owner).toMatchObject({ command: "deploy web" });
    expect(owner.token).toMatch(/^[0-9a-f]{12}$/);
    expect(alive(owner.pid)).toBe(true);
    const local = fakeEffects({ alive });
    const error = await acquireApplyLock({ path, command: "switch web", wait: false }, local).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplyLockedError);
    expect((error as Error).message).toContain("`ternix deploy web`");
    expect(fx.effects.cleanup.size).toBe(1);
    await r.lock.release();
    expect(fx.effects.cleanup.size).toBe(0);
    await expect(readFile(path, "utf8")).rejects.toThrow(/ENOENT/);
    // The holder is gone with it.
    expect(alive(owner.pid)).toBe(false);
  });

  it("is refused while a local run holds the lock, and leaves that lock alone", async () => {
    const local = await acquireApplyLock(
      { path, command: "switch web", wait: false },
      fakeEffects({ alive, pid: process.pid }),
    );
    const before = await readFile(path, "utf8");
    const r = await acquireRemoteApplyLock(run, { ...options, path }, fakeEffects().effects);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.reason).toMatch(
        new RegExp(
          `^another Ternix run is changing the host \\(its apply lock .* is held by pid ${process.pid} \\(\`ternix switch web\`, since `,
        ),
      );
    expect(await readFile(path, "utf8")).toBe(before);
    await local.release();
  });

  it.each([
    ["a dead pid", () => JSON.stringify({ pid: Number(deadPid()), command: "switch", since: "x" })],
    ["garbage", () => "not json"],
  ])("takes over a stale lock (%s) and says so", async (_name, content) => {
    await mkdir(join(dir, "state"));
    await writeFile(path, `${content()}\n`);
    const fx = fakeEffects();
    const r = await acquireRemoteApplyLock(run, { ...options, path }, fx.effects);
    if (!r.ok) throw new Error(r.reason);
    expect(await readFile(path, "utf8")).toContain('"command":"deploy web"');
    expect(fx.events).toContainEqual(
      expect.objectContaining({
        type: "log",
        level: "warn",
        message: expect.stringMatching(/^web: took over a stale apply lock/) as unknown,
      }),
    );
    await r.lock.release();
  });

  it("does not remove a lock that is no longer its own", async () => {
    const r = await acquireRemoteApplyLock(run, { ...options, path }, fakeEffects().effects);
    if (!r.ok) throw new Error(r.reason);
    await writeFile(path, '{"pid":1,"command":"switch","since":"x"}\n');
    await r.lock.release();
    expect(await readFile(path, "utf8")).toContain('"command":"switch"');
  });

  it("reports a lock path that is not a regular file", async () => {
    await mkdir(path, { recursive: true });
    const r = await acquireRemoteApplyLock(run, { ...options, path }, fakeEffects().effects);
    expect(r).toEqual({
      ok: false,
      reason: `cannot use the apply lock ${path} on the host: it is not a regular file`,
    });
  });
});
