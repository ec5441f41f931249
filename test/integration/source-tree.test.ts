/**
 * The manifest's tree id (src/git/source-tree.ts) with real git: the planner's work-tree id (updated
 * lock substituted, manifest left out) equals the id the host computes from a bare clone of the
 * commit that holds those files, whatever commit that is; any other change gives another id; the
 * user's index and work tree are untouched.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGit } from "../../src/git/git.js";
import type { RepoContext } from "../../src/git/remote-branch.js";
import { sourceTreeId } from "../../src/git/source-tree.js";
import { run } from "../../src/proc/run.js";
import { nixTestEnv } from "../helpers/nix-env.js";

const env = nixTestEnv();
const git = createGit(run, env);
let dir: string;
let work: string;
const sh = async (cwd: string, args: string[]) => {
  const r = await run("git", args, { cwd, env });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
};
const ctx = (repo: string): RepoContext => ({ git, repo, env });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ternix-tree-test-"));
  work = join(dir, "work");
  await mkdir(join(work, "fleet"), { recursive: true });
  await sh(dir, ["init", "--quiet", work]);
  await writeFile(join(work, "fleet", "flake.nix"), "{ outputs = _: { }; }\n");
  await writeFile(join(work, "fleet", "flake.lock"), '{"version":7,"old":true}\n');
  await writeFile(join(work, "fleet", "ternix-hosts.json"), "{}\n");
  await writeFile(join(work, "README.md"), "fleet\n");
  await sh(work, ["add", "-A"]);
  await sh(work, ["commit", "--quiet", "-m", "base"]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NEW_LOCK = '{"version":7,"new":true}\n';
const without = "fleet/ternix-hosts.json";

describe("sourceTreeId", () => {
  it("the planner's work tree with the updated lock = the commit holding it, also from a bare clone and after a merge commit", async () => {
    const indexBefore = await readFile(join(work, ".git", "index"));
    // An untracked file is invisible to Nix, and to the id.
    await writeFile(join(work, "notes.txt"), "scratch\n");
    const planned = await sourceTreeId(
      ctx(work),
      { workTree: true },
      { replace: [{ path: "fleet/flake.lock", content: NEW_LOCK }], without },
    );
    expect(await readFile(join(work, ".git", "index"))).toEqual(indexBefore);
    expect(await sh(work, ["status", "--porcelain"])).toBe("?? notes.txt");

    // The PR: lock and a new manifest in one commit on a branch, merged with a merge commit.
    await sh(work, ["checkout", "--quiet", "-b", "update"]);
    await writeFile(join(work, "fleet", "flake.lock"), NEW_LOCK);
    await writeFile(join(work, "fleet", "ternix-hosts.json"), `{"tree":"${planned}"}\n`);
    await sh(work, ["commit", "--quiet", "-am", "update"]);
    await sh(work, ["checkout", "--quiet", "-"]);
    await sh(work, ["merge", "--quiet", "--no-ff", "-m", "merge", "update"]);
    const merge = await sh(work, ["rev-parse", "HEAD"]);
    const bare = join(dir, "host.git");
    await sh(dir, ["clone", "--quiet", "--bare", work, bare]);
    expect(await sourceTreeId(ctx(bare), { commit: merge }, { without })).toBe(planned);
    // Only the manifest is left out: with it the tree is another.
    expect(await sh(bare, ["rev-parse", `${merge}^{tree}`])).not.toBe(planned);
  });

  it("any other change, tracked anywhere in the repository, gives another id", async () => {
    const head = await sh(work, ["rev-parse", "HEAD"]);
    const before = await sourceTreeId(ctx(work), { commit: head }, { without });
    await writeFile(join(work, "README.md"), "fleet, edited\n");
    expect(await sourceTreeId(ctx(work), { workTree: true }, { without })).not.toBe(before);
    await sh(work, ["checkout", "--quiet", "--", "README.md"]);
    expect(await sourceTreeId(ctx(work), { workTree: true }, { without })).toBe(before);
    // A missing manifest is the same tree as an ignored one.
    await rm(join(work, "fleet", "ternix-hosts.json"));
    expect(await sourceTreeId(ctx(work), { workTree: true }, { without })).toBe(before);
    await sh(work, ["checkout", "--quiet", "--", "fleet/ternix-hosts.json"]);
  });
});
