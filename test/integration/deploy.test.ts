/**
 * `ternix deploy` end to end: real sshds on loopback (one per host), real `nix copy` into each
 * host's own store, the real activation engine over SSH on fixture machines in temporary
 * directories, and a dead man's switch that really fires. The tests build on each other: each
 * bumps the fleet so every host has something new to deploy.
 */
import { randomInt } from "node:crypto";
import { readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { ExitCode } from "../../src/errors.js";
import { readProfile } from "../../src/app/machine/profile.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli } from "../helpers/cli.js";
import { runCliUntil } from "../helpers/interrupt.js";
import { NIX_FLAGS } from "../helpers/nix-env.js";
import { sshdAvailable } from "../helpers/sshd.js";
import { buildHosts } from "../helpers/world.js";
import { createDeployFleet, type DeployFleet } from "../helpers/deploy-fleet.js";

const available = await sshdAvailable();
if (!available)
  process.stderr.write(
    "deploy.test.ts: skipped, /usr/sbin/sshd is missing (apt-get install openssh-server)\n",
  );

const ODD = 'odd "host" name';
let f: DeployFleet;
/** What each host ran at the start, and each bump's builds. */
let v0: Record<string, string>;

beforeAll(async () => {
  if (!available) return;
  // delta is a machine with its own /nix (see deploy-fleet.ts): it builds its own system.
  f = await createDeployFleet(["alpha", "beta", "gamma", ODD, "delta"], { ownNix: ["delta"] });
  v0 = await f.seed();
  await f.writeConfig();
});
afterAll(async () => {
  await f?.cleanup();
});

/** Run the CLI in-process in the world's environment; stdout is captured. */
async function deploy(args: string[]): Promise<{ code: number; stdout: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, f.world.env);
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    const code = await main(["deploy", "--flake", f.world.fleetDir, "--yes", ...args]);
    return { code, stdout: chunks.join("") };
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
}

interface DeployJson {
  schemaVersion: number;
  hosts: {
    host: string;
    state: string;
    stage: string | null;
    reason: string | null;
    after: { storePath: string | null; generation: number | null };
    deadMansSwitch: { state: string } | null;
  }[];
}

const byHost = (json: DeployJson) => Object.fromEntries(json.hosts.map((h) => [h.host, h]));

async function inStore(store: string | undefined, path: string): Promise<boolean> {
  const r = await run(
    "nix",
    [...NIX_FLAGS, "path-info", ...(store === undefined ? [] : ["--store", `local?root=${store}`]), path],
    { env: f.world.env },
  );
  return r.exitCode === 0;
}

/** What the flake's toplevel for `host` is, by evaluation only (nothing is built). */
async function evaluatedToplevel(host: string): Promise<string> {
  const r = await run(
    "nix",
    [
      ...NIX_FLAGS,
      "eval",
      "--raw",
      `${f.world.fleetDir}#nixosConfigurations.${host}.config.system.build.toplevel.outPath`,
    ],
    { env: f.world.env, cwd: f.world.fleetDir },
  );
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe.skipIf(!available)("ternix deploy over real ssh", () => {
  it("deploys three hosts, the canary first and alone, each copied, activated, checked and confirmed", async () => {
    await f.bump(1);
    const v1 = await buildHosts(f.world, ["alpha", "beta", "gamma"]);
    const { code, stdout } = await deploy([
      "alpha",
      "beta",
      "gamma",
      "--canary",
      "alpha",
      "--parallel",
      "2",
      "--json",
    ]);
    const json = JSON.parse(stdout) as DeployJson;
    expect(code, stdout).toBe(ExitCode.ok);
    expect(json.schemaVersion).toBe(1);
    for (const host of ["alpha", "beta", "gamma"]) {
      const h = f.hosts[host]!;
      expect(byHost(json)[host]).toMatchObject({
        state: "deployed",
        after: { storePath: v1[host], generation: 2 },
        deadMansSwitch: { state: "disarmed" },
      });
      expect(await f.running(host)).toBe(v1[host]);
      expect(await readlink(h.profile)).toBe("system-2-link");
      // Two phases: active and checked, then the boot default.
      expect((await f.switchLog(host)).slice(-2)).toEqual([`test ${v1[host]}`, `boot ${v1[host]}`]);
      // The copy really went to the host's own store.
      expect(await inStore(h.store, v1[host]!)).toBe(true);
    }
    const events = await f.events();
    const at = (re: RegExp) => events.findIndex((e) => re.test(e));
    // The canary was armed, confirmed and disarmed before any other host started.
    expect(at(/ alpha disarmed /)).toBeGreaterThan(at(/ alpha armed /));
    expect(at(/ beta armed /)).toBeGreaterThan(at(/ alpha disarmed /));
    expect(at(/ gamma armed /)).toBeGreaterThan(at(/ alpha disarmed /));
    // The switch re-activates the system that ran before.
    expect(events.find((e) => / alpha armed /.test(e))).toContain(
      `${v0.alpha}/bin/switch-to-configuration test`,
    );
    expect(events.some((e) => / fired$/.test(e))).toBe(false);
  });

  it("a canary whose check fails is rolled back, and no other host is touched (exit 5)", async () => {
    const before = { beta: await f.switchLog("beta"), gamma: await f.switchLog("gamma") };
    const running = { alpha: await f.running("alpha"), beta: await f.running("beta") };
    await f.bump(2);
    await writeFile(f.hosts.alpha!.failFlag, "");
    try {
      const { code, stdout } = await deploy(["alpha", "beta", "gamma", "--canary", "alpha"]);
      expect(code, stdout).toBe(ExitCode.checkFailed);
      expect(stdout).toMatch(/alpha\s+rolled-back/);
      expect(stdout).toMatch(/beta\s+skipped/);
      expect(stdout).toMatch(/alpha: check failed: not told to fail: exit 1: told to fail/);
      expect(stdout).toMatch(/beta: a canary failed/);
    } finally {
      await rm(f.hosts.alpha!.failFlag);
    }
    expect(await f.running("alpha")).toBe(running.alpha);
    expect((await readProfile(f.hosts.alpha!.profile)).current).toBe(2);
    expect((await f.switchLog("alpha")).at(-1)).toBe(`test ${running.alpha}`);
    expect(await f.switchLog("beta")).toEqual(before.beta);
    expect(await f.switchLog("gamma")).toEqual(before.gamma);
    expect(await f.running("beta")).toBe(running.beta);
  });

  it("an unreachable host is reported as such; the others deploy (exit 1)", async () => {
    await f.hosts.gamma!.stopSshd();
    const { code, stdout } = await deploy(["beta", "gamma", "--max-failures", "1", "--json"]);
    const json = JSON.parse(stdout) as DeployJson;
    expect(code, stdout).toBe(ExitCode.error);
    expect(byHost(json).gamma).toMatchObject({ state: "unreachable" });
    expect(byHost(json).gamma?.reason).toMatch(/cannot reach gamma over ssh/);
    expect(byHost(json).beta).toMatchObject({ state: "deployed" });
  });

  it("a host name with spaces and quotes deploys (it reaches ssh only as its configured target)", async () => {
    const built = await buildHosts(f.world, [ODD]);
    const { code, stdout } = await deploy([ODD]);
    expect(code, stdout).toBe(ExitCode.ok);
    expect(stdout).toContain(`${ODD}  deployed`);
    expect(await f.running(ODD)).toBe(built[ODD]);
  });

  it("--dry-run builds and compares with what each host runs, and changes nothing", async () => {
    const logs = { alpha: await f.switchLog("alpha"), beta: await f.switchLog("beta") };
    const running = await f.running("alpha");
    const armed = (await f.events()).length;
    await f.bump(5, ["alpha"]);
    const { code, stdout } = await deploy(["alpha", "beta", "--dry-run"]);
    expect(code, stdout).toBe(ExitCode.ok);
    expect(stdout).toMatch(/^alpha \(root@127\.0\.0\.1\): nixos-system-alpha-.* → nixos-system-alpha-/m);
    expect(stdout).toMatch(/^beta \(root@127\.0\.0\.1\): unchanged/m);
    expect(await f.running("alpha")).toBe(running);
    expect(await f.switchLog("alpha")).toEqual(logs.alpha);
    expect(await f.switchLog("beta")).toEqual(logs.beta);
    expect((await f.events()).length).toBe(armed); // no switch armed
  });

  it("the dead man's switch re-activates the previous system when Ternix is killed after phase 1", async () => {
    await ensureBuiltCli();
    const previous = await f.running("beta");
    const generation = (await readProfile(f.hosts.beta!.profile)).current;
    await f.bump(3);
    const next = (await buildHosts(f.world, ["beta"])).beta as string;
    // A slow check keeps Ternix from confirming before it is killed.
    await f.writeConfig("", {
      beta: `[[deploy.hosts.beta.checks]]\ntype = "command"\nname = "slow"\ncommand = ["sleep", "20"]\nretries = 0\ntimeout = "40s"`,
    });
    try {
      const r = await runCliUntil(
        ["deploy", "beta", "--flake", f.world.fleetDir, "--yes", "--confirm-timeout", "10s"],
        {
          cwd: f.world.fleetDir,
          env: f.world.env,
          when: /beta: .*switch-to-configuration test: exit 0/,
          then: "SIGKILL",
        },
      );
      expect(r.triggered, r.stderr).toBe(true);
      expect(r.signal).toBe("SIGKILL");
      // Phase 1 happened: the new system is active, and nobody confirmed it.
      expect((await f.switchLog("beta")).at(-1)).toBe(`test ${next}`);
      let back = false;
      for (let i = 0; i < 100 && !back; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        back = (await f.running("beta")) === previous;
      }
      expect(back).toBe(true);
      expect((await f.switchLog("beta")).at(-1)).toBe(`test ${previous}`);
      expect((await f.events()).some((e) => / beta fired$/.test(e))).toBe(true);
      // The host's apply lock went with Ternix (its ssh session's stdin closed).
      await expect(readFile(join(f.hosts.beta!.dir, "state", "apply.lock"), "utf8")).rejects.toThrow(
        /ENOENT/,
      );
      // Phase 2 never ran: the profile still has the previous generation as current.
      expect((await readProfile(f.hosts.beta!.profile)).current).toBe(generation);
    } finally {
      await f.writeConfig();
    }
  });

  it("Ctrl-C: no new host starts, and the host mid-activation is left to its dead man's switch (exit 130)", async () => {
    await ensureBuiltCli();
    const previous = { alpha: await f.running("alpha"), beta: await f.running("beta") };
    const betaLog = await f.switchLog("beta");
    await f.bump(4, ["alpha", "beta"]);
    await f.writeConfig("", {
      alpha: `[[deploy.hosts.alpha.checks]]\ntype = "command"\nname = "slow"\ncommand = ["sleep", "20"]\nretries = 0\ntimeout = "40s"`,
    });
    try {
      const r = await runCliUntil(
        [
          "deploy",
          "alpha",
          "beta",
          "--flake",
          f.world.fleetDir,
          "--yes",
          "--parallel",
          "1",
          "--confirm-timeout",
          "10s",
        ],
        {
          cwd: f.world.fleetDir,
          env: f.world.env,
          when: /alpha: .*switch-to-configuration test: exit 0/,
          then: "SIGINT",
        },
      );
      expect(r.triggered, r.stderr).toBe(true);
      expect(r.exitCode, r.stderr).toBe(ExitCode.interrupted);
      expect(r.stderr).toMatch(/left to their dead man's switch .*: alpha/);
      expect(r.stdout).toMatch(/alpha\s+failed \(checks\)/);
      // --parallel 1: beta's turn came after the interrupt, so it never started.
      expect(r.stdout).toMatch(/beta\s+skipped/);
      expect(r.stdout).toContain("beta: interrupted before it started");
      let back = false;
      for (let i = 0; i < 100 && !back; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        back = (await f.running("alpha")) === previous.alpha;
      }
      expect(back).toBe(true);
      expect((await f.events()).some((e) => / alpha fired$/.test(e))).toBe(true);
      await expect(readFile(join(f.hosts.alpha!.dir, "state", "apply.lock"), "utf8")).rejects.toThrow(
        /ENOENT/,
      );
      expect(await f.switchLog("beta")).toEqual(betaLog);
      expect(await f.running("beta")).toBe(previous.beta);
    } finally {
      await f.writeConfig();
    }
  });

  it('build-on = "target": the host builds its own system (never built here), in one run with a host built here', async () => {
    await f.writeConfig("", {}, { delta: 'build-on = "target"' });
    // A bump no run has used: its toplevel cannot be in any store yet.
    const bump = 1_000_000 + randomInt(1_000_000_000);
    await f.bump(bump, ["beta", "delta"]);
    const expected = await evaluatedToplevel("delta");
    expect(await inStore(undefined, expected)).toBe(false);
    // --dry-run evaluates only: nothing built here or there.
    const dry = await deploy(["delta", "--dry-run"]);
    expect(dry.code, dry.stdout).toBe(ExitCode.ok);
    expect(dry.stdout).toContain('(no diff: build-on = "target": the new system is built on the host');
    expect(await inStore(f.hosts.delta!.store, expected)).toBe(false);
    const { code, stdout } = await deploy(["beta", "delta", "--json"]);
    expect(code, stdout).toBe(ExitCode.ok);
    const json = JSON.parse(stdout) as DeployJson;
    expect(byHost(json).delta).toMatchObject({
      state: "deployed",
      after: { storePath: expected, generation: 2 },
      deadMansSwitch: { state: "disarmed" },
    });
    expect(byHost(json).beta).toMatchObject({ state: "deployed" });
    const beta = byHost(json).beta?.after.storePath as string;
    // delta: built and activated on the host, never in this machine's store.
    expect(await f.running("delta")).toBe(expected);
    expect((await f.switchLog("delta")).slice(-2)).toEqual([`test ${expected}`, `boot ${expected}`]);
    expect(await inStore(f.hosts.delta!.store, expected)).toBe(true);
    expect(await inStore(undefined, expected)).toBe(false);
    // beta, in the same run: built here and copied.
    expect(await f.running("beta")).toBe(beta);
    expect(await inStore(undefined, beta)).toBe(true);
    expect(await inStore(f.hosts.beta!.store, beta)).toBe(true);
  });

  it('build-on = "target": a build that fails on the host is stage build; the host is untouched and the others deploy', async () => {
    await f.writeConfig("", {}, { delta: 'build-on = "target"' });
    const running = await f.running("delta");
    const log = await f.switchLog("delta");
    const bump = 1_000_000 + randomInt(1_000_000_000);
    await f.bump(bump, ["beta", "delta"], { delta: { failFrom: "24.11-a" } });
    const { code, stdout } = await deploy(["beta", "delta", "--max-failures", "1", "--json"]);
    expect(code, stdout).toBe(ExitCode.error);
    const json = JSON.parse(stdout) as DeployJson;
    expect(byHost(json).delta).toMatchObject({ state: "failed", stage: "build" });
    expect(byHost(json).delta?.reason).toMatch(
      /^the build on the host failed: nixos-system-delta-.*\.drv failed to build/,
    );
    expect(byHost(json).beta).toMatchObject({ state: "deployed" });
    expect(await f.running("delta")).toBe(running);
    expect(await f.switchLog("delta")).toEqual(log);
  });

  it("takes each host's apply lock while it changes it: a host whose lock a live run holds fails, the others deploy", async () => {
    const betaLock = join(f.hosts.beta!.dir, "state", "apply.lock");
    const deltaLock = join(f.hosts.delta!.dir, "state", "apply.lock");
    // beta's check passes only while the deploy holds beta's lock.
    await f.writeConfig(
      "",
      {
        beta: `[[deploy.hosts.beta.checks]]\ntype = "command"\nname = "deploy holds the lock"\ncommand = ["grep", "-q", ${JSON.stringify('"command":"deploy beta"')}, ${JSON.stringify(betaLock)}]\nretries = 0`,
      },
      { delta: 'build-on = "target"' },
    );
    // As `ternix switch` on delta leaves it while it runs (this test's process is alive).
    const held = `${JSON.stringify({ pid: process.pid, command: "switch delta", since: "2026-01-01T00:00:00.000Z" })}\n`;
    await writeFile(deltaLock, held);
    const running = await f.running("delta");
    const log = await f.switchLog("delta");
    try {
      const bump = 1_000_000 + randomInt(1_000_000_000);
      await f.bump(bump, ["beta", "delta"]);
      const { code, stdout } = await deploy(["beta", "delta", "--max-failures", "1", "--json"]);
      expect(code, stdout).toBe(ExitCode.error);
      const json = JSON.parse(stdout) as DeployJson;
      expect(byHost(json).beta).toMatchObject({ state: "deployed" });
      expect(byHost(json).delta).toMatchObject({ state: "failed", stage: "phase1" });
      expect(byHost(json).delta?.reason).toBe(
        `another Ternix run is changing the host (its apply lock ${deltaLock} is held by pid ${process.pid} (\`ternix switch delta\`, since 2026-01-01T00:00:00.000Z)); nothing was changed`,
      );
      expect(await f.running("delta")).toBe(running);
      expect(await f.switchLog("delta")).toEqual(log);
      expect(await readFile(deltaLock, "utf8")).toBe(held);
      // Released after the deploy.
      await expect(readFile(betaLock, "utf8")).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(deltaLock, { force: true });
      await f.writeConfig();
    }
  });
});
