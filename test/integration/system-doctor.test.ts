/**
 * `ternix doctor` through the built CLI on a fixture machine (real Nix profile, store, daemon and
 * GC roots; stand-in systemctl, journalctl and nix-channel scripts), and on a machine without
 * systemd, where those findings say "not available" and the rest still works. Host `vault` carries
 * a package with a (synthetic, generated at test time) private key and token: running it fails the
 * secrets finding, which names where they are and never what they are.
 */
import { access, chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/proc/run.js";
import type { DoctorJson } from "../../src/report/doctor.js";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import { expectNoSecret, SECRET_PACKAGE } from "../helpers/synthetic-secrets.js";
import { buildHosts } from "../helpers/world.js";
import { createMachine, machinePathArgs, type Machine } from "./system-support.js";

let m: Machine;
let bin: string;

async function script(name: string, body: string): Promise<string> {
  const path = join(bin, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  await ensureBuiltCli();
  m = await createMachine([
    { name: "alpha" },
    { name: "beta", packages: ["curl"] },
    { name: "vault", extraConfig: `environment.systemPackages = [ ${SECRET_PACKAGE} ];` },
  ]);
  bin = join(m.world.dir, "doctor-bin");
  await mkdir(bin);
  // alpha is switched (known good) and booted; beta is then made the boot default, not activated.
  const alpha = await m.apply("switch", "alpha");
  expect(alpha.outcome).toBe("switched");
  await m.apply("boot", "beta");
}, 120_000);
afterAll(async () => {
  await m?.world.cleanup();
});

async function doctor(extra: string[], options: { cwd?: string; flake?: boolean } = {}) {
  const args = [
    "doctor",
    "--json",
    ...machinePathArgs(m.paths),
    "--roots",
    "100000",
    ...(options.flake === false ? [] : ["--flake", m.world.fleetDir]),
    ...extra,
  ];
  const result = await runCli(args, { cwd: options.cwd ?? m.world.dir, env: m.env });
  let json: DoctorJson | undefined;
  try {
    json = JSON.parse(result.stdout) as DoctorJson;
  } catch {
    json = undefined;
  }
  const find = (id: string) => {
    const f = json?.findings.find((x) => x.id === id);
    if (f === undefined) throw new Error(`no finding ${id}: ${result.stdout}\n${result.stderr}`);
    return f;
  };
  return { ...result, json, find };
}

/** A store path standing in for a booted system whose kernel differs from the running one. */
async function otherKernelSystem(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ternix-doctor-booted-"));
  try {
    const system = join(dir, "nixos-system-alpha-old");
    await mkdir(system);
    await symlink("/nix/store/00000000000000000000000000000000-linux-6.1.1/bzImage", join(system, "kernel"));
    const added = await run("nix-store", ["--add", system], { env: m.env });
    expect(added.exitCode, added.stderr).toBe(0);
    return added.stdout.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("ternix doctor", () => {
  it("judges a machine running generation 1 with generation 2 as the boot default, a failed unit and logged errors", async () => {
    await symlink(await realpath(m.paths.currentSystem), m.paths.bootedSystem);
    await writeFile(m.failedUnitsFile, "nginx.service\n");
    const journalctl = await script(
      "journalctl",
      `[ "$*" = "-b -p err --no-pager -q -n 50" ] || { echo "unexpected: $*" >&2; exit 2; }\necho "Dec 07 10:00:01 web nginx[123]: bind() failed"\necho "Dec 07 10:00:02 web systemd[1]: Failed to start nginx.service."`,
    );
    const nixChannel = await script(
      "nix-channel",
      `[ "$1" = "--list" ] || exit 2\necho "nixos https://nixos.org/channels/nixos-24.11"`,
    );
    const result = await doctor([
      "alpha",
      "--systemctl",
      m.paths.systemctl,
      "--journalctl",
      journalctl,
      "--nix-channel",
      nixChannel,
    ]);
    // A failed unit fails the diagnosis.
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.json?.schemaVersion).toBe(1);
    expect(result.json?.kind).toBe("doctor");
    expect(result.json?.host).toBe("alpha");

    const running = result.find("running");
    expect(running.verdict).toBe("warn");
    expect(running.summary).toBe("running generation 1, but the boot default is 2");
    expect(running.action).toContain("ternix rollback --to 1");
    // alpha is what the flake builds for alpha (evaluation only).
    expect(result.find("flake").verdict).toBe("ok");
    expect(result.find("reboot").verdict).toBe("ok");
    const good = result.find("known-good");
    expect(good.verdict).toBe("ok");
    expect(good.summary).toBe("generation 1 is known good and in the store");
    expect(result.find("failed-units")).toMatchObject({ verdict: "fail", details: ["nginx.service"] });
    const journal = result.find("journal");
    expect(journal.verdict).toBe("warn");
    expect(journal.details).toEqual([
      "Dec 07 10:00:01 web nginx[123]: bind() failed",
      "Dec 07 10:00:02 web systemd[1]: Failed to start nginx.service.",
    ]);
    expect(result.find("disk").summary).toMatch(/^\d+(\.\d)? [KMGT]?i?B free of .* on \/nix\/store$/);
    expect(result.find("store-size").summary).toMatch(/^the store holds [1-9]\d* paths, /);
    expect(result.find("generations").summary).toBe("2 system generations; gc (keep 5) would delete none");
    // The profile's generation links are indirect GC roots (nix-env registers them).
    const roots = result.find("gc-roots");
    expect(roots.verdict).toBe("ok");
    expect(roots.details.some((d) => d.endsWith(`${m.paths.profile}-1-link`))).toBe(true);
    expect(roots.details.some((d) => d.endsWith(`${m.paths.profile}-2-link`))).toBe(true);
    expect(result.find("nix-versions")).toMatchObject({ verdict: "ok" });
    expect(result.find("nix-versions").summary).toMatch(/^Nix \S+, (daemon \S+|local store \(no daemon\))$/);
    expect(result.find("store-schema")).toMatchObject({ verdict: "ok", summary: "store database schema 10" });
    const channels = result.find("channels");
    expect(channels.verdict).toBe("warn");
    expect(channels.details).toEqual(["nixos https://nixos.org/channels/nixos-24.11"]);
    // The whole running closure was read (the fixture's is far under the per-host limit) and is clean.
    const secrets = result.find("secrets");
    expect(secrets.verdict).toBe("ok");
    expect(secrets.summary).toMatch(
      /^no secrets found in the running system's closure \(([1-9]\d*) of \1 store paths, [1-9]\d* text files read\)$/,
    );
    expect(secrets.details).toEqual([]);
    const scan = result.json?.secrets;
    expect(scan?.findings).toEqual([]);
    expect(scan?.pathsOverBudget).toBe(0);
    expect(scan?.pathsScanned).toBe(scan?.newPaths);
    expect(result.json?.summary.fail).toBe(1);
  });

  it("the text report groups findings in triage order with verdicts and actions", async () => {
    const result = await runCli(
      [
        "doctor",
        "alpha",
        ...machinePathArgs(m.paths),
        "--flake",
        m.world.fleetDir,
        "--systemctl",
        m.paths.systemctl,
        "--journalctl",
        join(bin, "journalctl"),
        "--nix-channel",
        join(bin, "nix-channel"),
      ],
      { cwd: m.world.dir, env: m.env },
    );
    expect(result.exitCode).toBe(5);
    const out = result.stdout;
    const order = ["What runs vs what should", "Health since boot", "The Nix store", "Secrets", "Nix"].map(
      (t) => out.indexOf(`\n${t}\n`),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toContain("  warn  running generation 1, but the boot default is 2");
    expect(out).toContain("  FAIL  1 failed systemd unit");
    expect(out).toContain("        → `systemctl status UNIT`");
    expect(out).toMatch(/\n {2}ok {4}no secrets found in the running system's closure \(/);
    expect(out).toMatch(/\n\d+ ok, \d+ warnings?, 1 failure, 0 not available\.\n?$/);
  });

  it("a reboot is pending when the booted kernel differs; a flake that builds something else warns", async () => {
    await rm(m.paths.bootedSystem);
    await symlink(await otherKernelSystem(), m.paths.bootedSystem);
    await writeFile(m.failedUnitsFile, "");
    const result = await doctor([
      "beta",
      "--systemctl",
      m.paths.systemctl,
      "--journalctl",
      join(bin, "journalctl"),
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const reboot = result.find("reboot");
    expect(reboot.verdict).toBe("warn");
    expect(reboot.summary).toMatch(
      /^reboot pending: the booted system's kernel, initrd, kernel-modules differ/,
    );
    const flake = result.find("flake");
    expect(flake.verdict).toBe("warn");
    // beta is generation 2, built and in the profile, but not running.
    expect(flake.details[0]).toMatch(/^flake: {3}\/nix\/store\/.*-nixos-system-beta-.* \(generation 2\)$/);
    expect(result.find("failed-units").verdict).toBe("ok");
  });

  it("a HOST the flake does not have fails the flake finding and names the hosts", async () => {
    const result = await doctor([
      "nope",
      "--systemctl",
      m.paths.systemctl,
      "--journalctl",
      join(bin, "journalctl"),
    ]);
    expect(result.exitCode, result.stderr).toBe(5);
    const flake = result.find("flake");
    expect(flake.verdict).toBe("fail");
    expect(flake.summary).toContain(
      'has no host "nope" in nixosConfigurations. (Hosts there: "alpha", "beta", "vault".',
    );
    expect(result.find("failed-units").verdict).toBe("ok");
  });

  it("without systemd, journal or channels those findings are 'not available' and the rest still works", async () => {
    const noSystemd = await script(
      "systemctl-no-systemd",
      `echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2\necho "Failed to connect to bus: Host is down" >&2\nexit 1`,
    );
    const dir = await mkdtemp(join(tmpdir(), "ternix-doctor-noflake-"));
    try {
      const result = await doctor(
        [
          "alpha",
          "--systemctl",
          noSystemd,
          "--journalctl",
          join(bin, "missing-journalctl"),
          "--nix-channel",
          join(bin, "missing-nix-channel"),
        ],
        { cwd: dir, flake: false },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      const units = result.find("failed-units");
      expect(units.verdict).toBe("unavailable");
      expect(units.summary).toMatch(
        /^failed units: not available \(.*systemctl-no-systemd exited 1: System has not been booted with systemd/,
      );
      expect(result.find("journal")).toMatchObject({ verdict: "unavailable" });
      expect(result.find("journal").summary).toContain("missing-journalctl: command not found");
      expect(result.find("channels").verdict).toBe("unavailable");
      // No flake around the directory, and none in /etc/nixos (on a machine that has one, it is used).
      const etcNixos = await access("/etc/nixos/flake.nix").then(
        () => true,
        () => false,
      );
      if (!etcNixos) expect(result.find("flake").verdict).toBe("unavailable");
      // The rest still answers.
      expect(result.find("running").verdict).toBe("warn");
      expect(result.find("known-good").verdict).toBe("ok");
      expect(result.find("store-schema").verdict).toBe("ok");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a running system whose closure holds a key and a token fails: where and what kind, never the secret", async () => {
    const vault = (await buildHosts(m.world, ["vault"]))["vault"] ?? "";
    expect(vault).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-vault-/);
    const dir = await mkdtemp(join(tmpdir(), "ternix-doctor-vault-"));
    try {
      const current = join(dir, "current-system");
      await symlink(vault, current);
      const base = [
        "doctor",
        "vault",
        "--profile",
        m.paths.profile,
        "--current-system",
        current,
        "--booted-system",
        current,
        "--state-dir",
        m.paths.stateDir,
        "--flake",
        m.world.fleetDir,
        "--systemctl",
        m.paths.systemctl,
        "--journalctl",
        join(bin, "journalctl"),
      ];
      const cli = (extra: string[]) =>
        runCli([...base, ...extra], { cwd: m.world.dir, env: { ...m.env, NO_COLOR: "1" } });

      const json = await cli(["--json", "--verbose"]);
      expect(json.exitCode, json.stderr).toBe(5);
      expectNoSecret(json);
      const report = JSON.parse(json.stdout) as DoctorJson;
      const finding = report.findings.find((f) => f.id === "secrets");
      expect(finding?.verdict).toBe("fail");
      expect(finding?.summary).toBe(
        "2 files in the running closure of vault hold a secret (openssh-private-key, github-token), readable by every user",
      );
      // The secret is in a dependency of the toplevel, not the toplevel itself: the whole closure is read.
      const keys = /^\/nix\/store\/[a-z0-9]{32}-deploy-keys-1\.0$/;
      expect(
        report.secrets?.findings.map((f) => [
          f.storePath.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""),
          f.file,
          f.kind,
        ]),
      ).toEqual([
        ["deploy-keys-1.0", "etc/deploy.env", "github-token"],
        ["deploy-keys-1.0", "etc/id_ed25519", "openssh-private-key"],
      ]);
      expect(report.secrets?.findings.every((f) => keys.test(f.storePath))).toBe(true);
      const keysPath = report.secrets?.findings[0]?.storePath ?? "";
      expect(finding?.details).toEqual([
        `github-token         ${keysPath}/etc/deploy.env`,
        `openssh-private-key  ${keysPath}/etc/id_ed25519`,
      ]);
      expect(finding?.action).toContain("agenix or sops-nix");
      expect(finding?.action).toContain("rotate it");
      expect(report.secrets?.skippedBinary).toBeGreaterThanOrEqual(1);
      expect(report.secrets?.pathsScanned).toBe(report.secrets?.newPaths);
      // Every other finding still answers; the secret is the only failure.
      expect(report.summary.fail).toBe(1);

      const text = await cli(["--verbose"]);
      expect(text.exitCode, text.stderr).toBe(5);
      expectNoSecret(text);
      expect(text.stdout).toContain(
        "  FAIL  2 files in the running closure of vault hold a secret (openssh-private-key, github-token), readable by every user",
      );
      expect(text.stdout).toContain(`        openssh-private-key  ${keysPath}/etc/id_ed25519`);
      expect(text.stdout).toContain("        → Move each secret out of the Nix store");
      expect(text.stderr).toContain("Scanning the running system's closure for secrets");

      // A store whose files are not on this machine (a binary cache here): not available, and doctor still runs.
      const cache = join(dir, "cache");
      const remote = await runCli(["--nix-option", `store=file://${cache}`, ...base, "--json"], {
        cwd: m.world.dir,
        env: m.env,
      });
      expectNoSecret(remote);
      const other = JSON.parse(remote.stdout) as DoctorJson;
      const na = other.findings.find((f) => f.id === "secrets");
      expect(na?.verdict).toBe("unavailable");
      expect(na?.summary).toMatch(
        /^secrets in the running closure: not available \(the store Nix uses is not one whose files can be read here/,
      );
      expect(other.secrets).toBeNull();
      expect(other.findings.find((f) => f.id === "failed-units")?.verdict).toBe("ok");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
