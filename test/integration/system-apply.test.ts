/**
 * The apply loop on a "machine" in a temporary directory, with real Nix profiles and the fixture
 * systems (whose switch-to-configuration logs its calls and repoints the current-system link).
 * The tests run in order and build on each other: generations 1, 2, 3 come from the first three.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApplyLockedError } from "../../src/app/machine/apply-lock.js";
import { listGenerations } from "../../src/app/machine/generations.js";
import { addGeneration, readProfile, switchGeneration } from "../../src/app/machine/profile.js";
import { rollbackSystem } from "../../src/app/machine/rollback.js";
import { main } from "../../src/cli/main.js";
import { ExitCode, NixError, UsageError } from "../../src/errors.js";
import { run } from "../../src/proc/run.js";
import { advanceNixpkgs, git, updateFleetLock } from "../helpers/world.js";
import { check, createMachine, type Machine } from "./system-support.js";

let m: Machine;
/** Store paths by host, filled as the tests build them. */
const built: Record<string, string> = {};

beforeAll(async () => {
  m = await createMachine();
});
afterAll(async () => {
  await m?.world.cleanup();
});

const lastLines = async (n: number) => (await m.switchLog()).slice(-n);

/** Run the CLI in-process with the machine's paths; returns the exit code and what went to stdout. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, m.env);
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    const p = m.paths;
    const code = await main([
      ...args,
      "--flake",
      m.world.fleetDir,
      "--current-system",
      p.currentSystem,
      // `build` changes nothing on the machine: it takes no other path.
      ...(args[0] === "build" ? [] : machineFlags(args[0] ?? "")),
    ]);
    return { code, stdout: chunks.join("") };
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
}

function machineFlags(command: string): string[] {
  const p = m.paths;
  return [
    "--profile",
    p.profile,
    "--booted-system",
    p.bootedSystem,
    "--state-dir",
    p.stateDir,
    ...(command === "switch" || command === "test" ? ["--systemctl", p.systemctl] : []),
    // This machine's systemd-run may work (systemd as PID 1); the fixture systems run directly.
    ...(["switch", "test", "boot", "rollback"].includes(command) ? ["--no-systemd-run"] : []),
  ];
}

describe("ternix switch / rollback / generations on a real profile", () => {
  it("switch adds a generation, activates it and records it as known good", async () => {
    const result = await m.apply("switch", "alpha", { checks: [check(["true"])] });
    expect(result.outcome).toBe("switched");
    expect(result.generation).toBe(1);
    expect(result.preview.diff).toBeUndefined(); // nothing was running yet
    built.alpha = result.preview.storePath;

    expect(await readlink(m.paths.profile)).toBe("system-1-link");
    expect(await readlink(`${m.paths.profile}-1-link`)).toBe(built.alpha);
    expect(await readlink(m.paths.currentSystem)).toBe(built.alpha);
    // Two phases: active and checked first, then the boot default.
    expect(await lastLines(2)).toEqual([`test ${built.alpha}`, `boot ${built.alpha}`]);
    expect(result.checks?.results.map((r) => [r.kind, r.status])).toEqual([
      ["activation", "passed"],
      ["systemd", "passed"],
      ["command", "passed"],
    ]);
    const state = JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as {
      generations: { generation: number; status: string; storePath: string }[];
    };
    expect(state.generations).toEqual([
      expect.objectContaining({ generation: 1, status: "known-good", storePath: built.alpha }),
    ]);
  });

  it("switch shows the diff against the running system", async () => {
    const result = await m.apply("switch", "beta");
    expect(result.outcome).toBe("switched");
    expect(result.generation).toBe(2);
    built.beta = result.preview.storePath;
    expect(result.preview.current).toBe(built.alpha);
    expect(result.preview.diff?.before.root).toBe(built.alpha);
    expect(result.preview.diff?.after.root).toBe(built.beta);
    expect(result.preview.diff?.packages.some((p) => p.name === "curl" && p.selectedAfter)).toBe(true);
  });

  it("a failing check re-activates the previous system and leaves the profile alone (CLI, exit code 5)", async () => {
    await writeFile(
      join(m.world.fleetDir, "ternix.toml"),
      '[[checks]]\ntype = "command"\nname = "must fail"\ncommand = ["sh", "-c", "echo nope >&2; exit 3"]\nretries = 0\n',
    );
    try {
      const { code, stdout } = await cli(["switch", "gamma", "--yes"]);
      expect(code).toBe(ExitCode.checkFailed);
      expect(stdout).toContain("FAIL must fail: exit 3: nope");
      expect(stdout).toContain("re-activated generation 2");
    } finally {
      await rm(join(m.world.fleetDir, "ternix.toml"));
    }
    const profile = await readProfile(m.paths.profile);
    expect(profile.current).toBe(2);
    expect(profile.generations.map((g) => g.number)).toEqual([1, 2]); // never added
    const [tested, back] = await lastLines(2);
    built.gamma = tested?.replace(/^test /, "") ?? "";
    expect(built.gamma).toMatch(/nixos-system-gamma-/);
    expect(back).toBe(`test ${built.beta}`);
    expect(await readlink(m.paths.currentSystem)).toBe(built.beta);
    const state = JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as {
      activations: { outcome: string; storePath: string; active: string; bootGeneration: number }[];
    };
    expect(state.activations.at(-1)).toMatchObject({
      outcome: "rolled-back",
      storePath: built.gamma,
      active: built.beta,
      bootGeneration: 2,
    });
  });

  it("units that newly fail after the switch fail the check", async () => {
    // The fake systemctl reports a failed unit only once the new system is active.
    await writeFile(
      m.paths.systemctl,
      `#!/bin/sh\n[ "$(readlink '${m.paths.currentSystem}')" = '${built.alpha}' ] && echo "sshd.service loaded failed failed SSH"\nexit 0\n`,
    );
    try {
      const result = await m.apply("test", "alpha");
      expect(result.outcome).toBe("rolled-back");
      expect(result.checks?.results.find((r) => r.kind === "systemd")).toMatchObject({
        status: "failed",
        units: ["sshd.service"],
      });
      // test never touches the profile; it re-activates what was running.
      expect((await readProfile(m.paths.profile)).current).toBe(2);
      expect(await lastLines(2)).toEqual([`test ${built.alpha}`, `test ${built.beta}`]);
      expect(await readlink(m.paths.currentSystem)).toBe(built.beta);
    } finally {
      await writeFile(m.paths.systemctl, "#!/bin/sh\nexit 0\n");
    }
  });

  it("rollback --to N goes to that generation; a plain rollback from the oldest says there is none", async () => {
    const deps = { nix: m.nix, effects: m.effects(), system: m.system };
    const result = await rollbackSystem({ paths: m.paths, to: 1, wait: false }, deps);
    expect(result).toMatchObject({ from: 2, to: { number: 1, storePath: built.alpha } });
    expect(await readlink(m.paths.profile)).toBe("system-1-link");
    expect(await readlink(m.paths.currentSystem)).toBe(built.alpha);
    expect(await lastLines(2)).toEqual([`test ${built.alpha}`, `boot ${built.alpha}`]);

    await expect(
      rollbackSystem({ paths: m.paths, wait: false }, { ...deps, effects: m.effects() }),
    ).rejects.toThrow(UsageError);
    await expect(
      rollbackSystem({ paths: m.paths, to: 9, wait: false }, { ...deps, effects: m.effects() }),
    ).rejects.toThrow(/has no generation 9/);
  });

  it("generations lists every generation with current, booted and known-good markers", async () => {
    await symlink(built.beta as string, m.paths.bootedSystem);
    // A generation Ternix has no record of (gamma never passed its checks, so switch did not add it).
    await addGeneration(m.nix, m.paths.profile, built.gamma as string);
    await switchGeneration(m.nix, m.paths.profile, 1);
    const result = await listGenerations({ paths: m.paths, diff: true }, { nix: m.nix });
    expect(
      result.generations.map((g) => [
        g.number,
        g.current,
        g.booted,
        g.knownGood,
        g.newestKnownGood,
        g.status,
      ]),
    ).toEqual([
      [1, true, false, true, false, "known-good"],
      [2, false, true, true, true, "known-good"],
      [3, false, false, false, false, undefined],
    ]);
    const first = result.generations[0];
    expect(first?.kernelVersion).toBe("6.6.63");
    expect(first?.nixosVersion).toMatch(/^24\.11\./);
    expect(first?.closureSize).toBeGreaterThan(0);
    expect(result.diffs?.map((d) => [d.from, d.to])).toEqual([
      [1, 2],
      [2, 3],
    ]);

    const { code, stdout } = await cli(["generations", "--json"]);
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as {
      schemaVersion: number;
      kind: string;
      current: number;
      generations: { number: number; newestKnownGood: boolean; booted: boolean; closureSize: number }[];
    };
    expect(json).toMatchObject({ schemaVersion: 1, kind: "generations", current: 1 });
    expect(json.generations.map((g) => [g.number, g.booted, g.newestKnownGood])).toEqual([
      [1, false, false],
      [2, true, true],
      [3, false, false],
    ]);

    const text = await cli(["generations"]);
    expect(text.stdout).toMatch(/^\s+1 .*current, known good$/m);
    expect(text.stdout).toMatch(/^\s+2 .*booted, newest known good$/m);
    expect(text.stdout).toMatch(/^\s+3 .*MiB$/m); // no markers: no record
    expect(json.generations[0]?.closureSize).toBe(first?.closureSize);

    // --diff: the package diff between consecutive generations. beta selects curl (already in
    // alpha's closure as a dependency); gamma drops it and adds openssh.
    const withDiff = await cli(["generations", "--diff"]);
    expect(withDiff.code).toBe(0);
    const out = withDiff.stdout;
    const oneTwo = out.slice(out.indexOf("Generation 1 -> 2:"), out.indexOf("Generation 2 -> 3:"));
    const twoThree = out.slice(out.indexOf("Generation 2 -> 3:"));
    expect(oneTwo, out).toMatch(/^\[C\+\]\s+#1\s+curl\b/m);
    expect(twoThree, out).toMatch(/^\[C-\]\s+#1\s+curl\b/m);
    expect(twoThree, out).toMatch(/^\[A\+\]\s+#\d+\s+openssh\s/m);
  });

  it("a build failure changes nothing", async () => {
    const before = await m.snapshot();
    await expect(m.apply("switch", "broken")).rejects.toThrow(NixError);
    await expect(m.apply("boot", "broken")).rejects.toThrow(/building broken's system failed/);
    expect(await m.snapshot()).toBe(before);
  });

  it("a second switch fails clearly while one runs, and with --wait queues behind it", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reviewing!: () => void;
    const inReview = new Promise<void>((resolve) => (reviewing = resolve));
    const first = m.apply("switch", "delta", {
      review: async () => {
        reviewing();
        await held;
        return true;
      },
    });
    await inReview; // built, lock held, not yet switched
    await expect(m.apply("switch", "epsilon")).rejects.toThrow(ApplyLockedError);
    const queued = m.apply("switch", "epsilon", { wait: true });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await readProfile(m.paths.profile)).generations).toHaveLength(3); // nobody switched yet
    release();
    const [a, b] = await Promise.all([first, queued]);
    expect([a.outcome, a.generation, b.outcome, b.generation]).toEqual(["switched", 4, "switched", 5]);
    expect(await readlink(m.paths.currentSystem)).toBe(b.preview.storePath);
  });

  it("a lock held by another live process blocks; once it dies, the lock is taken over", async () => {
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    const lockPath = join(m.paths.stateDir, "apply.lock");
    await writeFile(lockPath, JSON.stringify({ pid: holder.pid, command: "switch other", since: "earlier" }));
    try {
      await expect(
        rollbackSystem(
          { paths: m.paths, to: 2, wait: false },
          { nix: m.nix, effects: m.effects(), system: m.system },
        ),
      ).rejects.toThrow(new RegExp(`pid ${holder.pid}`));
    } finally {
      holder.kill();
      await new Promise((resolve) => holder.once("exit", resolve));
    }
    const result = await rollbackSystem(
      { paths: m.paths, to: 2, wait: false },
      { nix: m.nix, effects: m.effects(), system: m.system },
    );
    expect(result.to.number).toBe(2);
    await expect(readFile(lockPath)).rejects.toThrow(); // released
  });

  it("--commit commits the updated flake.lock once the checks passed", async () => {
    await advanceNixpkgs(m.world, "24.11-c");
    await updateFleetLock(m.world, { inputs: ["nixpkgs"] });
    const result = await m.apply("switch", "alpha", { commit: true });
    expect(result.outcome).toBe("switched");
    expect(result.commit?.sha).toMatch(/^[0-9a-f]{40}$/);
    const message = await git(m.world, m.world.fleetDir, ["log", "-1", "--format=%B"]);
    expect(message).toMatch(/^flake\.lock: update nixpkgs/);
    expect(message).toContain(`Applied to alpha as system generation ${result.generation}; checks passed`);
    expect(await git(m.world, m.world.fleetDir, ["status", "--porcelain", "flake.lock"])).toBe("");
    // Nothing left to commit: a second switch says so.
    const again = await m.apply("switch", "alpha", { commit: true });
    expect(again.commit).toEqual({ sha: undefined });
  });

  it("an interrupt during the checks re-activates the previous system; the profile was never touched", async () => {
    const before = await readProfile(m.paths.profile);
    const running0 = await readlink(m.paths.currentSystem);
    const started = join(m.world.dir, "check-started");
    const effects = m.effects();
    const slow = { ...check(["sh", "-c", `touch '${started}'; sleep 2; exit 1`]), timeoutMs: 5_000 };
    const running = m.apply("switch", "zeta", { checks: [slow], effects });
    await vi.waitFor(() => readFile(started), { timeout: 60_000, interval: 100 });
    expect(await readProfile(m.paths.profile)).toEqual(before); // phase 1: profile untouched
    expect(await readlink(m.paths.currentSystem)).not.toBe(running0); // zeta is active
    // What the CLI does on SIGINT: run the cleanup actions (then it exits).
    expect(await effects.cleanup.runAll()).toEqual([]);
    expect(await readProfile(m.paths.profile)).toEqual(before);
    expect(await readlink(m.paths.currentSystem)).toBe(running0);
    expect(m.events).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: expect.stringContaining(
          `the boot default is unchanged: generation ${before.current}; re-activated the previous system ${running0}`,
        ) as unknown,
      }),
    );
    const state = JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as {
      activations: { outcome: string; active: string; bootGeneration: number }[];
    };
    expect(state.activations.at(-1)).toMatchObject({
      outcome: "interrupted",
      active: running0,
      bootGeneration: before.current,
    });
    await expect(readFile(join(m.paths.stateDir, "apply.lock"))).rejects.toThrow(); // released
    await running; // in the CLI the process would be gone by now; here the check fails and rolls back
  });

  it("boot makes it the boot default without activating it", async () => {
    const running = await readlink(m.paths.currentSystem);
    const result = await m.apply("boot", "gamma");
    expect(result.outcome).toBe("boot-default");
    const profile = await readProfile(m.paths.profile);
    expect(profile.current).toBe(result.generation);
    expect(profile.generations.find((g) => g.number === result.generation)?.storePath).toBe(
      result.preview.storePath,
    );
    expect(await readlink(m.paths.currentSystem)).toBe(running);
    expect(await lastLines(1)).toEqual([`boot ${result.preview.storePath}`]);
  });

  it("build, test, boot and rollback through the CLI", async () => {
    // The fleet's lock moved since the first tests (--commit): alpha builds anew.
    const beta = built.beta as string;
    await rm(m.paths.currentSystem, { force: true });
    await symlink(beta, m.paths.currentSystem);

    // build: `HOST: PATH` first, then the diff against the running system.
    const build = await cli(["build", "alpha"]);
    expect(build.code).toBe(0);
    const alpha = /^alpha: (\/nix\/store\/\S+-nixos-system-alpha-\S+)$/m.exec(build.stdout)?.[1] ?? "";
    expect(alpha, build.stdout).not.toBe("");
    // beta selected curl 8.11.0; the new alpha does not select it and has the downgraded 8.10.1.
    expect(build.stdout).toMatch(/^\[D-\]\s+#\d+\s+curl\s+\S+\s+8\.11\.0 -> 8\.10\.1$/m);
    expect(build.stdout).toContain("[reboot]  Kernel 6.6.63 -> 6.6.64");

    // test: active now, the profile untouched.
    const profileBefore = await readProfile(m.paths.profile);
    const test = await cli(["test", "alpha", "--yes"]);
    expect(test.code, test.stdout).toBe(0);
    expect(await readlink(m.paths.currentSystem)).toBe(alpha);
    expect(await lastLines(1)).toEqual([`test ${alpha}`]);
    expect(await readProfile(m.paths.profile)).toEqual(profileBefore);

    // boot: a new generation as the boot default, nothing activated.
    const boot = await cli(["boot", "beta", "--yes"]);
    expect(boot.code, boot.stdout).toBe(0);
    const afterBoot = await readProfile(m.paths.profile);
    expect(afterBoot.current).toBe(Math.max(...profileBefore.generations.map((g) => g.number)) + 1);
    const newBeta = afterBoot.generations.find((g) => g.number === afterBoot.current)?.storePath ?? "";
    expect(newBeta).toMatch(/-nixos-system-beta-/);
    expect(await lastLines(1)).toEqual([`boot ${newBeta}`]);
    expect(await readlink(m.paths.currentSystem)).toBe(alpha);

    // rollback: back to the generation before, profile and activation.
    const rollback = await cli(["rollback"]);
    expect(rollback.code, rollback.stdout).toBe(0);
    const afterRollback = await readProfile(m.paths.profile);
    expect(afterRollback.current).toBe(profileBefore.current);
    const target = afterRollback.generations.find((g) => g.number === afterRollback.current);
    expect(await lastLines(2)).toEqual([
      `test ${target?.storePath ?? "?"}`,
      `boot ${target?.storePath ?? "?"}`,
    ]);
  });

  it("a failed switch goes back to the specialisation the machine was running", async () => {
    // The current generation's system has a specialisation (NixOS's layout, added to the store as
    // it is); the machine runs that specialisation: the old beta system.
    const special = built.beta as string;
    const dir = join(m.world.dir, "with-specialisation");
    await mkdir(join(dir, "specialisation"), { recursive: true });
    await symlink(special, join(dir, "specialisation", "quiet"));
    const added = await run("nix-store", ["--add", dir], { env: m.env });
    expect(added.exitCode, added.stderr).toBe(0);
    const previous = await addGeneration(m.nix, m.paths.profile, added.stdout.trim());
    await rm(m.paths.currentSystem, { force: true });
    await symlink(special, m.paths.currentSystem);

    const result = await m.apply("switch", "gamma", { checks: [check(["false"])] });
    expect(result.outcome).toBe("rolled-back");
    expect(result.rolledBackTo).toEqual({ generation: previous, storePath: special });
    expect((await readProfile(m.paths.profile)).current).toBe(previous);
    expect(await lastLines(2)).toEqual([`test ${result.preview.storePath}`, `test ${special}`]);
    expect(await readlink(m.paths.currentSystem)).toBe(special);
  });

  it("activates under systemd-run when it works, and directly when it does not", async () => {
    // A stand-in that logs how it was called and runs the command after `--` in the foreground,
    // as `systemd-run --wait --pipe` does; with FAIL set it fails the way it does without systemd.
    const log = join(m.world.dir, "systemd-run.log");
    const fake = join(m.world.dir, "systemd-run");
    await writeFile(
      fake,
      [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >> '${log}'`,
        `[ -n "$FAKE_SYSTEMD_RUN_FAIL" ] && { echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; exit 1; }`,
        'while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done',
        "shift",
        'exec "$@"',
        "",
      ].join("\n"),
    );
    await chmod(fake, 0o755);
    const paths = { ...m.paths, systemdRun: fake };

    const result = await m.apply("switch", "delta", { paths });
    expect(result.outcome).toBe("switched");
    const script = join(result.preview.storePath, "bin", "switch-to-configuration");
    const calls = (await readFile(log, "utf8")).trim().split("\n");
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatch(/--unit=ternix-switch-to-configuration-probe --wait -- true$/);
    const escaped = script.replace(/[.+]/g, "\\$&");
    expect(calls[1]).toMatch(
      new RegExp(`--pipe .*--unit=ternix-switch-to-configuration --wait -- ${escaped} test$`),
    );
    expect(calls[2]).toMatch(
      new RegExp(`--pipe .*--unit=ternix-switch-to-configuration --wait -- ${escaped} boot$`),
    );
    expect(await lastLines(2)).toEqual([
      `test ${result.preview.storePath}`,
      `boot ${result.preview.storePath}`,
    ]);
    expect(await readlink(m.paths.currentSystem)).toBe(result.preview.storePath);

    // Where systemd-run cannot start services (a container, a chroot), Ternix says so and activates directly.
    const broken = join(m.world.dir, "broken-systemd-run");
    await writeFile(broken, `#!/bin/sh\nFAKE_SYSTEMD_RUN_FAIL=1 exec '${fake}' "$@"\n`);
    await chmod(broken, 0o755);
    const direct = await m.apply("switch", "epsilon", { paths: { ...m.paths, systemdRun: broken } });
    expect(direct.outcome).toBe("switched");
    expect(await lastLines(1)).toEqual([`boot ${direct.preview.storePath}`]);
    expect((await readFile(log, "utf8")).trim().split("\n")).toHaveLength(4); // the probe only
    expect(m.events).toContainEqual(
      expect.objectContaining({ message: expect.stringContaining("does not work here") as unknown }),
    );
  });
});
