import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { gitTestEnv } from "../app/fleet/pr.test-support.js";
import { run } from "../proc/run.js";
import { runCli } from "./cli.test-support.js";
import { VERSION } from "./version.js";

let dir: string;
const env = { ...gitTestEnv(), NO_COLOR: "1", GITHUB_ACTIONS: "", FORGEJO_ACTIONS: "", CI: "" };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-init-ci-"));
  await run("git", ["init", "--quiet", dir], { env: gitTestEnv() });
  await writeFile(join(dir, "flake.nix"), "{ outputs = _: { }; }\n");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

interface Workflow {
  on: { schedule: { cron: string }[] };
  jobs: {
    update: { "runs-on": string; steps: { name?: string; run?: string; "working-directory"?: string }[] };
  };
}

describe("ternix init ci", () => {
  it("writes the GitHub workflow and prints its path", async () => {
    const result = await runCli(["init", "ci", "--forge", "github", "--flake", dir], env);
    expect(result.code).toBe(0);
    const path = join(dir, ".github/workflows/ternix-update.yml");
    expect(result.stdout).toBe(`${path}\n`);
    expect(result.stderr).toMatch(/Allow GitHub Actions to create and approve pull requests/);
    const doc = parse(await readFile(path, "utf8")) as Workflow;
    expect(doc.on.schedule).toEqual([{ cron: "0 2 * * *" }]);
    const step = doc.jobs.update.steps.find((s) => s.run?.includes(" pr "));
    expect(step?.run).toContain(`npx --yes ternix@${VERSION} pr --report-dir ternix-report`);
  });

  it("writes the Forgejo workflow", async () => {
    const result = await runCli(["init", "ci", "--forge", "forgejo", "--flake", dir], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${join(dir, ".forgejo/workflows/ternix-update.yml")}\n`);
    expect(result.stderr).toMatch(/needs Nix/);
  });

  it("writes Gitea's copy to .gitea/workflows, with a schedule and runner", async () => {
    const result = await runCli(
      ["init", "ci", "--forge", "gitea", "--schedule", "30 4 * * 1", "--runs-on", "nix", "--flake", dir],
      env,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${join(dir, ".gitea/workflows/ternix-update.yml")}\n`);
    const doc = parse(await readFile(join(dir, ".gitea/workflows/ternix-update.yml"), "utf8")) as Workflow;
    expect(doc.on.schedule).toEqual([{ cron: "30 4 * * 1" }]);
    expect(doc.jobs.update["runs-on"]).toBe("nix");
  });

  it("refuses to replace a changed workflow without --force", async () => {
    expect((await runCli(["init", "ci", "--forge", "github", "--flake", dir], env)).code).toBe(0);
    const again = await runCli(["init", "ci", "--forge", "github", "--flake", dir], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already up to date/);

    const changed = await runCli(
      ["init", "ci", "--forge", "github", "--schedule", "0 3 * * *", "--flake", dir],
      env,
    );
    expect(changed.code).toBe(64);
    expect(changed.stderr).toMatch(/already exists/);
    expect(changed.stderr).toMatch(/--force/);

    const forced = await runCli(
      ["init", "ci", "--forge", "github", "--schedule", "0 3 * * *", "--force", "--flake", dir],
      env,
    );
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/Replaced/);
  });

  it("writes at the repository root with a working directory for a flake in a subdirectory", async () => {
    const sub = join(dir, "nix", "fleet");
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, "flake.nix"), "{ outputs = _: { }; }\n");
    const result = await runCli(["init", "ci", "--forge", "github", "--flake", sub], env);
    expect(result.code).toBe(0);
    const doc = parse(await readFile(join(dir, ".github/workflows/ternix-update.yml"), "utf8")) as Workflow;
    const step = doc.jobs.update.steps.find((s) => s.run?.includes(" pr "));
    expect(step?.["working-directory"]).toBe("nix/fleet");
  });

  it("rejects a bad schedule and a missing --forge", async () => {
    const bad = await runCli(
      ["init", "ci", "--forge", "github", "--schedule", "@daily", "--flake", dir],
      env,
    );
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/not a 5-field cron schedule/);
    const missing = await runCli(["init", "ci", "--flake", dir], env);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/--forge/);
  });
});
