/**
 * `ternix status` around `ternix deploy`, on the deploy tests' fleet (test/helpers/deploy-fleet.ts:
 * real sshds, real `nix copy` into each host's own store, the engine over SSH): what status says
 * follows what deploy did. A system deploy activated is recorded in the host's state file, so when
 * the flake moves on that host is `behind`, not `drifted`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { sshdAvailable } from "../helpers/sshd.js";
import { createDeployFleet, type DeployFleet } from "../helpers/deploy-fleet.js";

const available = await sshdAvailable();
if (!available)
  process.stderr.write(
    "status-deploy.test.ts: skipped, /usr/sbin/sshd is missing (apt-get install openssh-server)\n",
  );

let f: DeployFleet;

beforeAll(async () => {
  if (!available) return;
  await ensureBuiltCli();
  f = await createDeployFleet(["one", "two"]);
  await f.seed();
  await f.writeConfig();
});
afterAll(async () => {
  await f?.cleanup();
});

const cli = (args: string[]): Promise<CliResult> =>
  runCli([...args, "--flake", f.world.fleetDir], { cwd: f.world.fleetDir, env: f.world.env });

async function states(): Promise<{ code: number | null; states: Record<string, string>; doc: StatusJson }> {
  const r = await cli(["status", "--json"]);
  const doc = JSON.parse(r.stdout) as StatusJson;
  return { code: r.exitCode, states: Object.fromEntries(doc.hosts.map((h) => [h.host, h.state])), doc };
}

interface StatusJson {
  hosts: { host: string; state: string; findings: { reason: string }[]; stateFile: string | null }[];
}

describe.skipIf(!available)("ternix status after ternix deploy", () => {
  it("hosts running what the flake builds are up to date (exit 0)", async () => {
    const s = await states();
    expect(s.code).toBe(0);
    expect(s.states).toEqual({ one: "up-to-date", two: "up-to-date" });
  });

  it("after the flake moves on, every host is behind (exit 3); after deploying one, that one is up to date", async () => {
    await f.bump(1);
    const before = await states();
    expect(before.code).toBe(3);
    expect(before.states).toEqual({ one: "behind", two: "behind" });
    expect(before.doc.hosts[0]?.findings[0]?.reason).toBe(
      "the flake builds a system the host does not have yet",
    );

    const deployed = await cli(["deploy", "--yes", "--json", "one"]);
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    const after = await states();
    expect(after.code).toBe(3);
    expect(after.states).toEqual({ one: "up-to-date", two: "behind" });
    expect(after.doc.hosts[0]?.stateFile).toBe("ok");
  });

  it("a deployed system the flake has moved past is behind, not drifted: deploy recorded it", async () => {
    await f.bump(2);
    const s = await states();
    expect(s.states).toEqual({ one: "behind", two: "behind" });
    expect(s.code).toBe(3);
  });
});
