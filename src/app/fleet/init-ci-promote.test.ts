import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { gitTestEnv } from "./pr.test-support.js";
import { run } from "../../proc/run.js";
import { runCli } from "../../cli/cli.test-support.js";
import { renderPromoteWorkflow, type PromoteWorkflowOptions } from "./init-ci.js";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  "working-directory"?: string;
}
interface Workflow {
  name: string;
  on: { schedule: { cron: string }[]; workflow_dispatch: null };
  permissions: Record<string, string>;
  concurrency: { group: string };
  jobs: { promote: { "runs-on": string; steps: Step[] } };
}

const render = (options: Partial<PromoteWorkflowOptions> = {}) => {
  const file = renderPromoteWorkflow({
    forge: "github",
    branches: ["deploy/stable"],
    ternixVersion: "0.1.0",
    ...options,
  });
  return { path: file.path, doc: parse(file.content) as Workflow };
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-promote-ci-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("renderPromoteWorkflow", () => {
  it("GitHub: hourly, contents write + statuses read, one step per wave, every wave tried", () => {
    const { path, doc } = render({ branches: ["deploy/stable", "deploy/late"] });
    expect(path).toBe(".github/workflows/ternix-promote.yml");
    expect(doc.on.schedule).toEqual([{ cron: "17 * * * *" }]);
    expect(doc.permissions).toEqual({ contents: "write", statuses: "read" });
    const steps = doc.jobs.promote.steps;
    expect(steps.map((s) => s.uses ?? s.name)).toEqual([
      "actions/checkout@v4",
      "actions/setup-node@v4",
      "Promote to deploy/stable",
      "Promote to deploy/late",
    ]);
    expect(steps[2]?.run).toContain("npx --yes ternix@0.1.0 promote --to deploy/stable\n");
    expect(steps[2]?.env).toEqual({ TERNIX_FORGE_TOKEN: "${{ secrets.GITHUB_TOKEN }}" });
    expect(steps[2]?.if).toBeUndefined();
    expect(steps[3]?.if).toBe("${{ !cancelled() }}");
  });

  it("Forgejo: full action URLs, the token secret for the checkout too, a working directory", () => {
    const { path, doc } = render({
      forge: "forgejo",
      tokenSecret: "TERNIX_FORGE_TOKEN",
      workingDirectory: "fleet",
    });
    expect(path).toBe(".forgejo/workflows/ternix-promote.yml");
    const steps = doc.jobs.promote.steps;
    expect(steps[0]).toMatchObject({
      uses: "https://data.forgejo.org/actions/checkout@v4",
      with: { "fetch-depth": 0, token: "${{ secrets.TERNIX_FORGE_TOKEN }}" },
    });
    expect(steps[2]).toMatchObject({
      "working-directory": "fleet",
      env: { TERNIX_FORGE_TOKEN: "${{ secrets.TERNIX_FORGE_TOKEN }}" },
    });
    expect(doc.jobs.promote["runs-on"]).toBe("docker");
  });

  it("refuses no waves, a branch name that could inject into the workflow, a bad schedule", () => {
    expect(() => render({ branches: [] })).toThrow(/no wave to promote to/);
    expect(() => render({ branches: ["x${{ secrets.A }}"] })).toThrow(/cannot go into a workflow/);
    expect(() => render({ schedule: "61 * * * *" })).toThrow(/not a valid cron schedule/);
  });

  it.each([
    [0, 0],
    [3, 0],
    [5, 5],
    [6, 6],
    [1, 1],
  ])("the step's shell: ternix exiting %i ends the step with %i", async (code, expected) => {
    const fake = join(dir, `ternix-${code}`);
    await writeFile(fake, `#!/bin/sh\necho "$@" > '${fake}.args'\nexit ${code}\n`);
    await chmod(fake, 0o755);
    const { doc } = render({ ternixCommand: fake });
    const script = doc.jobs.promote.steps[2]?.run ?? "";
    const result = await run("bash", ["-e", "-c", script]);
    expect(result.exitCode).toBe(expected);
    expect(await readFile(`${fake}.args`, "utf8")).toBe("promote --to deploy/stable\n");
  });
});

describe("ternix init ci --promote", () => {
  it("writes the workflow for the waves of ternix.toml", async () => {
    const repo = join(dir, "repo");
    await mkdir(repo);
    await run("git", ["init", "--quiet", repo], { env: gitTestEnv() });
    await writeFile(join(repo, "flake.nix"), "{ outputs = _: { }; }\n");
    await writeFile(
      join(repo, "ternix.toml"),
      '[[rollout.waves]]\nbranch = "main"\nhosts = ["c1"]\n[[rollout.waves]]\nbranch = "deploy/stable"\n',
    );
    const env = { ...gitTestEnv(), NO_COLOR: "1", GITHUB_ACTIONS: "", FORGEJO_ACTIONS: "", CI: "" };
    const result = await runCli(["init", "ci", "--forge", "forgejo", "--promote", "--flake", repo], env);
    expect(result.code, result.stderr).toBe(0);
    const path = join(repo, ".forgejo/workflows/ternix-promote.yml");
    expect(result.stdout).toBe(`${path}\n`);
    const doc = parse(await readFile(path, "utf8")) as Workflow;
    expect(doc.jobs.promote.steps.map((s) => s.name).at(-1)).toBe("Promote to deploy/stable");

    await writeFile(join(repo, "ternix.toml"), "");
    const none = await runCli(["init", "ci", "--forge", "github", "--promote", "--flake", repo], env);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/error: no wave to promote to/);
  });
});
