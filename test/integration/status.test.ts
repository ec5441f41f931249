/**
 * `ternix status` end to end: the built CLI against a fleet of real sshds on loopback, one per
 * host, each host a "machine" in temporary directories (a real Nix profile with generations made by
 * nix-env, current/booted system links, a state file, a stand-in systemctl) that its
 * `[deploy.hosts."NAME".system]` config points the probe at. The systems are the fixture fleet's,
 * built at two nixpkgs revisions (24.11-a, then 24.11-b, whose kernel differs), so every state is
 * made from real store paths: up-to-date, behind, drifted, reboot-pending, checks-failing,
 * unreachable, and a host whose name holds spaces and quotes.
 */
import { chmod, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addGeneration } from "../../src/app/machine/profile.js";
import { createNix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { sshdAvailable, startSshdFleet, type SshdFleet } from "../helpers/sshd.js";
import {
  advanceNixpkgs,
  buildHosts,
  createWorld,
  git,
  updateFleetLock,
  type HostSpec,
  type World,
} from "../helpers/world.js";

const available = await sshdAvailable();
if (!available)
  process.stderr.write(
    "status.test.ts: skipped, /usr/sbin/sshd is missing (apt-get install openssh-server)\n",
  );

const ODD = `the "odd" one's host`;
const NAMES = ["fresh", "old", "hand", "manual", "pending", "failing", "gone", "broken", ODD] as const;
// "broken" no longer evaluates from nixpkgs 24.11-b on.
const HOSTS: HostSpec[] = NAMES.map((name) =>
  name === "broken" ? { name, failFrom: "24.11-b", failKind: "eval" } : { name },
);

let world: World;
let fleet: SshdFleet;
/** Toplevels at the first (24.11-a) and the current (24.11-b) lock. */
let a: Record<string, string>;
let b: Record<string, string>;

interface MachineSpec {
  generations: string[];
  current: string;
  booted: string;
  failedUnits?: string[];
  state?: unknown;
}

async function makeMachine(dir: string, spec: MachineSpec, env: NodeJS.ProcessEnv) {
  const paths = {
    profile: join(dir, "profiles", "system"),
    "current-system": join(dir, "run", "current-system"),
    "booted-system": join(dir, "run", "booted-system"),
    "state-dir": join(dir, "state"),
    systemctl: join(dir, "bin", "systemctl"),
  };
  for (const d of ["profiles", "run", "state", "bin"]) await mkdir(join(dir, d), { recursive: true });
  const nix = await createNix({ run, env });
  for (const g of spec.generations) await addGeneration(nix, paths.profile, g);
  await symlink(spec.current, paths["current-system"]);
  await symlink(spec.booted, paths["booted-system"]);
  const units = join(dir, "failed-units");
  await writeFile(units, (spec.failedUnits ?? []).map((u) => `${u}\n`).join(""));
  // As `systemctl --failed --plain --no-legend` prints them.
  await writeFile(
    paths.systemctl,
    `#!/bin/sh\nwhile read -r unit; do echo "$unit loaded failed failed $unit"; done < '${units}'\n`,
  );
  await chmod(paths.systemctl, 0o755);
  if (spec.state !== undefined)
    await writeFile(join(paths["state-dir"], "state.json"), JSON.stringify(spec.state));
  return paths;
}

const toml = (value: string) => JSON.stringify(value);

/** A state file in which Ternix recorded switching to `storePath` as generation 1. */
const recorded = (storePath: string) => ({
  schemaVersion: 1,
  generations: [
    {
      profile: "/nix/var/nix/profiles/system",
      generation: 1,
      storePath,
      host: null,
      action: "switch",
      at: "2026-12-01T03:00:00Z",
      status: "known-good",
      checks: null,
    },
  ],
});

beforeAll(async () => {
  if (!available) return;
  await ensureBuiltCli();
  world = await createWorld({ hosts: HOSTS });
  a = await buildHosts(world, NAMES);
  await advanceNixpkgs(world, "24.11-b");
  await updateFleetLock(world, { commit: true });
  b = await buildHosts(
    world,
    NAMES.filter((n) => n !== "broken"),
  );
  fleet = await startSshdFleet(
    join(world.dir, "sshd"),
    NAMES.map((label) => ({ label })),
  );
  const at = (name: string) => ({ a: a[name] as string, b: b[name] as string });
  const specs: Record<(typeof NAMES)[number], MachineSpec> = {
    fresh: {
      generations: [at("fresh").a, at("fresh").b],
      current: at("fresh").b,
      booted: at("fresh").b,
      state: {
        schemaVersion: 1,
        generations: [],
        upgrade: {
          lastRun: { at: "2026-12-01T03:00:00Z", result: "upgraded", commit: "c".repeat(40), message: "ok" },
          lastSuccessAt: "2026-12-01T03:00:00Z",
          deployed: {
            commit: "c".repeat(40),
            storePath: at("fresh").b,
            generation: 2,
            at: "2026-12-01T03:00:00Z",
            checked: true,
          },
          quarantined: [{ commit: "d".repeat(40), at: "2026-11-30T03:00:00Z", reason: "checks failed" }],
          rebootPending: null,
        },
      },
    },
    // Still on the old lock's system, which Ternix activated: the flake moved on.
    old: {
      generations: [at("old").a],
      current: at("old").a,
      booted: at("old").a,
      state: recorded(at("old").a),
    },
    // Ternix activated generation 1; generation 2 (another system) was made around it.
    manual: {
      generations: [at("manual").a, at("fresh").a],
      current: at("fresh").a,
      booted: at("fresh").a,
      state: recorded(at("manual").a),
    },
    // Runs a system that is no generation of its profile (another host's, activated by hand).
    hand: { generations: [at("hand").a], current: at("fresh").a, booted: at("hand").a },
    // Switched to the new system, still booted into the old kernel.
    pending: {
      generations: [at("pending").a, at("pending").b],
      current: at("pending").b,
      booted: at("pending").a,
    },
    failing: {
      generations: [at("failing").b],
      current: at("failing").b,
      booted: at("failing").b,
      failedUnits: ["nginx.service", "backup.timer"],
    },
    gone: { generations: [at("gone").b], current: at("gone").b, booted: at("gone").b },
    broken: { generations: [at("broken").a], current: at("broken").a, booted: at("broken").a },
    [ODD]: { generations: [at(ODD).b], current: at(ODD).b, booted: at(ODD).b },
  };
  // The known_hosts and key come from --ssh-option on each run (see `status` below), not the config.
  const sections: string[] = ["[deploy]", "connect-timeout = 5", ""];
  for (const [i, name] of NAMES.entries()) {
    const paths = await makeMachine(join(world.dir, "machines", String(i)), specs[name], world.env);
    const host = fleet.hosts[i];
    if (!host) throw new Error("no sshd for " + name);
    sections.push(
      `[deploy.hosts.${toml(name)}]`,
      `target = ${toml(host.destination)}`,
      `port = ${host.port}`,
      `tags = [${toml(name === "old" || name === "pending" ? "lagging" : "other")}]`,
      `[deploy.hosts.${toml(name)}.system]`,
      ...Object.entries(paths).map(([k, v]) => `${k} = ${toml(v)}`),
      "",
    );
  }
  await writeFile(join(world.fleetDir, "ternix.toml"), sections.join("\n"));
  await fleet.hosts[NAMES.indexOf("gone")]?.stop();
});

afterAll(async () => {
  await fleet?.stop();
  await world?.cleanup();
});

const status = (args: string[], options: { sshOptions?: boolean } = {}): Promise<CliResult> =>
  runCli(
    [
      "status",
      ...(options.sshOptions === false ? [] : fleet.sshOptions.flatMap((o) => ["--ssh-option", o])),
      ...args,
    ],
    { cwd: world.fleetDir, env: world.env },
  );

interface HostJson {
  host: string;
  state: string;
  findings: { state: string; reason: string }[];
  expected: string | null;
  running: { system: string; generation: number | null; failedUnits: string[] | null } | null;
  agent: { deployed: { commit: string } | null; quarantined: unknown[] } | null;
  diff: { summary: unknown; packages: { name: string; kind: string }[] } | null;
}

describe.skipIf(!available)("ternix status over real sshd", () => {
  let json: { schemaVersion: number; kind: string; exitCode: number; hosts: HostJson[] };

  it("puts every host in its state, in one run (--json)", async () => {
    const r = await status(["--json"]);
    expect(r.exitCode, r.stderr).toBe(1);
    json = JSON.parse(r.stdout) as typeof json;
    expect(json.schemaVersion).toBe(1);
    expect(json.kind).toBe("status");
    expect(json.exitCode).toBe(1);
    const states = Object.fromEntries(json.hosts.map((h) => [h.host, h.state]));
    expect(states).toEqual({
      fresh: "up-to-date",
      old: "behind",
      hand: "drifted",
      manual: "drifted",
      pending: "reboot-pending",
      failing: "checks-failing",
      gone: "unreachable",
      broken: "eval-failed",
      [ODD]: "up-to-date",
    });
    const host = (name: string) => json.hosts.find((h) => h.host === name) as HostJson;
    expect(host("fresh").running?.generation).toBe(2);
    expect(host("fresh").agent?.deployed?.commit).toBe("c".repeat(40));
    expect(host("fresh").agent?.quarantined).toHaveLength(1);
    expect(host("failing").running?.failedUnits).toEqual(["backup.timer", "nginx.service"]);
    expect(host("gone").findings[0]?.reason).toMatch(/^ssh failed: /);
    expect(host("broken").findings[0]?.reason).toMatch(
      /^the flake does not evaluate for this host: .*is set to fail/,
    );
    expect(host("broken").expected).toBeNull();
    expect(host("pending").findings[0]?.reason).toMatch(/kernel/);
    expect(host("hand").findings[0]?.reason).toMatch(/no generation of the system profile/);
    expect(host("manual").findings[0]?.reason).toMatch(
      /generation 2 is running, and Ternix never activated it/,
    );
    // Both systems are in this store: the package diff of what activating the flake changes.
    expect(host("old").expected).toBe(b["old"]);
    expect(host("old").running?.system).toBe(a["old"]);
    expect(host("old").diff?.packages).toContainEqual(
      expect.objectContaining({ name: "linux", kind: "upgraded" }),
    );
  });

  it("prints a summary table, then a section per host that is not up to date", async () => {
    const r = await status([]);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = r.stdout;
    expect(out.split("\n")[0]).toBe(
      "7 of 9 hosts need attention: 1 unreachable, 1 checks-failing, 1 eval-failed, 2 drifted, 1 behind, 1 reboot-pending.",
    );
    expect(out).toMatch(/^host\s+state\s+generation\s+failed units\s+\/nix free\s+agent$/m);
    expect(out).toMatch(/^the "odd" one's host\s+up-to-date\s+1 \(/m);
    expect(out).toMatch(/^fresh\s+up-to-date\s+2 \(.*upgraded @ccccccc$/m);
    expect(out).toContain("── old (behind) ──");
    expect(out).toMatch(/Changes: {2}.*upgraded/);
    expect(out).toContain("── failing (checks-failing) ──");
    expect(out).toContain("checks-failing: 2 failed units: backup.timer, nginx.service");
    expect(out).not.toContain("── fresh");
    expect(out).not.toContain(`── ${ODD}`);
  });

  it("exits 0 when the selected hosts are up to date, 3 when some are behind or pending a reboot", async () => {
    const ok = await status(["fresh", ODD]);
    expect(ok.exitCode, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout.split("\n")[0]).toBe("All 2 hosts are up to date.");
    const lagging = await status(["@lagging"]);
    expect(lagging.exitCode, lagging.stderr).toBe(3);
    expect(lagging.stdout).toMatch(/^old\s+behind/m);
    expect(lagging.stdout).toMatch(/^pending\s+reboot-pending/m);
    expect(lagging.stdout).not.toMatch(/^fresh/m);
  });

  it("compares with the flake at --ref: the old lock's hosts are up to date there", async () => {
    const head = (await git(world, world.fleetDir, ["rev-parse", "HEAD~1"])).trim();
    const r = await status(["--ref", "HEAD~1", "--json", "old", "fresh"]);
    expect(r.exitCode, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout) as { revision: string; hosts: HostJson[] };
    expect(doc.revision).toBe(head);
    expect(Object.fromEntries(doc.hosts.map((h) => [h.host, h.state]))).toEqual({
      old: "up-to-date",
      fresh: "behind",
    });
  });

  it("checks host keys: without the test's known_hosts (--ssh-option) every host is refused, no prompt", async () => {
    const r = await status(["--json", "fresh", ODD], { sshOptions: false });
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { hosts: HostJson[] };
    for (const h of doc.hosts) {
      expect(h.state).toBe("unreachable");
      expect(h.findings[0]?.reason).toMatch(
        /^ssh failed: .*(Host key verification failed|Permission denied)/,
      );
    }
  });

  it("says why a host whose name is no ssh destination and has no target is unreachable", async () => {
    const config = join(world.fleetDir, "ternix.toml");
    const text = await readFile(config, "utf8");
    const section = `[deploy.hosts.${toml(ODD)}]\n`;
    const target = `target = ${toml(fleet.hosts[NAMES.indexOf(ODD)]?.destination ?? "")}\n`;
    expect(text).toContain(section + target);
    await writeFile(config, text.replace(section + target, section));
    try {
      const r = await status(["--json", ODD]);
      expect(r.exitCode, r.stderr).toBe(1);
      const doc = JSON.parse(r.stdout) as { hosts: HostJson[] };
      expect(doc.hosts[0]?.state).toBe("unreachable");
      expect(doc.hosts[0]?.findings[0]?.reason).toMatch(/is not an ssh destination/);
    } finally {
      await writeFile(config, text);
    }
  });

  it("a bad --ssh-option is a usage error before any connection", async () => {
    const r = await status(["--ssh-option", "BatchMode=no"]);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toMatch(/BatchMode cannot be changed/);
  });

  it("prints Prometheus metrics that promtool accepts (--prom)", async () => {
    const r = await status(["--prom"]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      `ternix_status_host_state{host="the \\"odd\\" one's host",state="up-to-date"} 1`,
    );
    expect(r.stdout).toContain(`ternix_status_up{host="gone"} 0`);
    expect(r.stdout).toContain(`ternix_status_failed_units{host="failing"} 2`);
    expect(r.stdout).toContain(`ternix_status_reboot_pending{host="pending"} 1`);
    const check = await run("promtool", ["check", "metrics"], { input: r.stdout });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
  });
});
