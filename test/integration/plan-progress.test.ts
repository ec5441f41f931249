/**
 * Live build progress end to end: `ternix plan` (the built binary, real Nix and git) on a salted
 * fixture fleet, so both sides really build. Without a terminal the progress is log lines on stderr;
 * stdout holds the report alone.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import { advanceNixpkgs, createWorld, type World } from "../helpers/world.js";

let w: World;
let plan: CliResult;
/** A log, not a terminal nor a CI service with groups. */
const PLAIN = { GITHUB_ACTIONS: "", FORGEJO_ACTIONS: "", GITEA_ACTIONS: "", CI: "", NO_COLOR: "1" };

beforeAll(async () => {
  await ensureBuiltCli();
  // A salt of this run: every package is new to the store, so each side builds for real.
  w = await createWorld({
    salt: randomUUID(),
    hosts: [
      { name: "web", packages: ["curl"] },
      { name: "db", packages: ["postgresql"] },
      // Its toplevel's builder fails with the update: failures still come out per host.
      { name: "bad", failFrom: "24.11-b" },
    ],
  });
  await advanceNixpkgs(w, "24.11-b");
  plan = await runCli(["plan", "--json", "--restore-lock"], { cwd: w.fleetDir, env: { ...w.env, ...PLAIN } });
}, 300_000);
afterAll(async () => {
  await w.cleanup();
});

interface PlanJson {
  schemaVersion: number;
  outcome: string;
  hosts: {
    host: string;
    status: string;
    cost: { toBuild: string[] } | null;
    after: { ok: boolean; error?: string; logTail?: string | null };
  }[];
}

describe("plan's build progress without a terminal", () => {
  it("stdout is the JSON report alone", () => {
    expect(plan.exitCode, plan.stderr).toBe(4);
    const json = JSON.parse(plan.stdout) as PlanJson;
    expect(json.schemaVersion).toBeGreaterThan(0);
    expect(json.hosts.map((h) => [h.host, h.status]).sort()).toEqual([
      ["bad", "broken"],
      ["db", "changed"],
      ["web", "changed"],
    ]);
    expect(plan.stdout).not.toMatch(/built \d+\/\d+/);
  });

  it("stderr has a progress line per host and side, ending with everything Nix planned built", () => {
    const json = JSON.parse(plan.stdout) as PlanJson;
    for (const host of ["web", "db"]) {
      for (const side of ["before", "after"]) {
        const lines = plan.stderr.split("\n").filter((l) => l.startsWith(`[${side}] ${host}: built `));
        expect(lines.length, `${side} ${host}:\n${plan.stderr}`).toBeGreaterThan(0);
        const last = /built (\d+)\/(\d+)/.exec(lines.at(-1) ?? "");
        expect(last?.[1]).toBe(last?.[2]);
        expect(Number(last?.[2])).toBeGreaterThan(0);
        // The after side's total is what the cost estimate (the same dry run) reports.
        if (side === "after") {
          const cost = json.hosts.find((h) => h.host === host)?.cost;
          expect(Number(last?.[2])).toBe(cost?.toBuild.length);
        }
      }
    }
  });

  it("a failed builder gets its line, and its host its error and log as without progress", () => {
    expect(plan.stderr).toMatch(/^\[after\] failed nixos-system-bad-\S+ \(bad\)$/m);
    expect(plan.stderr).toMatch(/^\[after\] bad: built \d+\/\d+, 1 failed$/m);
    const bad = (JSON.parse(plan.stdout) as PlanJson).hosts.find((h) => h.host === "bad");
    expect(bad?.after.error).toMatch(/^nixos-system-bad-.*\.drv failed to build$/);
    expect(bad?.after.logTail).toContain("host 'bad' is set to fail from nixpkgs revision 24.11-b");
    expect(bad?.after.logTail).not.toContain("@nix");
  });

  it("each finished derivation gets a line naming its hosts", () => {
    // glibc is every host's (built once for all), postgresql and each system one host's.
    const glibc = /^\[before\] built glibc-\S+ \((.*)\)$/m.exec(plan.stderr)?.[1];
    expect(glibc?.split(", ").sort()).toEqual(["bad", "db", "web"]);
    expect(plan.stderr).toMatch(/^\[after\] built postgresql-\S+ \(db\)$/m);
    expect(plan.stderr).toMatch(/^\[after\] built nixos-system-web-\S+ \(web\)$/m);
    // No raw structured log, and without --verbose no Nix log either.
    expect(plan.stderr).not.toContain("@nix");
    expect(plan.stderr).not.toMatch(/^building '/m);
  });
});
