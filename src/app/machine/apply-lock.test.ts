import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TernixError } from "../../errors.js";
import { run } from "../../proc/run.js";
import { acquireApplyLock, ApplyLockedError } from "./apply-lock.js";
import { fakeEffects } from "./system-effects.test-support.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("acquireApplyLock", () => {
  it("creates the lock with our pid, creating the state dir, and removes it on release", async () => {
    const path = join(dir, "state", "apply.lock");
    const fx = fakeEffects({ pid: 111 });
    const lock = await acquireApplyLock({ path, command: "switch web", wait: false }, fx);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: 111, command: "switch web" });
    expect(fx.effects.cleanup.size).toBe(1);
    await lock.release();
    expect(await readdir(join(dir, "state"))).toEqual([]);
    expect(fx.effects.cleanup.size).toBe(0);
  });

  it("fails clearly while a live process holds it", async () => {
    const path = join(dir, "apply.lock");
    await writeFile(path, JSON.stringify({ pid: 222, command: "switch db", since: "2025-01-01T00:00:00Z" }));
    const fx = fakeEffects({ alive: (pid) => pid === 222 });
    const error = await acquireApplyLock({ path, command: "switch web", wait: false }, fx).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplyLockedError);
    expect((error as Error).message).toContain("pid 222");
    expect((error as ApplyLockedError).hint).toContain("--wait");
  });

  it("waits for a live holder with wait", async () => {
    const path = join(dir, "apply.lock");
    await writeFile(path, JSON.stringify({ pid: 222, command: "gc", since: "x" }));
    let polls = 0;
    const fx = fakeEffects({ alive: () => true });
    fx.system.sleep = async () => {
      if (++polls === 3) await rm(path);
    };
    const lock = await acquireApplyLock({ path, command: "switch", wait: true }, fx);
    expect(polls).toBe(3);
    expect(fx.events.filter((e) => e.type === "log" && e.message.startsWith("Waiting"))).toHaveLength(1);
    await lock.release();
  });

  it.each([
    ["a dead pid", JSON.stringify({ pid: 333, command: "switch", since: "x" })],
    ["garbage", "not json"],
  ])("takes over a stale lock (%s)", async (_name, content) => {
    const path = join(dir, "apply.lock");
    await writeFile(path, content);
    const fx = fakeEffects({ pid: 444, alive: () => false });
    const lock = await acquireApplyLock({ path, command: "switch", wait: false }, fx);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: 444 });
    expect(fx.events.some((e) => e.type === "log" && e.level === "warn" && e.message.includes("stale"))).toBe(
      true,
    );
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("a release never removes someone else's lock", async () => {
    const path = join(dir, "apply.lock");
    const fx = fakeEffects({ pid: 555 });
    const lock = await acquireApplyLock({ path, command: "switch", wait: false }, fx);
    await writeFile(path, JSON.stringify({ pid: 666, command: "other", since: "x" }));
    await lock.release();
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: 666 });
  });

  it("two acquisitions in one process exclude each other", async () => {
    const path = join(dir, "apply.lock");
    const fx = fakeEffects({ pid: 777, alive: (pid) => pid === 777 });
    const first = await acquireApplyLock({ path, command: "switch", wait: false }, fx);
    await expect(acquireApplyLock({ path, command: "switch", wait: false }, fx)).rejects.toBeInstanceOf(
      ApplyLockedError,
    );
    await first.release();
  });
});

describe("acquireApplyLock on an unusable path", () => {
  it.each([
    ["a directory", async (path: string) => mkdir(path)],
    ["a FIFO", async (path: string) => void (await run("mkfifo", [path]))],
  ])("fails clearly, without spinning, when the lock path is %s", async (_name, make) => {
    const path = join(dir, "apply.lock");
    await make(path);
    const fx = fakeEffects({ alive: () => true });
    const error = await acquireApplyLock({ path, command: "switch", wait: true }, fx).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TernixError);
    expect((error as TernixError).message).toBe(
      `cannot use the apply lock ${path}: it is not a regular file.`,
    );
    expect((error as TernixError).hint).toContain("Remove or move aside");
    expect(fx.sleeps).toEqual([]);
  });

  it("fails clearly when the state directory cannot be created", async () => {
    await writeFile(join(dir, "state"), "a file where the directory should be");
    const path = join(dir, "state", "apply.lock");
    const error = await acquireApplyLock({ path, command: "gc", wait: false }, fakeEffects()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TernixError);
    expect((error as TernixError).message).toMatch(
      /cannot use the apply lock .*: cannot create its directory/,
    );
  });
});
