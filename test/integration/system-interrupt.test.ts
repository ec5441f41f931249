/**
 * Issue 10 items 2 and 5 through the built CLI: SIGINT/SIGTERM to `switch` while it activates or
 * checks leaves the previous generation the boot default and the previous system active, and says
 * so in the state file; a corrupt state file stops `switch` before anything changes.
 */
import { chmod, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProfile } from "../../src/app/machine/profile.js";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import { runCliUntil } from "../helpers/interrupt.js";
import { createMachine, machinePathArgs, type Machine } from "./system-support.js";

let m: Machine;
beforeAll(async () => {
  await ensureBuiltCli();
  m = await createMachine([{ name: "alpha" }, { name: "beta", packages: ["curl"] }]);
  const first = await m.apply("switch", "alpha");
  expect(first.outcome).toBe("switched");
});
afterAll(async () => {
  await m?.world.cleanup();
});

function machineArgs(extra: string[] = []): string[] {
  const p = m.paths;
  return ["--flake", m.world.fleetDir, ...machinePathArgs(p), "--systemctl", p.systemctl, ...extra];
}

interface StateFile {
  activations?: { outcome: string; active: string | null; bootGeneration: number | null; detail?: string }[];
}
const readState = async () =>
  JSON.parse(await readFile(join(m.paths.stateDir, "state.json"), "utf8")) as StateFile;

describe("interrupting switch", () => {
  it.each([
    ["SIGINT", "Checking…", 130],
    ["SIGTERM", "Checking…", 143],
    ["SIGINT", "slow activation starts", 130],
  ] as const)(
    "%s when stderr shows %j: previous system active, boot default unchanged, recorded",
    async (signal, when, exit) => {
      const profileBefore = await readProfile(m.paths.profile);
      const running = await readlink(m.paths.currentSystem);
      // A slow check keeps the run in "Checking…"; a slow systemd-run keeps it in the activation
      // (only for the new system's `test`: the restore runs through it too).
      const slowRun = join(m.world.dir, `slow-systemd-run-${signal}-${exit}`);
      await writeFile(
        slowRun,
        [
          "#!/bin/sh",
          `case "$*" in *"nixos-system-beta"*" test") echo "slow activation starts" >&2; sleep 20 >/dev/null 2>&1 & p=$!; trap 'kill $p; exit 130' INT TERM; wait $p ;; esac`,
          'while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done',
          "shift",
          'exec "$@"',
          "",
        ].join("\n"),
      );
      await chmod(slowRun, 0o755);
      await writeFile(
        join(m.world.fleetDir, "ternix.toml"),
        '[[checks]]\ntype = "command"\nname = "slow"\ncommand = ["sleep", "20"]\ntimeout = "30s"\nretries = 0\n',
      );
      const r = await runCliUntil(
        [
          "switch",
          "beta",
          "--yes",
          ...machineArgs(when === "Checking…" ? ["--no-systemd-run"] : ["--systemd-run", slowRun]),
        ],
        { cwd: m.world.fleetDir, env: m.env, when, then: signal },
      );
      expect(r.triggered, r.stderr).toBe(true);
      expect(r.exitCode, r.stderr).toBe(exit);
      expect(await readProfile(m.paths.profile)).toEqual(profileBefore);
      expect(await readlink(m.paths.currentSystem)).toBe(running);
      expect(r.stderr).toContain(`the boot default is unchanged: generation ${profileBefore.current}`);
      const last = (await readState()).activations?.at(-1);
      expect(last).toMatchObject({
        outcome: "interrupted",
        active: running,
        bootGeneration: profileBefore.current,
      });
      await expect(readFile(join(m.paths.stateDir, "apply.lock"))).rejects.toThrow();
    },
  );
});

describe("a corrupt state file", () => {
  it.each([
    ["empty", ""],
    ["truncated", '{"schemaVersion": 1, "generations": [{"profile": '],
    ["wrong types", '{"schemaVersion": 1, "generations": "none"}'],
  ])("%s: switch stops before changing anything, and says how to move it aside", async (_name, text) => {
    const file = join(m.paths.stateDir, "state.json");
    const saved = await readFile(file, "utf8");
    await writeFile(file, text);
    try {
      const before = await m.snapshot();
      const r = await runCli(["switch", "beta", "--yes", ...machineArgs(["--no-systemd-run"])], {
        cwd: m.world.fleetDir,
        env: m.env,
      });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${file}:`);
      expect(r.stderr).toMatch(/hint: Move it aside \(`mv .*state\.json .*state\.json\.bad`\)/);
      expect(await m.snapshot()).toBe(before);
    } finally {
      await writeFile(file, saved);
    }
  });
});
