import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createRepoWorld,
  gitTestEnv,
  lockText,
  NIXPKGS_1,
  type RepoWorld,
} from "../app/fleet/pr.test-support.js";
import { runCli } from "./cli.test-support.js";

let world: RepoWorld;
/** No CI variables and no tokens from the machine running the tests. */
const env = {
  ...gitTestEnv(),
  NO_COLOR: "1",
  CI: "",
  GITHUB_ACTIONS: "",
  FORGEJO_ACTIONS: "",
  GITEA_ACTIONS: "",
  TERNIX_FORGE_TOKEN: "",
  GITHUB_TOKEN: "",
  FORGEJO_TOKEN: "",
  GITEA_TOKEN: "",
};

beforeEach(async () => {
  world = await createRepoWorld(lockText(NIXPKGS_1));
});
afterEach(() => world.cleanup());

describe("ternix pr", () => {
  it("documents its exit codes and token variables", async () => {
    const result = await runCli(["pr", "--help"], env);
    expect(result.code).toBe(0);
    for (const line of [
      /^ {2}0 {2}the update changes/m,
      /^ {2}2 {2}flake\.lock did not change/m,
      /^ {2}3 {2}/m,
      /^ {2}4 {2}the update breaks/m,
      /^ 64 {2}usage/m,
    ]) {
      expect(result.stdout).toMatch(line);
    }
    expect(result.stdout).toMatch(/TERNIX_FORGE_TOKEN/);
  });

  it("fails with a usage error before planning when there is no token", async () => {
    const result = await runCli(
      ["pr", "--flake", world.work, "--forge", "github", "--repository", "o/r"],
      env,
    );
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/error: no GitHub API token in the environment/);
    expect(result.stderr).toMatch(/hint: Set TERNIX_FORGE_TOKEN, or GITHUB_TOKEN/);
    // Nothing planned: no progress lines.
    expect(result.stderr).not.toMatch(/Updating/);
  });

  it("refuses a token with a line break before planning, without showing it", async () => {
    const token = "ghp_SECRETpart1\nX-Injected: SECRETpart2";
    const result = await runCli(["pr", "--flake", world.work, "--forge", "github", "--repository", "o/r"], {
      ...env,
      TERNIX_FORGE_TOKEN: token,
    });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(
      /^error: TERNIX_FORGE_TOKEN holds a control character \(such as a line break\); its value is not shown\.\nhint: Set TERNIX_FORGE_TOKEN to the token alone/,
    );
    expect(result.stderr + result.stdout).not.toMatch(/SECRET/);
    expect(result.stderr).not.toMatch(/Updating/);
  });

  it("explains a remote that is not a hosted repository", async () => {
    const result = await runCli(["pr", "--flake", world.work], { ...env, TERNIX_FORGE_TOKEN: "t0ken-value" });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/cannot tell which repository/);
    expect(result.stderr).not.toContain("t0ken-value");
  });

  it("rejects an unknown forge", async () => {
    const result = await runCli(["pr", "--forge", "gitlab"], env);
    expect(result.code).toBe(64);
  });
});
