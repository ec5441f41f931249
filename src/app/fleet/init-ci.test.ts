import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { InputError, UsageError } from "../../errors.js";
import { renderCiWorkflow, writeCiWorkflow, type CiWorkflowFs, type CiWorkflowOptions } from "./init-ci.js";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "working-directory"?: string;
}

interface Workflow {
  name: string;
  on: { schedule: { cron: string }[]; workflow_dispatch: null };
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: { update: { "runs-on": string; steps: Step[] } };
}

function workflow(options: CiWorkflowOptions): { path: string; doc: Workflow; steps: Step[] } {
  const file = renderCiWorkflow(options);
  const doc = parse(file.content) as Workflow;
  return { path: file.path, doc, steps: doc.jobs.update.steps };
}

const step = (steps: Step[], name: RegExp): Step => {
  const found = steps.find((s) => name.test(s.name ?? ""));
  if (!found) throw new Error(`no step ${name}`);
  return found;
};

describe("renderCiWorkflow", () => {
  it("renders the GitHub workflow", () => {
    const { path, doc, steps } = workflow({ forge: "github", ternixVersion: "0.1.0" });
    expect(path).toBe(".github/workflows/ternix-update.yml");
    expect(doc.on.schedule).toEqual([{ cron: "0 2 * * *" }]);
    expect(doc.on).toHaveProperty("workflow_dispatch");
    expect(doc.permissions).toEqual({ contents: "write", "pull-requests": "write" });
    expect(doc.concurrency).toEqual({ group: "ternix-update", "cancel-in-progress": false });
    expect(doc.jobs.update["runs-on"]).toBe("ubuntu-latest");
    expect(steps.map((s) => s.uses ?? "run")).toEqual([
      "actions/checkout@v4",
      "cachix/install-nix-action@v31",
      "actions/setup-node@v4",
      "run",
      "run",
      "actions/upload-artifact@v4",
    ]);
    expect(steps[0]?.with).toEqual({ "fetch-depth": 0 });
    expect(steps[1]?.with).toEqual({ github_access_token: "${{ secrets.GITHUB_TOKEN }}" });
    expect(steps[2]?.with).toEqual({ "node-version": "20" });
    const pr = step(steps, /pull request/);
    expect(pr.env).toEqual({ TERNIX_FORGE_TOKEN: "${{ secrets.GITHUB_TOKEN }}" });
    expect(pr.run).toContain("npx --yes ternix@0.1.0 pr --report-dir ternix-report\n");
    expect(pr.run).toContain('if [ "$code" -eq 2 ] || [ "$code" -eq 3 ]; then exit 0; fi');
    expect(pr["working-directory"]).toBeUndefined();
    const upload = step(steps, /report/);
    expect(upload.if).toBe("always()");
    expect(upload.with).toEqual({
      name: "ternix-report",
      path: "ternix-report",
      "if-no-files-found": "ignore",
      "retention-days": 30,
    });
  });

  it("renders the Forgejo workflow with full action URLs and the automatic token", () => {
    const { path, doc, steps } = workflow({ forge: "forgejo" });
    expect(path).toBe(".forgejo/workflows/ternix-update.yml");
    expect(doc.jobs.update["runs-on"]).toBe("docker");
    expect(doc.permissions).toEqual({ contents: "write", "pull-requests": "write" });
    expect(steps.map((s) => s.uses ?? "run")).toEqual([
      "https://data.forgejo.org/actions/checkout@v4",
      "https://github.com/cachix/install-nix-action@v31",
      "https://data.forgejo.org/actions/setup-node@v4",
      "run",
      "run",
      "https://data.forgejo.org/forgejo/upload-artifact@v4",
    ]);
    // The Forgejo token is not valid on github.com, so it is not handed to the Nix installer.
    expect(steps[1]?.with).toBeUndefined();
    expect(step(steps, /pull request/).env).toEqual({ TERNIX_FORGE_TOKEN: "${{ secrets.FORGEJO_TOKEN }}" });
    expect(step(steps, /pull request/).run).toContain("npx --yes ternix@latest pr");
  });

  it("takes schedule, runner, Node, command, directories, token and retention", () => {
    const { doc, steps } = workflow({
      forge: "forgejo",
      schedule: " 30  4 * * 1 ",
      runsOn: "nixos",
      nodeVersion: "22",
      ternixCommand: "nix run github:acme/ternix --",
      prArgs: ["--hosts", "web db", "--draft"],
      workingDirectory: "./nix/",
      reportDir: "out/report",
      tokenSecret: "TERNIX_FORGE_TOKEN",
      forgejoActionsUrl: "https://code.forgejo.org/",
      artifactRetentionDays: 7,
    });
    expect(doc.on.schedule).toEqual([{ cron: "30 4 * * 1" }]);
    expect(doc.jobs.update["runs-on"]).toBe("nixos");
    expect(steps[0]?.uses).toBe("https://code.forgejo.org/actions/checkout@v4");
    // A personal token also pushes the branch, so checkout gets it too.
    expect(steps[0]?.with).toEqual({ "fetch-depth": 0, token: "${{ secrets.TERNIX_FORGE_TOKEN }}" });
    expect(steps[2]?.with).toEqual({ "node-version": "22" });
    const pr = step(steps, /pull request/);
    expect(pr["working-directory"]).toBe("nix");
    expect(pr.env).toEqual({ TERNIX_FORGE_TOKEN: "${{ secrets.TERNIX_FORGE_TOKEN }}" });
    expect(pr.run).toContain(
      "nix run github:acme/ternix -- pr --report-dir out/report --hosts 'web db' --draft\n",
    );
    expect(step(steps, /report/).with).toMatchObject({ path: "nix/out/report", "retention-days": 7 });
  });

  it.each<[string, Partial<CiWorkflowOptions>, RegExp]>([
    ["a 6-field cron", { schedule: "0 0 2 * * *" }, /5-field cron/],
    ["a cron macro", { schedule: "@daily" }, /5-field cron/],
    ["minute 61, hour 25", { schedule: "61 25 * * *" }, /61 is outside 0-59 for the minute/],
    ["hour 25", { schedule: "0 25 * * *" }, /25 is outside 0-23 for the hour/],
    ["day 0", { schedule: "0 2 0 * *" }, /0 is outside 1-31 for the day of month/],
    ["month 13", { schedule: "0 2 * 13 *" }, /13 is outside 1-12 for the month/],
    ["weekday 8", { schedule: "0 2 * * 8" }, /8 is outside 0-7 for the day of week/],
    ["a step of 0", { schedule: "*/0 * * * *" }, /step .* at least 1/],
    ["a backwards range", { schedule: "0 9-5 * * *" }, /runs backwards/],
    ["an unknown name", { schedule: "0 2 * * FUNDAY" }, /"FUNDAY" is not a valid day of week/],
    ["a month name as a weekday", { schedule: "0 2 * * JAN" }, /"JAN" is not a valid day of week/],
    ["an empty list item", { schedule: "0,,5 2 * * *" }, /is not a value, range or step/],
    ["a dangling range", { schedule: "0 2-* * * *" }, /"\*" is not a valid hour/],
    ["a bad secret name", { tokenSecret: "MY-TOKEN" }, /not a valid secret name/],
    ["a multi-line command", { ternixCommand: "ternix\nrm -rf /" }, /single non-empty line/],
    ["an escaping directory", { workingDirectory: "../elsewhere" }, /inside the repository/],
    ["an absolute report directory", { reportDir: "/tmp/r" }, /inside the repository/],
    ["zero retention", { artifactRetentionDays: 0 }, /positive number of days/],
  ])("rejects %s", (_name, options, message) => {
    expect(() => renderCiWorkflow({ forge: "github", ...options })).toThrow(UsageError);
    expect(() => renderCiWorkflow({ forge: "github", ...options })).toThrow(message);
  });

  it.each(["0 2 * * *", "*/15 0-6,22 1-31/2 JAN-MAR,12 MON-FRI", "59 23 31 DEC 7", "5,35 */2 * * sun"])(
    "accepts the schedule %s",
    (schedule) => {
      expect(workflow({ forge: "github", schedule }).doc.on.schedule).toEqual([{ cron: schedule }]);
    },
  );

  it("quotes values so YAML reads them back as strings", () => {
    const { doc, steps } = workflow({ forge: "github", runsOn: "self-hosted: yes", nodeVersion: "22.10" });
    expect(doc.jobs.update["runs-on"]).toBe("self-hosted: yes");
    expect(steps[2]?.with).toEqual({ "node-version": "22.10" });
  });
});

/** An in-memory file system keyed by path. */
function memoryFs(
  files: Record<string, string>,
): CiWorkflowFs & { files: Record<string, string>; dirs: string[] } {
  const dirs: string[] = [];
  return {
    files,
    dirs,
    exists: (path) => Promise.resolve(path in files),
    readFile: (path) => {
      const content = files[path];
      return content === undefined ? Promise.reject(new Error(`ENOENT: ${path}`)) : Promise.resolve(content);
    },
    writeFile: (path, content) => {
      files[path] = content;
      return Promise.resolve();
    },
    mkdir: (path) => {
      dirs.push(path);
      return Promise.resolve(undefined);
    },
  };
}

describe("writeCiWorkflow", () => {
  const root = "/repo";
  const target = join(root, ".github/workflows/ternix-update.yml");

  it("writes the workflow next to the flake", async () => {
    const fs = memoryFs({ [join(root, "flake.nix")]: "{ }" });
    const written = await writeCiWorkflow(fs, root, { forge: "github" });
    expect(written).toEqual({ path: target, replaced: false, unchanged: false });
    expect(fs.files[target]).toBe(renderCiWorkflow({ forge: "github" }).content);
    expect(fs.dirs).toEqual([join(root, ".github/workflows")]);
  });

  it("refuses to overwrite an existing workflow without force", async () => {
    const fs = memoryFs({ [join(root, "flake.nix")]: "{ }", [target]: "# mine\n" });
    const error = (await writeCiWorkflow(fs, root, { forge: "github" }).catch(
      (e: unknown) => e,
    )) as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain("already exists");
    expect(error.hint).toMatch(/--force/);
    expect(fs.files[target]).toBe("# mine\n");
  });

  it("overwrites with force", async () => {
    const fs = memoryFs({ [join(root, "flake.nix")]: "{ }", [target]: "# mine\n" });
    const written = await writeCiWorkflow(fs, root, { forge: "github" }, { force: true });
    expect(written.replaced).toBe(true);
    expect(fs.files[target]).toBe(renderCiWorkflow({ forge: "github" }).content);
  });

  it("reports an identical existing workflow as unchanged, even without force", async () => {
    const content = renderCiWorkflow({ forge: "forgejo" }).content;
    const path = join(root, ".forgejo/workflows/ternix-update.yml");
    const fs = memoryFs({ [join(root, "flake.nix")]: "{ }", [path]: content });
    expect(await writeCiWorkflow(fs, root, { forge: "forgejo" })).toEqual({
      path,
      replaced: false,
      unchanged: true,
    });
  });

  it("needs a flake (in the working directory when given)", async () => {
    const fs = memoryFs({ [join(root, "flake.nix")]: "{ }" });
    const error = (await writeCiWorkflow(fs, root, { forge: "github", workingDirectory: "nix" }).catch(
      (e: unknown) => e,
    )) as InputError;
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`no flake.nix in ${join(root, "nix")}`);
  });
});
