/**
 * `ternix vm`: the fixture systems' `config.system.build.vm` (laid out as NixOS's qemu-vm module
 * does: `system` link, `bin/run-<host>-vm`) built with real Nix through the built CLI, its diff
 * against the running system, `--run` through the fixture's run script (which boots nothing and
 * records the call), and bad input. Nothing on the machine may change.
 */
import { chmod, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import { createNix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import { systemBuildLookupExpr } from "../../src/system/host.js";
import { haveNixpkgsEval, NIXPKGS_EVAL_DIR, unpackedNixpkgs } from "../helpers/nixpkgs-eval.js";
import { createMachine, type Machine } from "./system-support.js";

let m: Machine;
let work: string;

beforeAll(async () => {
  await ensureBuiltCli();
  m = await createMachine([{ name: "alpha" }, { name: "beta", packages: ["curl"] }]);
  work = join(m.world.dir, "work");
  await mkdir(work);
});
afterAll(async () => {
  await m?.world.cleanup();
});

const vm = (args: string[], cwd = work) =>
  runCli(["vm", ...args, "--flake", m.world.fleetDir, "--current-system", m.paths.currentSystem], {
    cwd,
    env: m.env,
  });

describe("ternix vm", () => {
  it("builds the VM into ./result, diffs the system it boots against the running one, says how to start it", async () => {
    // The machine runs alpha; the VM is beta's.
    const alpha = await m.apply("build", "alpha");
    await symlink(alpha.preview.storePath, m.paths.currentSystem);
    const before = await m.snapshot();

    const result = await vm(["beta"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const link = await readlink(join(work, "result"));
    expect(link).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-vm$/);
    const system = await readlink(join(link, "system"));
    expect(system).toMatch(/-nixos-system-beta-/);
    expect(result.stdout).toContain(`beta: vm ${link}`);
    expect(result.stdout).toContain(`Boots: ${system}`);
    expect(result.stdout).toContain("Against the running system:");
    // beta has curl selected; alpha has it only as a dependency.
    expect(result.stdout).toMatch(/^\[C\+\]\s+#1\s+curl\s/m);
    expect(result.stdout).toContain("Start it: ./result/bin/run-beta-vm");
    // Nothing ran and nothing on the machine changed.
    expect(await m.switchLog()).toEqual([]);
    expect(await m.snapshot()).toBe(before);
  });

  it("--run starts the run script on the terminal; --with-bootloader builds vmWithBootLoader", async () => {
    const result = await vm(["beta", "--run", "--with-bootloader", "--out-link", "vm-link"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readlink(join(work, "vm-link"))).toMatch(/-nixos-vm$/);
    expect(result.stdout).toContain("beta: vmWithBootLoader");
    expect(result.stdout).toContain("fixture VM of beta (with boot loader): would boot /nix/store/");
    expect(result.stdout).not.toContain("Start it:");
    expect((await m.switchLog()).at(-1)).toBe("run-vm-bootloader ");
  });

  it("--run goes through vm.run-command / --run-command when set", async () => {
    const recorder = join(m.world.dir, "runner.sh");
    const record = join(m.world.dir, "runner.log");
    await writeFile(recorder, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit 3\n`);
    await chmod(recorder, 0o755);
    const result = await vm(["alpha", "--run", "--run-command", recorder]);
    // The runner's status is the VM's: a failure is an error naming the command line.
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^error: the VM exited with status 3: .*runner\.sh .*\/bin\/run-alpha-vm$/m,
    );
    expect((await readFile(record, "utf8")).trim()).toBe(join(work, "result", "bin", "run-alpha-vm"));
    // The unchanged system: no diff, said so.
    expect(result.stdout).toContain("(no diff: the VM boots the system that is running)");
  });

  it("an unknown host is a clean error listing the hosts", async () => {
    const result = await vm(["nope"]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    // After the progress line: one error line and one hint line.
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      "Evaluating nope's vm…",
      `error: the flake in ${m.world.fleetDir} has no host "nope" in nixosConfigurations.`,
      'hint: Hosts there: "alpha", "beta". Name one as the HOST argument.',
    ]);
  });
});

describe("the attribute on real NixOS (nixpkgs 20.09 from ../shared/nixpkgs-eval)", () => {
  it("is absent from a plain configuration and, with qemu-vm.nix, is a VM with the layout `ternix vm` reads", async (ctx) => {
    if (!(await haveNixpkgsEval())) {
      console.warn(`skipped: ${NIXPKGS_EVAL_DIR} is missing (a real nixpkgs to evaluate NixOS with)`);
      ctx.skip();
    }
    const tree = await unpackedNixpkgs();
    const file = fileURLToPath(new URL("../fixtures/nixos-module/vm-eval.nix", import.meta.url));
    const result = await run(
      "nix-instantiate",
      [
        "--eval",
        "--strict",
        "--json",
        // Writes the .drv files, so the derivation can be read afterwards.
        "--read-write-mode",
        file,
        "--arg",
        "nixpkgs",
        tree,
        "--arg",
        "lookup",
        systemBuildLookupExpr("web", "vm"),
      ],
      { env: m.env },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const found = JSON.parse(result.stdout) as {
      plain: { found: unknown; attribute?: string };
      withVm: { found: unknown; drvPath: string; outputPath: string };
    };
    // 20.09's nixosSystem has no system.build.vm: `ternix vm` says so instead of failing in Nix.
    expect(found.plain).toEqual({ found: "no-attribute", attribute: "vm" });
    expect(found.withVm.found).toBe(true);
    expect(found.withVm.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-vm\.drv$/);
    expect(found.withVm.outputPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-vm$/);
    // The output links the system it boots and has bin/run-<system.name>-vm, as buildVm expects.
    const nix = await createNix({ run, env: m.env });
    const drv = (await nix.derivations([found.withVm.drvPath])).get(found.withVm.drvPath);
    const script = drv?.env["buildCommand"] ?? "";
    expect(script).toMatch(/ln -s \/nix\/store\/[a-z0-9]{32}-nixos-system-web-[^ ]+ \$out\/system/);
    expect(script).toContain("$out/bin/run-web-vm");
  }, 180_000);
});
