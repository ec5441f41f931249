/**
 * `ternix pr` against real git (a local bare repository as the remote) and a local HTTP server
 * playing the forge. The plan itself is faked: these tests are about the branch and the PR.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode, TernixError, UsageError } from "../../errors.js";
import { SUMMARY_END_MARKER } from "../../forge/body.js";
import { GITHUB_BODY_LIMIT } from "../../forge/github.js";
import { LeaseError } from "../../git/remote-branch.js";
import { diffLocks, lockCommitMessage, prTitle } from "../../lock/diff.js";
import { parseFlakeLock } from "../../lock/parse.js";
import { toPlanJson } from "../../report/plan.js";
import type { PlanRequest } from "./plan.js";
import type { PlanResult } from "./plan-model.js";
import { pr, REPORT_FILES, type PrRequest, type PrResult } from "./pr.js";
import {
  NIXPKGS_1,
  NIXPKGS_2,
  NIXPKGS_3,
  OWNER,
  REPO,
  createRepoWorld,
  fakePlan,
  lockText,
  startFakeForgejo,
  startFakeGitHub,
  testConfig,
  testEffects,
  type FakeForge,
  type FakeHost,
  type RepoWorld,
} from "./pr.test-support.js";

const TOKEN = "ghp_s3cretTOKENvalue0123456789";
const LOCK_1 = lockText(NIXPKGS_1);
const LOCK_2 = lockText(NIXPKGS_2);
const LOCK_3 = lockText(NIXPKGS_3);
const BRANCH = "ternix/flake-update";
const HOSTS: FakeHost[] = [
  { name: "web", status: "changed" },
  { name: "db", status: "unchanged" },
];

let world: RepoWorld;
let forge: FakeForge;

beforeEach(async () => {
  world = await createRepoWorld(LOCK_1);
});
afterEach(async () => {
  await forge?.close();
  await world.cleanup();
});

interface Run {
  result: PrResult;
  output: string;
  planCalls: PlanRequest[];
}

/**
 * Runs `pr` with a fake plan that, like the real one, leaves the updated lock in the working tree.
 * `output` is every event message and the serialised result, to check the token never shows.
 */
async function runPr(
  options: {
    after?: string;
    hosts?: FakeHost[];
    request?: Partial<PrRequest>;
    env?: NodeJS.ProcessEnv;
    git?: RepoWorld["git"];
  } = {},
): Promise<Run> {
  const effects = testEffects({ ...world.env, TERNIX_FORGE_TOKEN: TOKEN, ...options.env });
  const planCalls: PlanRequest[] = [];
  const request: PrRequest = {
    flake: world.flake,
    config: testConfig(),
    source: { kind: "plan", inputs: [] },
    forge: { kind: "github", apiUrl: forge.apiUrl, repository: `${OWNER}/${REPO}` },
    ...options.request,
  };
  const runPlan = async (planRequest: PlanRequest): Promise<PlanResult> => {
    planCalls.push(planRequest);
    // Like the real plan: compared with the base's lock when pr passes it.
    const before = planRequest.baseline ?? (await readFile(world.flake.lockPath, "utf8"));
    const after = options.after ?? LOCK_2;
    await writeFile(world.flake.lockPath, after);
    return fakePlan({ before, after, hosts: options.hosts ?? HOSTS, flakeDir: world.work });
  };
  const result = await pr(request, {
    git: options.git ?? world.git,
    effects,
    fetch: globalThis.fetch,
    runPlan,
    forgeClient: { retries: 0 },
  });
  const output = [...effects.events.map((e) => JSON.stringify(e)), JSON.stringify(result)].join("\n");
  return { result, output, planCalls };
}

async function remoteBranch(branch = BRANCH): Promise<string | undefined> {
  const out = await world.sh(["ls-remote", world.remote, `refs/heads/${branch}`]);
  return out.split("\t")[0] || undefined;
}

async function remote(args: string[]): Promise<string> {
  return world.sh([`--git-dir=${world.remote}`, ...args]);
}

/** HEAD, the index file's bytes, status and the working tree's lock: what the user has. */
async function checkoutState(): Promise<string[]> {
  return [
    await world.sh(["rev-parse", "HEAD"]),
    await world.sh(["symbolic-ref", "HEAD"]),
    (await readFile(join(world.work, ".git", "index"))).toString("base64"),
    await world.sh(["status", "--porcelain"]),
    // Pushing updates refs/remotes/origin/<branch> as every `git push` does; the user's own refs stay.
    await world.sh(["for-each-ref", "refs/heads", "refs/tags", "refs/ternix"]),
    await readFile(world.flake.lockPath, "utf8"),
  ];
}

describe("ternix pr on GitHub", () => {
  beforeEach(async () => {
    forge = await startFakeGitHub();
  });

  it("pushes one commit with the lock on the base and opens the pull request", async () => {
    const before = await checkoutState();
    const baseSha = (await world.sh(["rev-parse", "HEAD"])).trim();
    const { result, output } = await runPr();

    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.action).toBe("opened");
    expect(result.base).toBe("main");
    const diff = diffLocks(parseFlakeLock(LOCK_1, "a"), parseFlakeLock(LOCK_2, "b"));

    // The branch: exactly one commit on main, carrying the lock and the message.
    const tip = await remoteBranch();
    expect(tip).toBe(result.commit?.sha);
    expect(result.commit?.pushed).toBe(true);
    expect((await remote(["rev-list", `main..${BRANCH}`])).trim().split("\n")).toHaveLength(1);
    expect((await remote(["rev-parse", `${BRANCH}^`])).trim()).toBe(baseSha);
    expect(await remote(["show", `${BRANCH}:flake.lock`])).toBe(LOCK_2);
    expect(await remote(["log", "-1", "--format=%B", BRANCH])).toBe(`${lockCommitMessage(diff)}\n`);
    expect(await remote(["diff", "--name-only", `main..${BRANCH}`])).toBe("flake.lock\n");
    // No identity configured (a CI runner): Ternix's fallback, added with -c only.
    expect((await remote(["log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH])).trim()).toBe(
      "Ternix <ternix@localhost>|Ternix <ternix@localhost>",
    );

    // The user's checkout: HEAD, index, status, refs and flake.lock as they were.
    expect(await checkoutState()).toEqual(before);

    // The forge: one lookup, one create with the plan's Markdown.
    expect(forge.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${OWNER}/${REPO}/pulls`,
    ]);
    const create = forge.writes()[0]?.body as Record<string, unknown>;
    expect(create).toMatchObject({ head: BRANCH, base: "main", title: prTitle(diff), draft: false });
    expect(create.body).toContain(SUMMARY_END_MARKER);
    expect(create.body).toContain("web");
    expect(result.bodyTruncated).toBe(false);
    expect(forge.pulls).toHaveLength(1);
    expect(result.pullRequest?.url).toBe(`https://github.com/${OWNER}/${REPO}/pull/1`);

    // The token went to the API and nowhere else.
    for (const r of forge.requests) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(output).not.toContain(TOKEN);
  });

  it("compares with the base's lock when the working tree's lock is already updated", async () => {
    await writeFile(world.flake.lockPath, LOCK_2);
    const { result, planCalls } = await runPr({ after: LOCK_2 });

    expect(planCalls[0]?.baseline).toBe(LOCK_1);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.action).toBe("opened");
    expect(await remote(["show", `${BRANCH}:flake.lock`])).toBe(LOCK_2);
    // The user's lock is as they left it: updated, uncommitted.
    expect(await readFile(world.flake.lockPath, "utf8")).toBe(LOCK_2);
  });

  it("rebuilds the branch from the new base on the next run and updates the pull request", async () => {
    await runPr();
    const firstTip = await remoteBranch();
    // Meanwhile someone merges other work into main.
    const newBase = await world.pushToRemote("main", { "README.md": "# fleet\n" }, "Add a README");

    // The lease names the tip Ternix saw; record the push call to check it.
    const calls: string[][] = [];
    const git = {
      ...world.git,
      call: (args: readonly string[], o?: Parameters<typeof world.git.call>[1]) => (
        calls.push([...args]),
        world.git.call(args, o)
      ),
    };
    await writeFile(world.flake.lockPath, LOCK_1);
    const { result } = await runPr({ after: LOCK_3, git });

    expect(result.action).toBe("updated");
    const tip = await remoteBranch();
    expect(tip).not.toBe(firstTip);
    expect((await remote(["rev-list", `main..${BRANCH}`])).trim().split("\n")).toHaveLength(1);
    expect((await remote(["rev-parse", `${BRANCH}^`])).trim()).toBe(newBase);
    expect(await remote(["show", `${BRANCH}:flake.lock`])).toBe(LOCK_3);
    expect(await remote(["show", `${BRANCH}:README.md`])).toBe("# fleet\n");
    const push = calls.find((c) => c.includes("push"));
    expect(push).toContain(`--force-with-lease=refs/heads/${BRANCH}:${firstTip}`);

    expect(forge.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${OWNER}/${REPO}/pulls`,
      `PATCH /repos/${OWNER}/${REPO}/pulls/1`,
    ]);
    const diff = diffLocks(parseFlakeLock(LOCK_1, "a"), parseFlakeLock(LOCK_3, "b"));
    expect(forge.pulls[0]?.title).toBe(prTitle(diff));
    expect(forge.pulls).toHaveLength(1);
  });

  it("does not push again when the branch already holds the update", async () => {
    await runPr();
    const tip = await remoteBranch();
    const { result } = await runPr();
    expect(result.action).toBe("updated");
    expect(result.commit).toMatchObject({ sha: tip, pushed: false });
    expect(await remoteBranch()).toBe(tip);
  });

  it.each([
    ["lock-unchanged", LOCK_1, HOSTS, ExitCode.lockUnchanged],
    ["no-host-changed", LOCK_2, [{ name: "web", status: "unchanged" }] as FakeHost[], ExitCode.noHostChanged],
  ] as const)("pushes nothing and leaves the pull request alone: %s", async (outcome, after, hosts, code) => {
    await runPr();
    const tip = await remoteBranch();
    const requestsBefore = forge.requests.length;
    await writeFile(world.flake.lockPath, LOCK_1);
    const { result, output } = await runPr({ after, hosts: [...hosts] });
    expect(result.outcome).toBe(outcome);
    expect(result.exitCode).toBe(code);
    expect(result.action).toBe("nothing-to-review");
    expect(await remoteBranch()).toBe(tip);
    expect(forge.requests.length).toBe(requestsBefore);
    expect(output).toMatch(/nothing to push/);
    expect(await readFile(world.flake.lockPath, "utf8")).toBe(LOCK_1);
  });

  it("opens a draft with the breakage first when a host breaks and --draft-on-break", async () => {
    const hosts: FakeHost[] = [
      { name: "alpha", status: "changed" },
      { name: "zulu", status: "broken" },
    ];
    const { result } = await runPr({ hosts, request: { draftOnBreak: true } });
    expect(result.exitCode).toBe(ExitCode.hostBroken);
    expect(result.pullRequest?.draft).toBe(true);
    const body = forge.pulls[0]?.body ?? "";
    expect(forge.pulls[0]?.draft).toBe(true);
    expect(body.indexOf("zulu")).toBeLessThan(body.indexOf("alpha"));
    expect(body).toContain("BROKEN");

    // Fixed on the next run: the draft becomes ready for review.
    await writeFile(world.flake.lockPath, LOCK_1);
    const next = await runPr({ after: LOCK_3, request: { draftOnBreak: true } });
    expect(next.result.exitCode).toBe(ExitCode.ok);
    expect(forge.pulls[0]?.draft).toBe(false);
    expect(forge.requests.some((r) => r.path === "/graphql")).toBe(true);
  });

  it("opens a normal pull request for a breakage without --draft-on-break", async () => {
    const { result } = await runPr({ hosts: [{ name: "web", status: "broken" }] });
    expect(result.exitCode).toBe(ExitCode.hostBroken);
    expect(forge.pulls[0]?.draft).toBe(false);
  });

  it("fails clearly when someone pushes to the branch while it works (the lease)", async () => {
    await runPr();
    let theirs = "";
    const git = {
      ...world.git,
      call: async (args: readonly string[], o?: Parameters<typeof world.git.call>[1]) => {
        if (args.includes("push"))
          theirs = await world.pushToRemote(BRANCH, { "flake.lock": LOCK_3 }, "a person's fix", {
            force: true,
          });
        return world.git.call(args, o);
      },
    };
    await writeFile(world.flake.lockPath, LOCK_1);
    const error = await runPr({ after: LOCK_3, git }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseError);
    expect((error as Error).message).toMatch(/changed while Ternix was working.*nothing was overwritten/);
    expect(await remoteBranch()).toBe(theirs);
    expect(forge.writes()).toHaveLength(1);
  });

  it("refuses to rebuild a branch that has someone else's work on it", async () => {
    await runPr();
    await world.pushToRemote(BRANCH, { "hosts.nix": "{ }\n" }, "add a host by hand");
    const tip = await remoteBranch();
    await writeFile(world.flake.lockPath, LOCK_1);
    await expect(runPr({ after: LOCK_3 })).rejects.toThrow(/change more than flake.lock/);
    expect(await remoteBranch()).toBe(tip);
  });

  it("checks the token before planning and never prints it", async () => {
    const effects = { TERNIX_FORGE_TOKEN: "", GITHUB_TOKEN: "" };
    let planned = false;
    const error = await pr(
      {
        flake: world.flake,
        config: testConfig(),
        source: { kind: "plan", inputs: [] },
        forge: { kind: "github", apiUrl: forge.apiUrl, repository: `${OWNER}/${REPO}` },
      },
      {
        git: world.git,
        effects: testEffects({ ...world.env, ...effects }),
        fetch: globalThis.fetch,
        runPlan: () => {
          planned = true;
          throw new Error("must not plan");
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/no GitHub API token/);
    expect((error as UsageError).hint).toMatch(/TERNIX_FORGE_TOKEN/);
    expect(planned).toBe(false);
  });

  it("redacts the token from forge errors", async () => {
    await forge.close();
    forge = await startFakeGitHub();
    // A repository the server does not know: 404 on the lookup.
    const error = await runPr({
      request: { forge: { kind: "github", apiUrl: forge.apiUrl, repository: "someone/else" } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TernixError);
    const text = `${(error as TernixError).message}\n${(error as TernixError).hint ?? ""}\n${(error as TernixError).detail ?? ""}`;
    expect(text).not.toContain(TOKEN);
  });

  it("fails fast on an unknown remote or a bad branch name", async () => {
    await expect(runPr({ request: { remote: "upstream" } })).rejects.toThrow(/no remote named "upstream"/);
    await expect(runPr({ request: { branch: "bad..name" } })).rejects.toThrow(/not a valid branch name/);
    await expect(runPr({ request: { branch: "main" } })).rejects.toThrow(/both "main"/);
  });

  it("uses the given base and the remote's default branch otherwise", async () => {
    await world.pushToRemote("release", {}, "release branch", { from: "main" });
    const { result } = await runPr({ request: { base: "release" } });
    expect(result.base).toBe("release");
    expect(forge.pulls[0]?.base).toBe("release");
    await expect(runPr({ request: { base: "nope" } })).rejects.toThrow(/no branch "nope"/);
  });

  it("uses the user's identity when configured", async () => {
    await world.sh(["config", "user.name", "Alice Admin"]);
    await world.sh(["config", "user.email", "alice@example.org"]);
    await runPr();
    expect((await remote(["log", "-1", "--format=%an <%ae>", BRANCH])).trim()).toBe(
      "Alice Admin <alice@example.org>",
    );
  });

  it("writes the full report to --report-dir", async () => {
    const reportDir = join(world.dir, "artifact");
    const { result } = await runPr({ request: { reportDir } });
    expect(result.reportFiles.map((f) => f.slice(reportDir.length + 1))).toEqual([
      REPORT_FILES.markdown,
      REPORT_FILES.json,
      REPORT_FILES.text,
    ]);
    const json = JSON.parse(await readFile(join(reportDir, REPORT_FILES.json), "utf8")) as {
      kind: string;
      outcome: string;
    };
    expect(json).toMatchObject({ kind: "plan", outcome: "changed" });
    expect(await readFile(join(reportDir, REPORT_FILES.markdown), "utf8")).toContain(SUMMARY_END_MARKER);
    expect(await readFile(join(reportDir, REPORT_FILES.text), "utf8")).toContain("web");
  });

  it("builds the commit but pushes nothing and calls no forge on a dry run, without a token", async () => {
    const { result } = await runPr({ request: { dryRun: true }, env: { TERNIX_FORGE_TOKEN: "" } });
    expect(result.action).toBe("dry-run");
    expect(result.commit?.pushed).toBe(false);
    expect(result.body).toContain(SUMMARY_END_MARKER);
    expect(await remoteBranch()).toBeUndefined();
    expect(forge.requests).toHaveLength(0);
    expect(await world.sh(["cat-file", "-t", result.commit?.sha ?? ""])).toBe("commit\n");
  });

  it("keeps a body with many changed hosts under GitHub's limit, summary first", async () => {
    const hosts: FakeHost[] = Array.from({ length: 120 }, (_, i) => ({
      name: `host-${String(i).padStart(3, "0")}`,
      status: "changed" as const,
      extraPackages: 60,
    }));
    const { result } = await runPr({ hosts });
    const body = forge.pulls[0]?.body ?? "";
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(body).toContain(SUMMARY_END_MARKER);
    // Every host is in the summary table even when its section is shortened or left out.
    const summary = body.slice(0, body.indexOf(SUMMARY_END_MARKER));
    for (const h of hosts) expect(summary).toContain(`| ${h.name} |`);
    expect(body).toMatch(/full report is in the CI artifact/);
    expect(result.plan.hosts).toHaveLength(120);
    expect(result.bodyTruncated).toBe(true);
  });

  describe("with a saved plan report (--report)", () => {
    it("opens the pull request from the report without planning", async () => {
      const plan = fakePlan({ before: LOCK_1, after: LOCK_2, hosts: HOSTS, flakeDir: world.work });
      const file = join(world.dir, "plan.json");
      await writeFile(file, JSON.stringify(toPlanJson(plan), null, 2));
      await writeFile(world.flake.lockPath, LOCK_2);
      const { result, planCalls } = await runPr({ request: { source: { kind: "report", file } } });
      expect(planCalls).toHaveLength(0);
      expect(result.action).toBe("opened");
      expect(await remote(["show", `${BRANCH}:flake.lock`])).toBe(LOCK_2);
      expect(forge.pulls[0]?.body).toContain("web");
      // Ternix did not plan, so it does not touch the working tree's lock.
      expect(await readFile(world.flake.lockPath, "utf8")).toBe(LOCK_2);
    });

    it("refuses a working tree whose lock is not the report's updated lock", async () => {
      const plan = fakePlan({ before: LOCK_1, after: LOCK_2, hosts: HOSTS });
      const file = join(world.dir, "plan.json");
      await writeFile(file, JSON.stringify(toPlanJson(plan)));
      await expect(runPr({ request: { source: { kind: "report", file } } })).rejects.toThrow(
        /is not the updated lock .*plan\.json was made with \(input nixpkgs is locked differently\)/,
      );
      expect(await remoteBranch()).toBeUndefined();
    });

    it("rejects a file that is not a plan report", async () => {
      const file = join(world.dir, "other.json");
      await writeFile(file, JSON.stringify({ schemaVersion: 1, kind: "lock-diff" }));
      await expect(runPr({ request: { source: { kind: "report", file } } })).rejects.toThrow(
        /not a ternix plan report/,
      );
    });
  });
});

describe("ternix pr on Forgejo", () => {
  beforeEach(async () => {
    forge = await startFakeForgejo();
  });

  const forgejo = () => ({ kind: "forgejo" as const, apiUrl: forge.apiUrl, repository: `${OWNER}/${REPO}` });

  it("opens, then updates, with labels and the token scheme", async () => {
    const first = await runPr({ request: { forge: forgejo(), labels: ["dependencies", "unknown"] } });
    expect(first.result.action).toBe("opened");
    expect(forge.pulls[0]).toMatchObject({
      head: BRANCH,
      base: "main",
      labels: ["dependencies", "unknown"],
      draft: false,
    });
    for (const r of forge.requests) expect(r.headers.authorization).toBe(`token ${TOKEN}`);

    await writeFile(world.flake.lockPath, LOCK_1);
    const second = await runPr({ after: LOCK_3, request: { forge: forgejo() } });
    expect(second.result.action).toBe("updated");
    expect(forge.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/v1/repos/${OWNER}/${REPO}/pulls`,
      `POST /api/v1/repos/${OWNER}/${REPO}/labels`,
      `POST /api/v1/repos/${OWNER}/${REPO}/issues/1/labels`,
      `PATCH /api/v1/repos/${OWNER}/${REPO}/pulls/1`,
    ]);
    expect(forge.pulls).toHaveLength(1);
    expect(first.output + second.output).not.toContain(TOKEN);
  });

  it("marks a breaking update as work in progress with --draft-on-break", async () => {
    const { result } = await runPr({
      hosts: [{ name: "web", status: "broken" }],
      request: { forge: forgejo(), draftOnBreak: true },
    });
    expect(result.exitCode).toBe(ExitCode.hostBroken);
    expect(forge.pulls[0]?.title).toMatch(/^WIP: flake\.lock: update nixpkgs/);
    expect(result.pullRequest).toMatchObject({
      draft: true,
      title: expect.stringMatching(/^flake\.lock:/) as unknown,
    });
  });

  it("takes the token from FORGEJO_TOKEN", async () => {
    await runPr({
      request: { forge: forgejo() },
      env: { TERNIX_FORGE_TOKEN: "", FORGEJO_TOKEN: "forgejo-tok" },
    });
    expect(forge.requests[0]?.headers.authorization).toBe("token forgejo-tok");
  });
});
