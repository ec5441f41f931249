/**
 * `ternix promote` end to end: the built binary on a clone with a local bare remote, and a fake
 * GitHub holding the hosts' commit statuses (as `ternix upgrade --report-to-forge` posts them).
 * Git only, no Nix. The tests run in order: each moves `main` and the statuses on.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promote } from "../../src/app/fleet/promote.js";
import {
  createRepoWorld,
  lockText,
  NIXPKGS_1,
  OWNER,
  REPO,
  startFakeForgejo,
  startFakeGitHub,
  testConfig,
  testEffects,
  type FakeForge,
  type RepoWorld,
} from "../../src/app/fleet/pr.test-support.js";
import { GitError } from "../../src/errors.js";
import type { Git } from "../../src/git/git.js";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";

const TOKEN = "ghs_promoteTOKEN0123456789abcdef";
const STABLE = "deploy/stable";
const HOUR = 3600_000;

let w: RepoWorld;
let forge: FakeForge;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  await ensureBuiltCli();
  w = await createRepoWorld(lockText(NIXPKGS_1));
  forge = await startFakeGitHub();
  await w.sh(["push", "--quiet", "origin", `main:refs/heads/${STABLE}`]);
  await writeFile(
    join(w.work, "ternix.toml"),
    [
      "[[rollout.waves]]",
      'branch = "main"',
      'hosts = ["canary-1", "canary-2"]',
      'min-age = "1d"',
      "",
      "[[rollout.waves]]",
      `branch = "${STABLE}"`,
      'hosts = ["web", "db"]',
      "",
    ].join("\n"),
  );
  env = {
    ...w.env,
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
  await w?.cleanup();
});

const forgeFlags = () => ["--forge", "github", "--api-url", forge.apiUrl, "--repository", `${OWNER}/${REPO}`];
const run = async (args: string[]): Promise<CliResult> => {
  const r = await runCli(["promote", "--to", STABLE, ...forgeFlags(), ...args], { cwd: w.work, env });
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
  return r;
};
const remoteHead = async (branch: string) =>
  (await w.sh(["--git-dir", w.remote, "rev-parse", branch])).trim();
const report = (sha: string, host: string, state: string, hoursAgo: number, description = "") =>
  forge.statuses.add(sha, {
    context: `ternix/host/${host}`,
    state,
    description,
    at: new Date(Date.now() - hoursAgo * HOUR),
  });

describe("ternix promote", () => {
  let b: string;

  it("refuses while a canary has not reported (exit 3), host by host; nothing pushed", async () => {
    const stable = await remoteHead(STABLE);
    b = await w.pushToRemote("main", { "flake.lock": lockText({ ...NIXPKGS_1, rev: "b".repeat(40) }) }, "B");
    const r = await run([]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stdout).toContain(
      `${STABLE} ← main ${b.slice(0, 12)}: not yet; ${STABLE} stays at ${stable.slice(0, 12)}`,
    );
    expect(r.stdout).toMatch(/^ {2}canary-1 +not yet +not reported yet$/m);
    expect(r.stdout).toMatch(/^ {2}canary-2 +not yet +not reported yet$/m);
    expect(await remoteHead(STABLE)).toBe(stable);
    for (const req of forge.requests) expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("refuses while the bake time has not passed (exit 3), saying when it will", async () => {
    report(b, "canary-1", "success", 30, "upgraded to b: generation 4, checks passed");
    report(b, "canary-2", "error", 5, "building canary-2 failed");
    report(b, "canary-2", "success", 2, "upgraded to b: generation 9, checks passed");
    report(b, "canary-2", "success", 1, "canary-2 already runs b");
    const r = await run([]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^ {2}canary-1 +ok +success on it 30h ago, longer than min-age 1d$/m);
    expect(r.stdout).toMatch(
      /^ {2}canary-2 +too recent +success on it 2h ago; min-age 1d is reached at 20\d\d-/m,
    );
  });

  it("--dry-run says it would promote; then it fast-forwards the branch when all conditions hold", async () => {
    const stable = await remoteHead(STABLE);
    const dry = await run(["--min-age", "1h", "--dry-run", "--json"]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      schemaVersion: 1,
      kind: "promote",
      outcome: "would-promote",
      commit: b,
      previous: stable,
      minAge: "1h",
      hosts: [
        { host: "canary-1", state: "ok", commit: b },
        { host: "canary-2", state: "ok", commit: b },
      ],
    });
    expect(await remoteHead(STABLE)).toBe(stable);

    const r = await run(["--min-age", "1h"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${STABLE} ← main ${b.slice(0, 12)}: promoted (was ${stable.slice(0, 12)})`);
    expect(await remoteHead(STABLE)).toBe(b);
    // A fast-forward: the old head is an ancestor of the new one.
    await w.sh(["--git-dir", w.remote, "merge-base", "--is-ancestor", stable, b]);

    const again = await run(["--min-age", "1h"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("is already there; nothing to do");
  });

  it("refuses after a canary failed on the commit (exit 5), even when another succeeded", async () => {
    const c = await w.pushToRemote(
      "main",
      { "flake.lock": lockText({ ...NIXPKGS_1, rev: "c".repeat(40) }) },
      "C",
    );
    report(
      c,
      "canary-1",
      "failure",
      26,
      "checks failed for c (nginx: exit 3); re-activated, commit quarantined",
    );
    report(c, "canary-2", "success", 26, "upgraded");
    const r = await run([]);
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.stdout).toContain(`${STABLE} ← main ${c.slice(0, 12)}: a canary failed on it`);
    expect(r.stdout).toMatch(
      /^ {2}canary-1 +FAILED +failure on it 26h ago: checks failed for c \(nginx: exit 3\)/m,
    );
    expect(await remoteHead(STABLE)).toBe(b);

    // --from an older commit: B is still promotable… and already there.
    const older = await run(["--from", b]);
    expect(older.exitCode, older.stderr).toBe(0);
    expect(older.stdout).toContain("already there");
  });

  it("a success on a later commit of main vouches for the commit asked for (--from SHA)", async () => {
    const d = await w.pushToRemote(
      "main",
      { "flake.lock": lockText({ ...NIXPKGS_1, rev: "d".repeat(40) }) },
      "D (fix)",
    );
    const e = await w.pushToRemote(
      "main",
      { "flake.lock": lockText({ ...NIXPKGS_1, rev: "e".repeat(40) }) },
      "E",
    );
    report(e, "canary-1", "success", 25);
    report(d, "canary-2", "success", 25);
    report(e, "canary-2", "success", 24.5);
    const r = await run(["--from", d, "--dry-run", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: "would-promote",
      commit: d,
      hosts: [
        { host: "canary-1", state: "ok", commit: e },
        { host: "canary-2", state: "ok", commit: d },
      ],
    });
  });

  it("refuses a move that is not a fast-forward (exit 6), nothing pushed", async () => {
    const hotfix = await w.pushToRemote(STABLE, { "HOTFIX.md": "directly on stable\n" }, "hotfix on stable");
    const main = await remoteHead("main");
    report(main, "canary-1", "success", 48);
    report(main, "canary-2", "success", 48);
    const r = await run([]);
    expect(r.exitCode, r.stderr).toBe(6);
    expect(r.stdout).toMatch(
      /refused, not a fast-forward: deploy\/stable \([0-9a-f]{12}\) has commits that main lacks/,
    );
    expect(await remoteHead(STABLE)).toBe(hotfix);
    // Put stable back on main's history for the next test.
    await w.sh(["--git-dir", w.remote, "update-ref", `refs/heads/${STABLE}`, b]);
  });

  it("a push to the branch while promote works makes it fail cleanly (the lease): nothing overwritten", async () => {
    let intruder: string | undefined;
    const racingGit: Git = {
      ...w.git,
      call: async (args, options) => {
        if (args.includes("push") && intruder === undefined) {
          intruder = await w.pushToRemote(STABLE, { "RACE.md": "pushed meanwhile\n" }, "someone else");
        }
        return w.git.call(args, options);
      },
    };
    const config = testConfig();
    config.rollout.waves = [
      { branch: "main", hosts: ["canary-1", "canary-2"], "min-age": "1d" },
      { branch: STABLE, hosts: [] },
    ];
    const effects = { ...testEffects(env), now: () => new Date() };
    const error = await promote(
      {
        repoDir: w.work,
        config,
        to: STABLE,
        dryRun: false,
        forge: { kind: "github", apiUrl: forge.apiUrl, repository: `${OWNER}/${REPO}` },
      },
      { git: racingGit, effects, fetch: globalThis.fetch },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).message).toBe(
      `${STABLE} on origin changed while Ternix was checking it (someone else pushed); nothing was pushed`,
    );
    expect((error as GitError).hint).toMatch(/ternix promote --to deploy\/stable` again/);
    expect(await remoteHead(STABLE)).toBe(intruder);
    // The private refs it fetched into are gone.
    expect(await w.sh(["for-each-ref", "refs/ternix/"])).toBe("");
  });

  it("usage errors: no hosts to wait for, a bad branch name, a tag no host carries", async () => {
    const noHosts = await runCli(["promote", "--to", "elsewhere", ...forgeFlags()], { cwd: w.work, env });
    expect(noHosts.exitCode).toBe(64);
    expect(noHosts.stderr).toMatch(/error: no hosts to wait for before promoting to elsewhere/);
    const bad = await run(["--from", "a..b"]);
    expect(bad.exitCode).toBe(64);
    const tag = await run(["--hosts", "@canary"]);
    expect(tag.exitCode).toBe(64);
    expect(tag.stderr).toMatch(/no host has the tag "@canary"[\s\S]*hint: Tags come from ternix.toml/);
  });

  it("status --from-forge: per host the newest reported commit, the result, commits behind, stale", async () => {
    const stable = await remoteHead(STABLE);
    const main = await remoteHead("main");
    report(b, "web", "success", 3, "web already runs b");
    report(b, "web", "success", 60, "upgraded to b");
    const r = await runCli(["status", "--from-forge", "--json", ...forgeFlags()], { cwd: w.work, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const json = JSON.parse(r.stdout) as { hosts: { host: string }[] };
    expect(json).toMatchObject({
      schemaVersion: 1,
      kind: "status-forge",
      staleAfter: "2d",
      heads: [
        { branch: "main", commit: main },
        { branch: STABLE, commit: stable },
      ],
    });
    const row = (host: string) => json.hosts.find((h) => h.host === host);
    // canary-1's newest report is on main's head, 48 h ago (the non-fast-forward test): within 2d.
    expect(row("canary-1")).toMatchObject({
      branch: "main",
      commit: main,
      result: "success",
      behind: 0,
      stale: false,
    });
    // web reported on b; deploy/stable moved one commit past it (the concurrent push).
    expect(row("web")).toMatchObject({
      branch: STABLE,
      commit: b,
      result: "success",
      behind: 1,
      stale: false,
    });
    expect(row("db")).toMatchObject({
      branch: STABLE,
      commit: null,
      result: null,
      behind: null,
      stale: true,
    });

    const text = await runCli(["status", "--from-forge", "db", ...forgeFlags()], {
      cwd: w.work,
      env,
    });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^db +deploy\/stable +- +no report +>29 +- +stale \(no report for 2d\)$/m);
  });

  it("on Forgejo: creates a wave branch that does not exist yet once the canary's success is old enough", async () => {
    const forgejo = await startFakeForgejo();
    try {
      const main = await remoteHead("main");
      forgejo.statuses.add(main, {
        context: "ternix/host/canary-1",
        state: "success",
        at: new Date(Date.now() - 50 * HOUR),
      });
      const flags = ["--forge", "forgejo", "--api-url", forgejo.apiUrl, "--repository", `${OWNER}/${REPO}`];
      const r = await runCli(
        ["promote", "--to", "deploy/new", "--hosts", "canary-1", "--min-age", "2d", ...flags],
        {
          cwd: w.work,
          env,
        },
      );
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain(`deploy/new ← main ${main.slice(0, 12)}: promoted (was (none))`);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(await remoteHead("deploy/new")).toBe(main);
      for (const req of forgejo.requests) expect(req.headers.authorization).toBe(`token ${TOKEN}`);
    } finally {
      await forgejo.close();
    }
  });
});
