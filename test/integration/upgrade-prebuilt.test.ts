/**
 * A binary cache for the hosts, end to end through the built CLI: `ternix plan --push-to
 * file://CACHE --sign-key KEY --manifest ternix-hosts.json` in the fleet (the machine's Nix store,
 * as CI), the manifest committed with the lock and pushed, then `ternix upgrade --prebuilt` on a
 * "host" whose Nix store is a chroot store (`local?root=DIR`, empty at first) with that cache as its
 * only substituter: the system is substituted (signatures checked by Nix), not evaluated. A stale
 * manifest, and a cache signed with a key the host does not trust, fall back to evaluating and
 * building, and say why. The tests run in order and build on each other.
 */
import { access, mkdir, readFile, readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER, REPO, startFakeGitHub, type FakeForge } from "../../src/app/fleet/pr.test-support.js";
import { parseManifest } from "../../src/app/manifest.js";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, expectCleanError, runCli, type CliResult } from "../helpers/cli.js";
import { advanceNixpkgs, git } from "../helpers/world.js";
import { createMachine, type Machine } from "./system-support.js";

let m: Machine;
let remote: string;
let configFile: string;
let cache: string;
let forge: FakeForge | undefined;
const keys = { signing: "", trusted: "", otherTrusted: "" };
const env = () => ({ ...m.env, TZ: "UTC", NO_COLOR: "1" });

beforeAll(async () => {
  await ensureBuiltCli();
  m = await createMachine([{ name: "alpha", packages: ["curl"] }, { name: "beta" }]);
  remote = join(m.world.dir, "remote.git");
  await git(m.world, m.world.dir, ["clone", "--quiet", "--bare", m.world.fleetDir, remote]);
  cache = join(m.world.dir, "cache");
  const keyDir = join(m.world.dir, "keys");
  await mkdir(keyDir);
  for (const name of ["ci", "other"]) {
    const r = await run(
      "nix-store",
      [
        "--generate-binary-cache-key",
        `ternix-${name}-1`,
        join(keyDir, `${name}.sec`),
        join(keyDir, `${name}.pub`),
      ],
      { env: m.world.env },
    );
    expect(r.exitCode, r.stderr).toBe(0);
  }
  keys.signing = join(keyDir, "ci.sec");
  keys.trusted = (await readFile(join(keyDir, "ci.pub"), "utf8")).trim();
  keys.otherTrusted = (await readFile(join(keyDir, "other.pub"), "utf8")).trim();
  configFile = join(m.world.dir, "host-ternix.toml");
  const p = m.paths;
  await writeFile(
    configFile,
    [
      "[upgrade]",
      `repo = ${JSON.stringify(remote)}`,
      'host = "alpha"',
      "prebuilt = true",
      "",
      "[system]",
      `profile = ${JSON.stringify(p.profile)}`,
      `current-system = ${JSON.stringify(p.currentSystem)}`,
      `booted-system = ${JSON.stringify(p.bootedSystem)}`,
      `state-dir = ${JSON.stringify(p.stateDir)}`,
      `systemctl = ${JSON.stringify(p.systemctl)}`,
      'systemd-run = ""',
      "",
    ].join("\n"),
  );
}, 120_000);
afterAll(async () => {
  await forge?.close();
  await m?.world.cleanup();
});

/**
 * `ternix upgrade` on the host: its store is the chroot store `root`, the cache its only
 * substituter, `trustedKey` its only trusted key. The fixture builders run /bin/sh from the
 * machine, which a chroot store's sandbox must be given (a fallback build needs it).
 */
function upgradeOnHost(root: string, trustedKey: string, args: string[] = []): Promise<CliResult> {
  const nixOptions = [
    ["store", `local?root=${root}`],
    ["substituters", `file://${cache}`],
    ["trusted-public-keys", trustedKey],
    ["extra-sandbox-paths", "/bin /usr /lib /lib64"],
  ].flatMap(([name, value]) => ["--nix-option", `${name}=${value}`]);
  return runCli([...nixOptions, "upgrade", "--config", configFile, ...args], {
    cwd: m.world.dir,
    env: env(),
  });
}

/** Whether the chroot store at `root` holds `path` (valid in its database). */
async function inHostStore(root: string, path: string): Promise<boolean> {
  const r = await run("nix-store", ["--store", `local?root=${root}`, "--check-validity", path], {
    env: m.world.env,
  });
  return r.exitCode === 0;
}

async function push(message: string): Promise<string> {
  await git(m.world, m.world.fleetDir, ["add", "-A"]);
  await git(m.world, m.world.fleetDir, ["commit", "--quiet", "--allow-empty", "-m", message]);
  await git(m.world, m.world.fleetDir, ["push", "--quiet", remote, "HEAD:refs/heads/main"]);
  return (await git(m.world, m.world.fleetDir, ["rev-parse", "HEAD"])).trim();
}

let alphaToplevel = "";

describe("plan --push-to --sign-key --manifest, then upgrade --prebuilt", () => {
  it("usage errors come before any work: no systems to push or record with --no-build, a key without --push-to, a key file that is not there", async () => {
    const cli = (args: string[]) => runCli(args, { cwd: m.world.fleetDir, env: env() });
    expectCleanError(
      await cli(["plan", "--no-build", "--push-to", `file://${cache}`]),
      64,
      /--push-to needs built systems; --no-build builds nothing/,
    );
    expectCleanError(
      await cli(["plan", "--no-build", "--manifest", "m.json"]),
      64,
      /--manifest needs built systems/,
    );
    expectCleanError(
      await cli(["plan", "--sign-key", keys.signing]),
      64,
      /--sign-key signs what --push-to copies/,
    );
    const missing = join(m.world.dir, "no-such.sec");
    expectCleanError(
      await cli(["plan", "--push-to", `file://${cache}`, "--sign-key", missing]),
      64,
      /--sign-key: .*no-such\.sec is not a readable file/,
    );
    // A key passed instead of its file is never echoed.
    const secret = (await readFile(keys.signing, "utf8")).trim();
    const leaked = await cli(["pr", "--push-to", `file://${cache}`, "--sign-key", secret]);
    expectCleanError(
      leaked,
      64,
      /--sign-key takes the path of a key file; the value given is not one \(not shown/,
    );
    expect(leaked.stderr).not.toContain(secret.slice(secret.indexOf(":") + 1, secret.indexOf(":") + 21));
    expectCleanError(
      await cli(["pr", "--report", "report.json", "--manifest"]),
      64,
      /--manifest needs the systems pr builds itself; --report reuses a plan/,
    );
    expect(await git(m.world, m.world.fleetDir, ["status", "--porcelain"])).toBe("");
  });

  it("plan copies every built after-system, signed, to the cache and writes the manifest", async () => {
    await advanceNixpkgs(m.world, "24.11-b");
    const manifestFile = join(m.world.fleetDir, "ternix-hosts.json");
    const r = await runCli(
      [
        "plan",
        "--push-to",
        `file://${cache}`,
        "--sign-key",
        keys.signing,
        "--manifest",
        manifestFile,
        "--json",
      ],
      { cwd: m.world.fleetDir, env: env() },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Copied 2 systems to file://${cache} (signed).`);
    // The key's path may be named; its content never.
    const secret = (await readFile(keys.signing, "utf8")).trim();
    expect(r.stdout + r.stderr).not.toContain(secret.split(":")[1]?.slice(0, 20));

    const manifest = parseManifest(await readFile(manifestFile, "utf8"), manifestFile);
    expect(Object.keys(manifest.hosts).sort()).toEqual(["alpha", "beta"]);
    alphaToplevel = manifest.hosts["alpha"]?.toplevel ?? "";
    expect(alphaToplevel).toMatch(/-nixos-system-alpha-/);
    expect(manifest.source).toMatchObject({
      method: "git-tree-without-manifest",
      manifestPath: "ternix-hosts.json",
    });

    // The cache holds the systems, signed by the CI key.
    const hash = /\/nix\/store\/([a-z0-9]{32})-/.exec(alphaToplevel)?.[1] ?? "";
    const narinfo = await readFile(join(cache, `${hash}.narinfo`), "utf8");
    expect(narinfo).toMatch(/^Sig: ternix-ci-1:/m);
    expect((await readdir(cache)).filter((f) => f.endsWith(".narinfo")).length).toBeGreaterThan(5);

    // The manifest is of the planned tree: the updated lock committed with it gives the same tree.
    await push("flake.lock: update nixpkgs, with the host manifest");
  }, 600_000);

  it("upgrade --prebuilt substitutes alpha's system from the cache into an empty store, evaluating nothing", async () => {
    const root = join(m.world.dir, "host-store-1");
    expect(await inHostStore(root, alphaToplevel)).toBe(false);
    const r = await upgradeOnHost(root, keys.trusted, ["--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`upgrade: prebuilt: substituted ${alphaToplevel}`);
    expect(r.stderr).not.toContain("Evaluating alpha");
    expect(await inHostStore(root, alphaToplevel)).toBe(true);
    expect(await readlink(m.paths.currentSystem)).toBe(alphaToplevel);
    const report = JSON.parse(r.stdout) as { result: string; storePath: string; prebuilt: unknown };
    expect(report).toMatchObject({ result: "upgraded", storePath: alphaToplevel, prebuilt: { used: true } });
  }, 300_000);

  it("a change besides the manifest makes it stale: says why, evaluates and builds as usual", async () => {
    await writeFile(join(m.world.fleetDir, "README.md"), "Hosts of the test fleet.\n");
    const sha = await push("README");
    const r = await upgradeOnHost(join(m.world.dir, "host-store-1"), keys.trusted, ["--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /upgrade: prebuilt: not used: ternix-hosts\.json is stale: it was made for source tree [0-9a-f]{12}, but [0-9a-f]{12} without it is [0-9a-f]{12} .*; evaluating and building instead/,
    );
    expect(r.stderr).toContain(`built alpha at ${sha.slice(0, 12)}: ${alphaToplevel}`);
    const report = JSON.parse(r.stdout) as { result: string; prebuilt: { used: boolean; reason: string } };
    expect(report.result).toBe("up_to_date");
    expect(report.prebuilt.used).toBe(false);
    expect(report.prebuilt.reason).toContain("is stale");
  }, 300_000);

  it("the same files in another commit (a revert) match again; a cache signed by an untrusted key falls back", async () => {
    await git(m.world, m.world.fleetDir, ["revert", "--no-edit", "HEAD"]);
    await git(m.world, m.world.fleetDir, ["push", "--quiet", remote, "HEAD:refs/heads/main"]);
    // A new host whose Nix trusts another key: the cache's signatures are refused by Nix.
    const root = join(m.world.dir, "host-store-2");
    const r = await upgradeOnHost(root, keys.otherTrusted, ["--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `upgrade: prebuilt: not used: ${alphaToplevel} cannot be substituted: the substitute in file://${cache} is not signed by any key in trusted-public-keys; evaluating and building instead`,
    );
    expect(r.stderr).not.toContain("is stale");
    // Built here instead, to the same system.
    expect(await inHostStore(root, alphaToplevel)).toBe(true);
    const report = JSON.parse(r.stdout) as { result: string; prebuilt: { used: boolean } };
    expect(report).toMatchObject({ result: "up_to_date", prebuilt: { used: false } });
    await access(m.paths.currentSystem);
  }, 600_000);

  it("pr --manifest --push-to commits ternix-hosts.json with the lock; after a merge commit the host substitutes it", async () => {
    forge = await startFakeGitHub();
    await git(m.world, m.world.fleetDir, ["remote", "add", "origin", remote]);
    await advanceNixpkgs(m.world, "24.11-c");
    const prEnv = {
      ...env(),
      CI: "",
      GITHUB_ACTIONS: "",
      GITHUB_TOKEN: "",
      TERNIX_FORGE_TOKEN: "ghs_prebuiltTOKEN0123456789",
    };
    const r = await runCli(
      [
        "pr",
        ...["--forge", "github", "--api-url", forge.apiUrl, "--repository", `${OWNER}/${REPO}`],
        ...["--manifest", "--push-to", `file://${cache}`, "--sign-key", keys.signing],
      ],
      { cwd: m.world.fleetDir, env: prEnv },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("ternix-hosts.json: 2 host(s), committed with the lock.");
    const inRemote = (args: string[]) => git(m.world, m.world.dir, [`--git-dir=${remote}`, ...args]);
    expect(await inRemote(["diff", "--name-only", "main..ternix/flake-update"])).toBe(
      "flake.lock\nternix-hosts.json\n",
    );
    const manifest = parseManifest(
      await inRemote(["show", "ternix/flake-update:ternix-hosts.json"]),
      "ternix-hosts.json",
    );
    const next = manifest.hosts["alpha"]?.toplevel ?? "";
    expect(next).not.toBe(alphaToplevel);

    // Merged with a merge commit: another commit, the same files.
    await git(m.world, m.world.fleetDir, ["fetch", "--quiet", "origin"]);
    await git(m.world, m.world.fleetDir, [
      "merge",
      "--quiet",
      "--no-ff",
      "-m",
      "Merge the update",
      "origin/ternix/flake-update",
    ]);
    await git(m.world, m.world.fleetDir, ["push", "--quiet", remote, "HEAD:refs/heads/main"]);
    const root = join(m.world.dir, "host-store-1");
    const u = await upgradeOnHost(root, keys.trusted, ["--json"]);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stderr).toContain(`upgrade: prebuilt: substituted ${next}`);
    expect(u.stderr).not.toContain("Evaluating alpha");
    expect(await readlink(m.paths.currentSystem)).toBe(next);
  }, 600_000);
});
