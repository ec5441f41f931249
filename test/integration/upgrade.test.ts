/**
 * `ternix upgrade` through the built CLI on a "machine" in a temporary directory (real Nix profile,
 * fixture systems) following a bare repository: the fleet pushes to it as a merged pull request
 * would. The tests run in order and build on each other. Every run reports its verdict to a fake
 * Forgejo as the commit status ternix/host/alpha (--report-to-forge, docs/rollout.md).
 */
import { chmod, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProfile } from "../../src/app/machine/profile.js";
import { OWNER, REPO, startFakeForgejo, type FakeForge } from "../../src/app/fleet/pr.test-support.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { runCliUntil } from "../helpers/interrupt.js";
import { advanceNixpkgs, git, setFleetHosts, updateFleetLock } from "../helpers/world.js";
import { createMachine, type Machine } from "./system-support.js";

let m: Machine;
let remote: string;
let configFile: string;
let metricsFile: string;
let rebootLog: string;
let forge: FakeForge;
let tokenFile: string;
const TOKEN = "forgejo_agentTOKEN_0123456789abcdef";
const CONTEXT = "ternix/host/alpha";
const env = () => ({ ...m.env, TZ: "UTC", NO_COLOR: "1" });
/** The statuses posted on a commit, oldest first, as `state: description`. */
const reported = (sha: string) =>
  forge.statuses
    .of(sha)
    .filter((s) => s.context === CONTEXT)
    .map((s) => `${s.state}: ${s.description}`);

beforeAll(async () => {
  await ensureBuiltCli();
  m = await createMachine([{ name: "alpha" }, { name: "beta" }]);
  remote = join(m.world.dir, "remote.git");
  await git(m.world, m.world.dir, ["clone", "--quiet", "--bare", m.world.fleetDir, remote]);
  metricsFile = join(m.world.dir, "metrics", "ternix.prom");
  rebootLog = join(m.world.dir, "reboot.log");
  const reboot = join(m.world.dir, "fake-reboot");
  await writeFile(reboot, `#!/bin/sh\necho "reboot $*" >> '${rebootLog}'\n`);
  await chmod(reboot, 0o755);
  forge = await startFakeForgejo();
  tokenFile = join(m.world.dir, "forge-token");
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  configFile = join(m.world.dir, "host-ternix.toml");
  const p = m.paths;
  await writeFile(
    configFile,
    [
      "[upgrade]",
      `repo = ${JSON.stringify(remote)}`,
      'branch = "main"',
      'host = "alpha"',
      `metrics-file = ${JSON.stringify(metricsFile)}`,
      "report-to-forge = true",
      `forge-token-file = ${JSON.stringify(tokenFile)}`,
      "",
      "[forge]",
      'kind = "forgejo"',
      `url = ${JSON.stringify(forge.apiUrl)}`,
      `repository = "${OWNER}/${REPO}"`,
      "",
      "[system]",
      `profile = ${JSON.stringify(p.profile)}`,
      `current-system = ${JSON.stringify(p.currentSystem)}`,
      `booted-system = ${JSON.stringify(p.bootedSystem)}`,
      `state-dir = ${JSON.stringify(p.stateDir)}`,
      `systemctl = ${JSON.stringify(p.systemctl)}`,
      'systemd-run = ""',
      `reboot = [${JSON.stringify(reboot)}, "now"]`,
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await forge?.close();
  await m?.world.cleanup();
});

const upgrade = (args: string[] = []): Promise<CliResult> =>
  runCli(["upgrade", "--config", configFile, ...args], { cwd: m.world.dir, env: env() });

/** Commit what the fleet's work tree holds and push it to the remote, as a merge would. */
async function push(message?: string, options: { force?: boolean } = {}): Promise<string> {
  if (message !== undefined) {
    await git(m.world, m.world.fleetDir, ["add", "-A"]);
    await git(m.world, m.world.fleetDir, ["commit", "--quiet", "--allow-empty", "-m", message]);
  }
  await git(m.world, m.world.fleetDir, [
    "push",
    "--quiet",
    ...(options.force ? ["--force"] : []),
    remote,
    "HEAD:refs/heads/main",
  ]);
  return (await git(m.world, m.world.fleetDir, ["rev-parse", "HEAD"])).trim();
}

interface Upgrade {
  lastRun: { result: string; commit: string | null; message: string } | null;
  deployed: { commit: string; generation: number | null; storePath: string; checked: boolean } | null;
  quarantined: { commit: string; reason: string }[];
  rebootPending: { reason: string } | null;
}
const state = async () =>
  (JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as { upgrade: Upgrade }).upgrade;
const switchLog = () => m.switchLog();

describe("ternix upgrade", () => {
  it("first run: accepts and records the commit, activates it in two phases", async () => {
    const head = (await git(m.world, m.world.fleetDir, ["rev-parse", "HEAD"])).trim();
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`upgrade: fetched main from ${remote}: ${head}`);
    expect(r.stderr).toContain("(first run: recorded");
    const alpha = await readlink(m.paths.currentSystem);
    expect(alpha).toMatch(/-nixos-system-alpha-/);
    expect(await switchLog()).toEqual([`test ${alpha}`, `boot ${alpha}`]);
    expect((await readProfile(m.paths.profile)).current).toBe(1);
    expect(await state()).toMatchObject({
      lastRun: { result: "upgraded", commit: head },
      deployed: { commit: head, generation: 1, storePath: alpha, checked: true },
    });
    expect(reported(head)).toEqual([
      expect.stringMatching(/^success: upgraded to .*generation 1, checks passed/),
    ]);
    expect(forge.statuses.statuses.every((s) => s.sha === head)).toBe(true);
    expect(r.stderr).toContain(
      `upgrade: reported success for ${head.slice(0, 12)} to the forge as ${CONTEXT}`,
    );
    for (const req of forge.requests) expect(req.headers.authorization).toBe(`token ${TOKEN}`);
    // The machine booted this system: later kernel changes are measured against it.
    await symlink(alpha, m.paths.bootedSystem);
  });

  it("up to date: exit 0, nothing activated", async () => {
    const before = await m.snapshot();
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("already runs");
    expect((await state()).lastRun?.result).toBe("up_to_date");
    const head = (await state()).lastRun?.commit ?? "?";
    expect(reported(head)).toEqual([
      expect.stringMatching(/^success: upgraded/),
      expect.stringMatching(/^success: alpha already runs/),
    ]);
    expect((await switchLog()).length).toBe(2);
    expect((await readProfile(m.paths.profile)).generations).toHaveLength(1);
    expect(before).toContain("current-system");
  });

  it("a merged update: test then boot, a new generation, known good, diff in the log", async () => {
    await setFleetHosts(m.world, [{ name: "alpha", packages: ["curl"] }, { name: "beta" }], {
      commit: false,
    });
    const sha = await push("alpha: add curl");
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/upgrade: diff: .*added.*; risks: /);
    const next = await readlink(m.paths.currentSystem);
    expect((await switchLog()).slice(-2)).toEqual([`test ${next}`, `boot ${next}`]);
    const profile = await readProfile(m.paths.profile);
    expect(profile.current).toBe(2);
    const st = JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as {
      generations: { generation: number; status: string }[];
    };
    expect(st.generations.at(-1)).toMatchObject({ generation: 2, status: "known-good" });
    expect((await state()).deployed).toMatchObject({ commit: sha, generation: 2 });
  });

  it("a force-pushed branch is refused (exit 6), nothing built or activated", async () => {
    const good = (await git(m.world, m.world.fleetDir, ["rev-parse", "HEAD"])).trim();
    await git(m.world, m.world.fleetDir, ["reset", "--quiet", "--hard", "HEAD~1"]);
    await setFleetHosts(m.world, [{ name: "alpha", packages: ["curl", "git"] }, { name: "beta" }], {
      commit: false,
    });
    const rewritten = await push("rewritten history", { force: true });
    const before = await m.snapshot();
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(6);
    expect(r.stderr).toContain(
      `refused ${rewritten.slice(0, 12)}: it does not descend from the deployed commit`,
    );
    expect(r.stderr).not.toContain("Building");
    expect((await state()).lastRun).toMatchObject({ result: "refused", commit: rewritten });
    expect(reported(rewritten)).toEqual([
      expect.stringMatching(/^error: refused .*does not descend from the deployed commit/),
    ]);
    const after = await m.snapshot();
    // Only the state file's last run changed.
    expect(after.split("\n").filter((l) => !l.includes('"'))).toEqual(
      before.split("\n").filter((l) => !l.includes('"')),
    );
    await git(m.world, m.world.fleetDir, ["reset", "--quiet", "--hard", good]);
    await push(undefined, { force: true });
  });

  it("--require-signed: an SSH-signed commit is accepted, an unsigned one refused (exit 6)", async () => {
    const key = join(m.world.dir, "signing-key");
    const keygen = await run("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "ci@example.org",
      "-f",
      key,
    ]);
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    const signers = join(m.world.dir, "allowed_signers");
    await writeFile(
      signers,
      `ci@example.org namespaces="git" ${(await readFile(`${key}.pub`, "utf8")).trim()}\n`,
    );
    await writeFile(join(m.world.fleetDir, "NOTES.md"), "signed\n");
    await git(m.world, m.world.fleetDir, ["add", "-A"]);
    await git(m.world, m.world.fleetDir, [
      "-c",
      "gpg.format=ssh",
      "-c",
      `user.signingkey=${key}`,
      "commit",
      "--quiet",
      "-S",
      "-m",
      "signed by CI",
    ]);
    const signed = await push();
    const ok = await upgrade(["--require-signed", signers]);
    expect(ok.exitCode, ok.stderr).toBe(0); // the toplevel did not change: up to date
    expect((await state()).lastRun).toMatchObject({ result: "up_to_date", commit: signed });

    const unsigned = await push("unsigned");
    const refused = await upgrade(["--require-signed", signers]);
    expect(refused.exitCode, refused.stderr).toBe(6);
    expect(refused.stderr).toContain(`refused ${unsigned.slice(0, 12)}: it has no valid signature`);
    expect((await state()).deployed?.commit).toBe(signed);
  });

  it("failing checks: exit 5, previous system active, profile unchanged, quarantined; then exit 7; a newer commit is tried", async () => {
    const running = await readlink(m.paths.currentSystem);
    const profileBefore = await readProfile(m.paths.profile);
    await writeFile(
      join(m.world.fleetDir, "ternix.toml"),
      '[[checks]]\ntype = "command"\nname = "service answers"\ncommand = ["sh", "-c", "echo down >&2; exit 1"]\nretries = 0\n',
    );
    await setFleetHosts(m.world, [{ name: "alpha", packages: ["curl", "git"] }, { name: "beta" }], {
      commit: false,
    });
    const bad = await push("alpha: add git (with a failing check)");
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.stdout).toContain("FAIL service answers: exit 1: down");
    expect(await readlink(m.paths.currentSystem)).toBe(running);
    expect(await readProfile(m.paths.profile)).toEqual(profileBefore);
    const tested = (await switchLog()).slice(-2);
    expect(tested[0]).toMatch(/^test .*-nixos-system-alpha-/);
    expect(tested[1]).toBe(`test ${running}`);
    expect((await state()).quarantined).toEqual([expect.objectContaining({ commit: bad })]);
    expect(reported(bad)).toEqual([expect.stringMatching(/^failure: checks failed for .*service answers/)]);

    const logBefore = (await switchLog()).length;
    const again = await upgrade();
    expect(again.exitCode, again.stderr).toBe(7);
    expect(again.stderr).not.toContain("Building");
    expect(again.stderr.match(/is quarantined/g)).toHaveLength(1);
    expect((await switchLog()).length).toBe(logBefore);
    expect(reported(bad)).toEqual([
      expect.stringMatching(/^failure: checks failed/),
      expect.stringMatching(/^failure: .* is quarantined since/),
    ]);

    await writeFile(join(m.world.fleetDir, "ternix.toml"), "");
    const fixed = await push("drop the failing check");
    const newer = await upgrade();
    expect(newer.exitCode, newer.stderr).toBe(0);
    expect((await state()).deployed?.commit).toBe(fixed);
    expect((await readProfile(m.paths.profile)).current).toBe(3);
    expect(reported(fixed)).toEqual([expect.stringMatching(/^success: upgraded to .*generation 3/)]);
  });

  it("a kernel change: reboot pending without --allow-reboot or outside the window; rebooted inside it", async () => {
    await advanceNixpkgs(m.world, "24.11-b");
    await updateFleetLock(m.world, { inputs: ["nixpkgs"] });
    await push("flake.lock: update nixpkgs (linux 6.6.64)");
    const r = await upgrade();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /reboot needed \(the booted system's kernel, initrd, kernel-modules differ.*pending: --allow-reboot not given/,
    );
    expect(reported((await state()).lastRun?.commit ?? "?")).toEqual([
      expect.stringMatching(/^success: upgraded to .*; reboot pending$/),
    ]);
    expect((await state()).rebootPending).toMatchObject({
      reason: expect.stringContaining("kernel") as unknown,
    });
    await expect(readFile(rebootLog)).rejects.toThrow();

    const h = new Date().getUTCHours();
    const hh = (n: number) => String((n + 24) % 24).padStart(2, "0");
    const outside = await upgrade(["--allow-reboot", "--reboot-window", `${hh(h + 2)}:00-${hh(h + 3)}:00`]);
    expect(outside.exitCode, outside.stderr).toBe(0);
    expect(outside.stderr).toContain("pending: outside the reboot window");
    await expect(readFile(rebootLog)).rejects.toThrow();
    expect((await state()).rebootPending).not.toBeNull();

    const inside = await upgrade(["--allow-reboot", "--reboot-window", `${hh(h - 1)}:00-${hh(h + 1)}:59`]);
    expect(inside.exitCode, inside.stderr).toBe(0);
    expect(await readFile(rebootLog, "utf8")).toBe("reboot now\n");
    expect((await state()).rebootPending).toBeNull();
  });

  it("the metrics file passes promtool and says what happened", async () => {
    const check = await run("promtool", ["check", "metrics"], { input: await readFile(metricsFile, "utf8") });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const text = await readFile(metricsFile, "utf8");
    const deployed = (await state()).deployed;
    expect(text).toMatch(/^ternix_upgrade_last_run_timestamp_seconds \d+$/m);
    expect(text).toMatch(/^ternix_upgrade_last_success_timestamp_seconds \d+$/m);
    expect(text).toContain('ternix_upgrade_result{result="up_to_date"} 1');
    expect(text).toContain('ternix_upgrade_result{result="checks_failed"} 0');
    expect(text).toContain(
      `ternix_deployed_info{commit="${deployed?.commit ?? "?"}",generation="${deployed?.generation ?? "?"}"} 1`,
    );
    expect(text).toMatch(/^ternix_reboot_pending 0$/m);
  });

  it("--status prints the state; --json is versioned", async () => {
    const text = await upgrade(["--status"]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^Last run: .* up_to_date /m);
    const json = await upgrade(["--status", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ schemaVersion: 1, kind: "upgrade-status" });
  });

  it("SIGINT during phase 1 leaves the previous system active and the boot default unchanged", async () => {
    const running = await readlink(m.paths.currentSystem);
    const profileBefore = await readProfile(m.paths.profile);
    await writeFile(
      join(m.world.fleetDir, "ternix.toml"),
      '[[checks]]\ntype = "command"\nname = "slow"\ncommand = ["sleep", "20"]\ntimeout = "30s"\nretries = 0\n',
    );
    await setFleetHosts(m.world, [{ name: "alpha", packages: ["vim"] }, { name: "beta" }], { commit: false });
    await push("alpha: vim, slow check");
    const r = await runCliUntil(["upgrade", "--config", configFile], {
      cwd: m.world.dir,
      env: env(),
      when: "Checking…",
      then: "SIGINT",
    });
    expect(r.triggered, r.stderr).toBe(true);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(await readlink(m.paths.currentSystem)).toBe(running);
    expect(await readProfile(m.paths.profile)).toEqual(profileBefore);
    expect(r.stderr).toContain(`the boot default is unchanged: generation ${profileBefore.current}`);
    expect((await state()).lastRun).toMatchObject({ result: "error", message: "interrupted by SIGINT" });
    // An interrupt is no verdict on the commit: nothing reported.
    expect(reported((await state()).lastRun?.commit ?? "?")).toEqual([]);
    await rm(join(m.world.fleetDir, "ternix.toml"));
  });

  it("--dry-run builds and shows the diff, activates and records nothing", async () => {
    const stateBefore = await readFile(join(m.paths.stateDir, "state.json"), "utf8");
    const logBefore = await switchLog();
    const writesBefore = forge.writes().length;
    const r = await upgrade(["--dry-run", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "upgrade", result: "upgraded", dryRun: true });
    expect(r.stderr).toMatch(/upgrade: diff: .*added/);
    expect(await switchLog()).toEqual(logBefore);
    expect(await readFile(join(m.paths.stateDir, "state.json"), "utf8")).toBe(stateBefore);
    expect(forge.writes().length).toBe(writesBefore);
  });

  it("--operation boot does phase 2 only: the boot default, nothing activated, recorded unchecked", async () => {
    const running = await readlink(m.paths.currentSystem);
    const r = await upgrade(["--operation", "boot"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("Checking…");
    const profile = await readProfile(m.paths.profile);
    const booted = profile.generations.find((g) => g.number === profile.current)?.storePath ?? "?";
    expect(booted).not.toBe(running);
    expect((await switchLog()).at(-1)).toBe(`boot ${booted}`);
    expect(await readlink(m.paths.currentSystem)).toBe(running);
    expect((await state()).deployed).toMatchObject({ storePath: booted, checked: false });
  });

  it("a forge that answers 500 does not fail the upgrade: warned, recorded, metric set; the token is nowhere", async () => {
    // Without the SIGINT test's slow check (its `sleep 20` would run again).
    const sha = await push("drop the slow check");
    forge.statuses.down = true;
    const r = await upgrade();
    forge.statuses.down = false;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: could not report .* to the forge \(the upgrade's result stands\): .*500/,
    );
    const st = await state();
    expect(st).toMatchObject({ forgeReport: { ok: false, context: CONTEXT, commit: sha, state: "success" } });
    expect(reported(sha)).toEqual([]);
    expect(await readFile(metricsFile, "utf8")).toMatch(/^ternix_forge_report_failed 1$/m);
    const status = await upgrade(["--status"]);
    expect(status.stdout).toMatch(/^Forge report: {2}FAILED to post /m);

    const again = await upgrade();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await readFile(metricsFile, "utf8")).toMatch(/^ternix_forge_report_failed 0$/m);
    for (const text of [
      r.stdout,
      r.stderr,
      again.stdout,
      again.stderr,
      await readFile(join(m.paths.stateDir, "state.json"), "utf8"),
      await readFile(metricsFile, "utf8"),
    ])
      expect(text).not.toContain(TOKEN);
  });

  it("a token file others can read is refused before anything runs (exit 64)", async () => {
    const loose = join(m.world.dir, "loose-token");
    await writeFile(loose, `${TOKEN}\n`, { mode: 0o644 });
    await chmod(loose, 0o644);
    const writes = forge.writes().length;
    const r = await upgrade(["--forge-token-file", loose]);
    expect(r.exitCode, r.stderr).toBe(64);
    expect(r.stderr).toMatch(
      /error: the forge token file .* is accessible to its group or to others \(mode 0644\)/,
    );
    expect(r.stderr).toMatch(/hint: .*chmod 600/);
    expect(r.stderr).not.toContain("Fetching");
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    expect(forge.writes().length).toBe(writes);
  });
});
