/**
 * `ternix plan` end to end: the built binary, real Nix (daemon) and git, on the fixture fleet.
 * Each test builds its own small world; store paths are shared between worlds, so only the
 * first build of a revision costs real time.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { buildToplevels, evalToplevelsReusing } from "../../src/app/fleet/hosts.js";
import { createNix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import { expectGolden } from "../helpers/golden.js";
import {
  advanceHardware,
  buildHosts,
  advanceHome,
  advanceNixpkgs,
  createWorld,
  DEFAULT_HOSTS,
  type HostSpec,
  type World,
} from "../helpers/world.js";

const BIN = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ternix(
  world: World,
  args: string[],
  options: {
    onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: world.fleetDir,
      env: { ...world.env, NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, (s) => child.kill(s));
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const worlds: World[] = [];
async function world(hosts?: readonly HostSpec[]): Promise<World> {
  const w = await createWorld(hosts ? { hosts } : {});
  worlds.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
});

const lockOf = (w: World) => readFile(join(w.fleetDir, "flake.lock"), "utf8");

interface PlanJson {
  schemaVersion: number;
  kind: string;
  outcome: string;
  exitCode: number;
  lockState: string;
  lock: { changed: boolean; inputs: { id: string; status: string }[] };
  hosts: {
    host: string;
    status: string;
    before: { ok: boolean; toplevel?: string; error?: string; logTail?: string | null };
    after: { ok: boolean; toplevel?: string; error?: string; logTail?: string | null };
    diff: { packages: { name: string; kind: string }[]; risks: { id: string; severity: string }[] } | null;
  }[];
  skippedHosts: string[];
}

function parsePlan(stdout: string): PlanJson {
  const plan = JSON.parse(stdout) as PlanJson;
  expect(plan).toMatchObject({ schemaVersion: 1, kind: "plan" });
  return plan;
}

/** Store hashes, git revisions, dates and temp dirs vary between runs; the report's shape must not. */
function normalise(text: string, w: World): string {
  return (
    text
      .replaceAll(w.dir, "<world>")
      .replace(/\/nix\/store\/[0-9a-z]{32}-/g, "/nix/store/<hash>-")
      .replace(/\b[0-9a-f]{7,40}\b/g, "<rev>")
      // What is left to build depends on what earlier tests built into the shared store.
      .replace(/^Build cost: .*$/gm, "Build cost: <depends on the store>")
  );
}

describe("ternix plan", () => {
  it("exits 2 without building when the lock does not change", async () => {
    const w = await world();
    const before = await lockOf(w);
    const r = await ternix(w, ["plan", "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(parsePlan(r.stdout)).toMatchObject({ outcome: "lock-unchanged", exitCode: 2, hosts: [] });
    expect(r.stderr).not.toContain("Building");
    expect(await lockOf(w)).toBe(before);
  });

  it("exits 0 with per-host diffs and risk flags, and leaves the updated lock", async () => {
    const w = await world();
    const before = await lockOf(w);
    await advanceNixpkgs(w, "24.11-b");
    const r = await ternix(w, ["plan", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = parsePlan(r.stdout);
    expect(plan.outcome).toBe("changed");
    expect(plan.lockState).toBe("updated");
    expect(plan.skippedHosts).toEqual(["build-minimal"]);
    expect(plan.hosts.map((h) => [h.host, h.status])).toEqual([
      ["db", "changed"],
      ["gpu-ws", "changed"],
      ["web", "changed"],
    ]);
    const gpu = plan.hosts.find((h) => h.host === "gpu-ws");
    const kinds = Object.fromEntries(gpu?.diff?.packages.map((p) => [p.name, p.kind]) ?? []);
    expect(kinds).toMatchObject({
      linux: "upgraded",
      "nvidia-x11": "upgraded",
      nix: "upgraded",
      curl: "downgraded",
    });
    expect(gpu?.diff?.risks.map((x) => x.id)).toEqual(expect.arrayContaining(["kernel", "driver"]));
    expect(plan.lock.inputs.filter((i) => i.status === "changed").map((i) => i.id)).toEqual(["nixpkgs"]);
    expect(await lockOf(w)).not.toBe(before);
    // Progress went to stderr, the report alone to stdout.
    expect(r.stderr).toContain("[after] gpu-ws: built");
  });

  it("renders text and Markdown reports (golden)", async () => {
    const w = await world();
    await advanceNixpkgs(w, "24.11-b");
    const text = await ternix(w, ["plan", "--restore-lock"]);
    expect(text.code, text.stderr).toBe(0);
    await expectGolden("plan/24.11-b.txt", normalise(text.stdout, w));
    const md = await ternix(w, ["plan", "--restore-lock", "--format", "markdown"]);
    expect(md.code, md.stderr).toBe(0);
    await expectGolden("plan/24.11-b.md", normalise(md.stdout, w));
    expect(md.stdout).toContain("<!-- ternix:summary-end -->");
    expect(md.stdout).toMatch(/<details><summary><b>gpu-ws<\/b>/);
  });

  it("--restore-lock puts the original lock back", async () => {
    const w = await world();
    const before = await lockOf(w);
    await advanceNixpkgs(w, "24.11-b");
    const r = await ternix(w, ["plan", "--restore-lock", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(parsePlan(r.stdout).lockState).toBe("restored");
    expect(await lockOf(w)).toBe(before);
  });

  it("exits 3 when the lock changes but no host does", async () => {
    const w = await world();
    await advanceHardware(w);
    const r = await ternix(w, ["plan", "--json"]);
    expect(r.code, r.stderr).toBe(3);
    const plan = parsePlan(r.stdout);
    expect(plan.outcome).toBe("no-host-changed");
    expect(plan.hosts.every((h) => h.status === "unchanged")).toBe(true);
    expect(plan.lock.inputs.filter((i) => i.status === "changed").map((i) => i.id)).toEqual(["hardware"]);
  });

  it("blames each of several broken hosts on its own derivation and log (Nix 2.8 reports only the first)", async () => {
    const w = await world([
      { name: "alpha", packages: ["curl"], failFrom: "24.11-b" },
      { name: "beta", packages: ["curl"], failFrom: "24.11-b" },
      { name: "gamma", packages: ["curl"], failFrom: "24.11-b" },
    ]);
    await advanceNixpkgs(w, "24.11-b");
    const r = await ternix(w, ["plan", "--json"]);
    expect(r.code, r.stderr).toBe(4);
    const plan = parsePlan(r.stdout);
    for (const name of ["alpha", "beta", "gamma"]) {
      const host = plan.hosts.find((h) => h.host === name);
      expect(host, name).toMatchObject({ status: "broken", after: { ok: false } });
      expect(host?.after.error, name).toMatch(new RegExp(`^nixos-system-${name}-.*\\.drv failed to build$`));
      expect(host?.after.logTail, name).toContain(`host '${name}' is set to fail`);
      for (const other of ["alpha", "beta", "gamma"].filter((o) => o !== name)) {
        expect(host?.after.logTail, name).not.toContain(`host '${other}'`);
        expect(host?.after.error, name).not.toContain(`nixos-system-${other}-`);
      }
    }
  });

  it("exits 4 when the update breaks a host, reports it first with its log, and keeps going", async () => {
    const hosts: HostSpec[] = [
      ...DEFAULT_HOSTS.filter((h) => h.name !== "build-minimal"),
      { name: "fragile", packages: ["curl"], failFrom: "24.11-b" },
      { name: "already-broken", failFrom: "24.11-a", failKind: "eval" },
    ];
    const w = await world(hosts);
    await advanceNixpkgs(w, "24.11-b");
    const r = await ternix(w, ["plan", "--json"]);
    expect(r.code, r.stderr).toBe(4);
    const plan = parsePlan(r.stdout);
    expect(plan.outcome).toBe("host-broken");
    expect(plan.hosts[0]).toMatchObject({
      host: "fragile",
      status: "broken",
      before: { ok: true },
      after: { ok: false },
    });
    expect(plan.hosts[0]?.after.logTail).toContain("is set to fail from nixpkgs revision 24.11-b");
    const broken = plan.hosts.find((h) => h.host === "already-broken");
    expect(broken).toMatchObject({ status: "failing", before: { ok: false }, after: { ok: false } });
    expect(broken?.before.error).toContain("24.11-a");
    expect(plan.hosts.filter((h) => h.status === "changed").map((h) => h.host)).toEqual([
      "db",
      "gpu-ws",
      "web",
    ]);

    const text = await ternix(w, ["plan", "--skip-update"]);
    expect(text.code).toBe(4);
    expect(text.stdout.indexOf("fragile")).toBeLessThan(text.stdout.indexOf("gpu-ws"));
    expect(text.stdout).toContain("BROKEN by the update");
  });

  it("--skip-update compares HEAD's lock with the working tree's", async () => {
    const w = await world();
    await advanceNixpkgs(w, "24.11-b");
    const first = await ternix(w, ["update", "nixpkgs"]);
    expect(first.code, first.stderr).toBe(0);
    const updated = await lockOf(w);
    const r = await ternix(w, ["plan", "--skip-update", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = parsePlan(r.stdout);
    expect(plan.lockState).toBe("untouched");
    expect(plan.hosts.map((h) => h.status)).toEqual(["changed", "changed", "changed"]);
    expect(await lockOf(w)).toBe(updated);
  });

  it("--inputs updates only the named inputs", async () => {
    const w = await world();
    await advanceNixpkgs(w, "24.11-b");
    await advanceHome(w);
    const r = await ternix(w, ["plan", "--inputs", "home", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = parsePlan(r.stdout);
    expect(plan.lock.inputs.filter((i) => i.status === "changed").map((i) => i.id)).toEqual(["home"]);
    // Only gpu-ws imports home-manager.
    expect(plan.hosts.map((h) => [h.host, h.status])).toEqual([
      ["gpu-ws", "changed"],
      ["db", "unchanged"],
      ["web", "unchanged"],
    ]);
    const unknown = await ternix(w, ["plan", "--inputs", "nope"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/unknown input: nope\n.*hint: Available inputs: hardware, home, nixpkgs/);
  });

  it("--hosts and --exclude choose the hosts", async () => {
    const w = await world();
    await advanceNixpkgs(w, "24.11-b");
    const only = await ternix(w, ["plan", "--restore-lock", "--json", "--hosts", "web", "build-minimal"]);
    expect(only.code, only.stderr).toBe(0);
    expect(
      parsePlan(only.stdout)
        .hosts.map((h) => h.host)
        .sort(),
    ).toEqual(["build-minimal", "web"]);
    const excluded = await ternix(w, ["plan", "--restore-lock", "--json", "--exclude", "^(db|gpu)"]);
    expect(excluded.code, excluded.stderr).toBe(0);
    const plan = parsePlan(excluded.stdout);
    expect(plan.hosts.map((h) => h.host).sort()).toEqual(["build-minimal", "web"]);
    expect(plan.skippedHosts.sort()).toEqual(["db", "gpu-ws"]);
    const unknown = await ternix(w, ["plan", "--hosts", "nope"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/error: unknown host: "nope"\nhint: Hosts in nixosConfigurations: /);
    const lockBefore = await lockOf(w);
    const badPattern = await ternix(w, ["plan", "--exclude", "("]);
    expect(badPattern.code).toBe(64);
    expect(badPattern.stderr).toMatch(
      /^error: the exclude pattern "\(" is not a valid regular expression.*\nhint: \S.*\n$/,
    );
    expect(await lockOf(w)).toBe(lockBefore);
  });

  it("handles host names with spaces and quotes, in reports and result links", async () => {
    const odd = 'web "prod" 1';
    const w = await world([
      { name: odd, packages: ["curl"] },
      { name: "db", zfs: true },
    ]);
    await advanceNixpkgs(w, "24.11-b");
    const keep = join(w.dir, "results");
    const r = await ternix(w, ["plan", "--json", "--keep-results", keep]);
    expect(r.code, r.stderr).toBe(0);
    const plan = parsePlan(r.stdout);
    expect(plan.hosts.find((h) => h.host === odd)?.status).toBe("changed");
    const links = (await readdir(keep)).sort();
    expect(links).toEqual([
      "db.after",
      "db.before",
      "web%20%22prod%22%201.after",
      "web%20%22prod%22%201.before",
    ]);
    expect(await readlink(join(keep, "web%20%22prod%22%201.after"))).toBe(
      plan.hosts.find((h) => h.host === odd)?.after.toplevel,
    );
    const md = await ternix(w, ["plan", "--skip-update", "--format", "markdown"]);
    expect(md.stdout).toContain("<b>web &quot;prod&quot; 1</b>");
  });

  it("restores the lock and removes temporary roots on SIGINT", async () => {
    const w = await world([{ name: "slow", packages: ["curl"], evalCost: 40_000_000 }]);
    const before = await lockOf(w);
    await advanceNixpkgs(w, "24.11-b");
    // A private TMPDIR: other test files run plans at the same time.
    const tmp = join(w.dir, "tmp");
    await mkdir(tmp);
    let sent = false;
    const r = await ternix(w, ["plan"], {
      env: { TMPDIR: tmp },
      onStderr: (text, kill) => {
        if (!sent && text.includes("evaluating")) {
          sent = true;
          kill("SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain("interrupted by SIGINT");
    expect(await lockOf(w)).toBe(before);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("reuses existing systems on the before side without writing their derivations", async () => {
    const w = await createWorld({
      salt: randomUUID(),
      hosts: [{ name: "web", packages: ["curl"] }, { name: "db" }],
    });
    worlds.push(w);
    const nix = await createNix({ run, env: w.env });
    const first = await evalToplevelsReusing(nix, w.fleetDir, ["db", "web"], { jobs: 2 });
    // Nothing was built yet: a full evaluation, so the .drv files exist and nothing is "prebuilt".
    for (const e of first.values()) {
      expect(e.ok && e.prebuilt).toBeFalsy();
      if (e.ok) await expect(readFile(e.drvPath)).resolves.toBeDefined();
    }
    await buildHosts(w, ["db", "web"]);
    const second = await evalToplevelsReusing(nix, w.fleetDir, ["db", "web"], { jobs: 2 });
    expect([...second.values()].map((e) => e.ok && e.prebuilt)).toEqual([true, true]);
    const roots = join(w.dir, "roots");
    const built = await buildToplevels(nix, second, { rootDir: roots });
    expect([...built.values()].map((b) => b.ok && b.toplevel)).toEqual(
      [...second.values()].map((e) => e.ok && e.outPath),
    );
  });
});
