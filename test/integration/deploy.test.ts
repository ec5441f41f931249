/**
 * `ternix deploy` end to end: real sshds on loopback (one per host), real `nix copy` into each
 * host's own store, the real activation engine over SSH on fixture machines in temporary
 * directories, and a dead man's switch that really fires. The tests build on each other: each
 * bumps the fleet so every host has something new to deploy.
 */
import { readlink, rm, writeFile } from "node:fs/promises";
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
  f = await createDeployFleet(["alpha", "beta", "gamma", ODD]);
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

async function inStore(store: string, path: string): Promise<boolean> {
  const r = await run("nix", [...NIX_FLAGS, "path-info", "--store", `local?root=${store}`, path], {
    env: f.world.env,
  });
  return r.exitCode === 0;
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
      // Phase 2 never ran: the profile still has the previous generation as current.
      expect((await readProfile(f.hosts.beta!.profile)).current).toBe(generation);
    } finally {
      await f.writeConfig();
    }
  });
});
