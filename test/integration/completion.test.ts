/**
 * End-to-end: the bash script from `ternix completion bash`, sourced in a real `bash` and driven the
 * way readline does (COMP_WORDS/COMP_CWORD), asks the built CLI, which evaluates the fixture fleet's
 * host names with real Nix and reads input names from its flake.lock.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../../src/proc/run.js";
import { CLI_BIN, ensureBuiltCli, lines, runCli } from "../helpers/cli.js";
import { createWorld, type World } from "../helpers/world.js";

// A host name the shell must neither expand nor split.
const ODD_HOST = "db $(touch pwned) one";
let world: World;
let script: string;
let binDir: string;

beforeAll(async () => {
  await ensureBuiltCli();
  world = await createWorld({ hosts: [{ name: "web" }, { name: "worker" }, { name: ODD_HOST }] });
  binDir = join(world.dir, "bin");
  await mkdir(binDir);
  // The script calls `ternix` from PATH, as an installed one would.
  await writeFile(join(binDir, "ternix"), `#!/bin/sh\nexec '${process.execPath}' '${CLI_BIN}' "$@"\n`);
  await chmod(join(binDir, "ternix"), 0o755);
  const printed = await runCli(["completion", "bash"], { cwd: world.fleetDir, env: world.env });
  expect(printed.exitCode).toBe(0);
  script = join(world.dir, "ternix.bash");
  await writeFile(script, printed.stdout);
});

afterAll(async () => {
  await world?.cleanup();
});

/** What bash offers for the words typed so far (the last one is under the cursor). */
async function completeIn(cwd: string, ...words: string[]): Promise<string[]> {
  const all = ["ternix", ...words];
  const program = [
    `source ${JSON.stringify(script)}`,
    `COMP_WORDS=(${all.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(" ")})`,
    `COMP_CWORD=${all.length - 1}`,
    "_ternix_complete",
    `if (( \${#COMPREPLY[@]} )); then printf '%s\\n' "\${COMPREPLY[@]}"; fi`,
  ].join("\n");
  const result = await run("bash", ["-c", program], {
    cwd,
    env: { ...world.env, PATH: `${binDir}:${world.env.PATH ?? ""}` },
  });
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return lines(result.stdout);
}

describe("ternix completion bash", () => {
  test("commands come from the command tree: every command in --help, and help", async () => {
    const help = await runCli(["--help"], { cwd: world.fleetDir, env: world.env });
    const listed = lines(help.stdout.split("Commands:")[1] ?? "")
      .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    expect(listed.length).toBeGreaterThan(10);
    expect(await completeIn(world.fleetDir, "")).toEqual(listed);
    expect(await completeIn(world.fleetDir, "g")).toEqual(["generations", "gc"]);
    expect(await completeIn(world.fleetDir, "__")).toEqual([]);
  });

  test("options of the command, then its global ones; option values by kind", async () => {
    const options = await completeIn(world.fleetDir, "update", "--");
    expect(options).toEqual(
      expect.arrayContaining(["--flake", "--dry-run", "--commit", "--json", "--verbose"]),
    );
    expect(options).not.toContain("--upstream");
    expect(await completeIn(world.fleetDir, "completion", "")).toEqual(["bash", "zsh", "fish"]);
    await mkdir(join(world.fleetDir, "sub-dir"));
    expect(await completeIn(world.fleetDir, "inputs", "--flake", "sub")).toEqual(["sub-dir"]);
  });

  test("input names from flake.lock, nested ones as parent/name", async () => {
    const lock = JSON.parse(await readFile(join(world.fleetDir, "flake.lock"), "utf8")) as {
      nodes: { root: { inputs: Record<string, string> } };
    };
    const top = Object.keys(lock.nodes.root.inputs).sort();
    const offered = await completeIn(world.fleetDir, "update", "");
    expect(offered.filter((n) => !n.includes("/")).sort()).toEqual(top);
    expect(offered).toContain("home/nixpkgs");
    expect(await completeIn(world.fleetDir, "update", "nixpkgs", "ha")).toEqual(["hardware"]);
    // From another directory, through --flake.
    expect(await completeIn(world.dir, "update", "--flake", world.fleetDir, "hom")).toEqual([
      "home",
      "home/nixpkgs",
    ]);
  });

  test("host names by evaluation, quoted for the shell and never expanded", async () => {
    expect(await completeIn(world.fleetDir, "switch", "w")).toEqual(["web", "worker"]);
    const all = await completeIn(world.fleetDir, "build", "");
    expect(all).toHaveLength(3);
    const quoted = all.find((h) => h.startsWith("db")) as string;
    expect(quoted).not.toBe(ODD_HOST);
    // bash reads the quoted word back as the host's name.
    const back = await run("bash", ["-c", `printf '%s' ${quoted}`], { cwd: world.dir, env: world.env });
    expect(back.stdout).toBe(ODD_HOST);
    expect(await completeIn(world.fleetDir, "plan", "--hosts", "")).toHaveLength(3);
    await expect(readFile(join(world.fleetDir, "pwned"))).rejects.toThrow();
    await expect(readFile(join(world.dir, "pwned"))).rejects.toThrow();
  });

  test("outside a flake: no hosts or inputs, and no error on the terminal", async () => {
    expect(await completeIn(world.dir, "switch", "")).toEqual([]);
    expect(await completeIn(world.dir, "update", "")).toEqual([]);
  });
});
