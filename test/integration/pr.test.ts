/**
 * `ternix pr` end to end: the built binary, real Nix and git on the fixture fleet, a local bare
 * repository as `origin`, and a local HTTP server playing GitHub. Two plan runs in all: `ternix pr`
 * itself, then `ternix plan --format json` whose report a second `ternix pr --report` posts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER, REPO, startFakeGitHub, type FakeForge } from "../../src/app/fleet/pr.test-support.js";
import { ensureBuiltCli, runCli } from "../helpers/cli.js";
import { advanceNixpkgs, createWorld, git, type World } from "../helpers/world.js";

const TOKEN = "ghs_integrationTOKEN0123456789abcdef";
const BRANCH = "ternix/flake-update";

let world: World;
let forge: FakeForge;
let remote: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  await ensureBuiltCli();
  world = await createWorld();
  forge = await startFakeGitHub();
  remote = join(world.dir, "origin.git");
  await git(world, world.dir, ["clone", "--quiet", "--bare", world.fleetDir, remote]);
  await git(world, world.fleetDir, ["remote", "add", "origin", remote]);
  await git(world, world.fleetDir, ["fetch", "--quiet", "origin"]);
  await advanceNixpkgs(world, "24.11-b");
  env = {
    ...world.env,
    NO_COLOR: "1",
    CI: "",
    GITHUB_ACTIONS: "",
    FORGEJO_ACTIONS: "",
    GITEA_ACTIONS: "",
    GITHUB_TOKEN: "",
    TERNIX_FORGE_TOKEN: TOKEN,
  };
});

afterAll(async () => {
  await forge?.close();
  await world?.cleanup();
});

const forgeFlags = () => ["--forge", "github", "--api-url", forge.apiUrl, "--repository", `${OWNER}/${REPO}`];
const inRemote = async (args: string[]) => git(world, world.dir, [`--git-dir=${remote}`, ...args]);

describe("ternix pr on the fixture fleet", () => {
  it("pushes the update branch and opens a pull request whose body is the per-host diff", async () => {
    const lockBefore = await readFile(join(world.fleetDir, "flake.lock"), "utf8");
    const headBefore = await git(world, world.fleetDir, ["rev-parse", "HEAD"]);
    const reportDir = join(world.dir, "artifact");

    const result = await runCli(["pr", ...forgeFlags(), "--report-dir", reportDir], {
      cwd: world.fleetDir,
      env,
    });
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`https://github.com/${OWNER}/${REPO}/pull/1\n`);
    expect(result.stderr).toMatch(/Opened pull request #1: flake\.lock: update nixpkgs/);

    // The branch: one commit on main with the updated lock.
    expect((await inRemote(["rev-list", `main..${BRANCH}`])).trim().split("\n")).toHaveLength(1);
    expect(await inRemote(["diff", "--name-only", `main..${BRANCH}`])).toBe("flake.lock\n");
    const pushedLock = JSON.parse(await inRemote(["show", `${BRANCH}:flake.lock`])) as {
      nodes: { nixpkgs: { locked: { rev: string } } };
    };
    const nixpkgsHead = (await git(world, world.nixpkgsRepo, ["rev-parse", "nixos-24.11"])).trim();
    expect(pushedLock.nodes.nixpkgs.locked.rev).toBe(nixpkgsHead);
    expect(await inRemote(["log", "-1", "--format=%s", BRANCH])).toBe("flake.lock: update nixpkgs\n");

    // The user's checkout is as it was.
    expect(await readFile(join(world.fleetDir, "flake.lock"), "utf8")).toBe(lockBefore);
    expect(await git(world, world.fleetDir, ["rev-parse", "HEAD"])).toBe(headBefore);
    expect(await git(world, world.fleetDir, ["status", "--porcelain"])).toBe("");

    // The pull request: the plan's Markdown with every changed host's package diff.
    expect(forge.pulls).toHaveLength(1);
    const pull = forge.pulls[0];
    expect(pull).toMatchObject({ head: BRANCH, base: "main", draft: false });
    const body = pull?.body ?? "";
    expect(body).toContain("<!-- ternix:summary-end -->");
    for (const host of ["web", "db", "gpu-ws"]) expect(body).toMatch(new RegExp(`<b>${host}</b>: changed`));
    expect(body).toMatch(/linux.*6\.6\.63 → 6\.6\.64/);
    expect(body).toMatch(/curl.*8\.11\.0 → 8\.10\.1/);
    expect(body).toMatch(/nvidia-x11.*550\.135-6\.6\.63 → 550\.142-6\.6\.64/);
    expect(body).not.toContain("build-minimal</b>");
    for (const r of forge.requests) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);

    // The full report for the CI artifact.
    const md = await readFile(join(reportDir, "report.md"), "utf8");
    expect(md).toBe(body);
    const json = JSON.parse(await readFile(join(reportDir, "report.json"), "utf8")) as {
      kind: string;
      outcome: string;
    };
    expect(json).toMatchObject({ kind: "plan", outcome: "changed" });
    expect(await readFile(join(reportDir, "report.txt"), "utf8")).toMatch(/curl/);
  });

  it("refreshes the same pull request from a saved plan report", async () => {
    const tip = await inRemote(["rev-parse", BRANCH]);
    const firstBody = forge.pulls[0]?.body;
    const report = join(world.dir, "plan.json");
    const plan = await runCli(["plan", "--format", "json", "--output", report], { cwd: world.fleetDir, env });
    expect(plan.exitCode, plan.stderr).toBe(0);

    const result = await runCli(["pr", ...forgeFlags(), "--report", report], { cwd: world.fleetDir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/already holds this update; not pushing/);
    expect(result.stderr).toMatch(/Updated pull request #1/);
    expect(await inRemote(["rev-parse", BRANCH])).toBe(tip);
    expect(forge.pulls).toHaveLength(1);
    expect(forge.writes().map((r) => r.method)).toEqual(["POST", "PATCH"]);
    // Rendered from the JSON report, the body is the one the plan itself produced.
    expect(forge.pulls[0]?.body).toBe(firstBody);
  });

  it("plans against the base's lock when the working tree's lock is already updated", async () => {
    // The plan above left its update in the working tree, uncommitted: a fresh update changes
    // nothing there, but the pull request still changes main's lock, and says so.
    expect(await git(world, world.fleetDir, ["status", "--porcelain"])).toBe(" M flake.lock\n");
    const lockBefore = await readFile(join(world.fleetDir, "flake.lock"), "utf8");
    const tip = await inRemote(["rev-parse", BRANCH]);
    const firstBody = forge.pulls[0]?.body;

    const result = await runCli(["pr", ...forgeFlags()], { cwd: world.fleetDir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/already holds this update; not pushing/);
    expect(result.stderr).toMatch(/Updated pull request #1/);
    expect(await inRemote(["rev-parse", BRANCH])).toBe(tip);
    expect(forge.pulls[0]?.body).toBe(firstBody);
    expect(await readFile(join(world.fleetDir, "flake.lock"), "utf8")).toBe(lockBefore);
  });

  it("never prints the token, even when the forge echoes it back in the URLs it returns", async () => {
    const echoing = await startFakeGitHub({ echoToken: true });
    try {
      const flags = ["--forge", "github", "--api-url", echoing.apiUrl, "--repository", `${OWNER}/${REPO}`];
      const result = await runCli(["pr", ...flags, "--verbose"], { cwd: world.fleetDir, env });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(echoing.writes().length).toBeGreaterThan(0);
      expect(result.stdout).toBe(`https://github.com/${OWNER}/${REPO}/pull/1?token=***\n`);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
      expect(result.stdout + result.stderr).not.toContain("integrationTOKEN");
    } finally {
      await echoing.close();
    }
  });
});
