/**
 * End-to-end: the built CLI against hostile input (issue 10): special files where Ternix expects
 * flake.lock, ternix.toml or a lock file to compare, odd input and host names, bad flags. Each case
 * must end with one clear error (or a correct report) and nothing changed. Needs no Nix builds.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../src/proc/run.js";
import { ensureBuiltCli, expectCleanError, lines, runCli } from "../helpers/cli.js";

let scratch: string;
let flakeDir: string;

/** A lock in the shape `nix flake lock` writes; `names` are the root's direct inputs. */
function lockText(names: readonly string[], rev = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add"): string {
  const nodes: Record<string, unknown> = {};
  const rootInputs: Record<string, string> = {};
  names.forEach((name, i) => {
    const key = `node${i}`;
    // defineProperty: assigning to `__proto__` would set the prototype instead of adding an input.
    Object.defineProperty(rootInputs, name, { value: key, enumerable: true });
    nodes[key] = {
      locked: {
        lastModified: 1733040600,
        narHash: "sha256-Ln3mgx8ZF5O7Kp2e1S8Yp3vZJ6yTb5Z7Fu2xqNHnW2k=",
        owner: "NixOS",
        repo: "nixpkgs",
        rev,
        type: "github",
      },
      original: { owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" },
    };
  });
  nodes.root = { inputs: rootInputs };
  return `${JSON.stringify({ nodes, root: "root", version: 7 }, null, 2)}\n`;
}

const env = (): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: "1", TERM: "dumb" });
const ternix = (args: readonly string[]) => runCli(args, { cwd: flakeDir, env: env() });

beforeAll(async () => {
  await ensureBuiltCli();
  scratch = await mkdtemp(join(tmpdir(), "ternix-hostile-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));
beforeEach(async () => {
  flakeDir = await mkdtemp(join(scratch, "flake-"));
  await writeFile(join(flakeDir, "flake.nix"), "{ outputs = _: { }; }\n");
});

describe("special files where Ternix reads a file", () => {
  const mkfifo = async (path: string) => {
    await run("mkfifo", [path]);
  };

  it.each([
    ["a FIFO", mkfifo, "a FIFO \\(named pipe\\)"],
    ["a directory", (path: string) => mkdir(path), "a directory"],
  ])("flake.lock as %s: a usage error, no hang", async (_name, make, kind) => {
    await make(join(flakeDir, "flake.lock"));
    expectCleanError(await ternix(["inputs"]), 64, new RegExp(`flake\\.lock is ${kind}, not a regular file`));
  });

  it.each([
    ["a FIFO", mkfifo, "a FIFO \\(named pipe\\)"],
    ["a directory", (path: string) => mkdir(path), "a directory"],
  ])("ternix.toml as %s: a usage error, no hang", async (_name, make, kind) => {
    await writeFile(join(flakeDir, "flake.lock"), lockText(["nixpkgs"]));
    await make(join(flakeDir, "ternix.toml"));
    expectCleanError(
      await ternix(["inputs"]),
      64,
      new RegExp(`ternix\\.toml is ${kind}, not a regular file`),
    );
  });

  it("lock-diff of /dev/zero or a FIFO: a usage error, no hang", async () => {
    await writeFile(join(flakeDir, "flake.lock"), lockText(["nixpkgs"]));
    expectCleanError(
      await ternix(["lock-diff", "/dev/zero", "flake.lock"]),
      64,
      /\/dev\/zero is a character device, not a regular file/,
    );
    await mkfifo(join(flakeDir, "old.lock"));
    expectCleanError(
      await ternix(["lock-diff", "old.lock", "flake.lock"]),
      64,
      /old\.lock is a FIFO \(named pipe\), not a regular file/,
    );
    expect(await readFile(join(flakeDir, "flake.lock"), "utf8")).toBe(lockText(["nixpkgs"]));
  });
});

describe("[nix] options in ternix.toml", () => {
  it("a post-build-hook needs --trust-config, and is never run without it", async () => {
    await writeFile(join(flakeDir, "flake.lock"), lockText(["nixpkgs"]));
    const marker = join(flakeDir, "hook-ran");
    const hook = join(flakeDir, "hook.sh");
    await writeFile(hook, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    await writeFile(
      join(flakeDir, "ternix.toml"),
      `[nix]\noptions = { cores = 1, "post-build-hook" = "${hook}" }\n`,
    );
    const result = await ternix(["inputs", "--upstream"]);
    expectCleanError(
      result,
      64,
      /ternix\.toml \[nix\] options sets "post-build-hook", which .* --trust-config\.$/,
    );
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });
});

describe("host names starting with -", () => {
  it("plan --hosts=-rf chooses the host; repeated --hosts add up", async () => {
    await writeFile(
      join(flakeDir, "flake.nix"),
      '{ outputs = _: { nixosConfigurations = { web = { }; "-rf" = { }; }; }; }\n',
    );
    await writeFile(join(flakeDir, "flake.lock"), '{"nodes":{"root":{}},"root":"root","version":7}\n');
    const unknown = await ternix(["plan", "--hosts=-rf", "--hosts", "web", "--hosts=nosuch"]);
    expectCleanError(unknown, 64, /unknown host: "nosuch"$/);
    expect(unknown.stderr).toContain('"-rf", "web"');
    // Both names are known; the lock has no inputs, so the plan stops at "unchanged" (exit 2).
    const chosen = await ternix(["plan", "--hosts", "web", "--hosts=-rf", "--json"]);
    expect(chosen.exitCode, chosen.stderr).toBe(2);
    expect(JSON.parse(chosen.stdout)).toMatchObject({ kind: "plan", outcome: "lock-unchanged" });
  });
});

describe("a file that is not a lock", () => {
  it("lock-diff names the file and position, never its content", async () => {
    await writeFile(join(flakeDir, "flake.lock"), lockText(["nixpkgs"]));
    await writeFile(join(flakeDir, "shadow"), "root:$y$j9T$TOPSECRETHASH:19000:0:99999:7:::\n");
    const result = await ternix(["lock-diff", "shadow", "flake.lock"]);
    expectCleanError(result, 1, /shadow: invalid JSON: unexpected character at line 1, column 1$/);
    expect(result.stderr).not.toMatch(/TOPSECRET|root:/);
  });
});

describe("names from a third-party flake", () => {
  const evil = "evil\u001b]0;owned\u0007\u001b[2J";
  const escaped = "evil\\u001b]0;owned\\u0007\\u001b[2J";
  const names = ["__proto__", evil, "nixpkgs"];
  // eslint-disable-next-line no-control-regex
  const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

  it("inputs and lock-diff show every input, `__proto__` too, with control characters escaped", async () => {
    await writeFile(join(flakeDir, "old.lock"), lockText(names));
    await writeFile(
      join(flakeDir, "flake.lock"),
      lockText(names, "d3f2baba8f425779026c6ec04021b2e927f61e31"),
    );
    const inputs = await ternix(["inputs"]);
    expect(inputs.stderr).toBe("");
    expect(inputs.stdout).not.toMatch(raw);
    expect(lines(inputs.stdout).map((l) => l.split(/\s+/)[0])).toEqual(
      expect.arrayContaining(["__proto__", escaped, "nixpkgs"]),
    );
    const json = await ternix(["inputs", "--json"]);
    expect((JSON.parse(json.stdout) as { inputs: { id: string }[] }).inputs.map((i) => i.id).sort()).toEqual(
      [...names].sort(),
    );

    const diff = await ternix(["lock-diff", "old.lock", "flake.lock"]);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout).not.toMatch(raw);
    expect(diff.stdout).toContain(escaped);
    expect(diff.stdout).toMatch(/^__proto__ /m);
    expect(diff.stdout).toContain("3 changed");
    const diffJson = await ternix(["lock-diff", "old.lock", "flake.lock", "--json"]);
    expect(
      (JSON.parse(diffJson.stdout) as { inputs: { id: string }[] }).inputs.map((i) => i.id).sort(),
    ).toEqual([...names].sort());
  });

  it("an unknown input name with escapes is echoed escaped", async () => {
    await writeFile(join(flakeDir, "flake.lock"), lockText(names));
    const result = await ternix(["update", "--dry-run", "nosuch\u001b]0;x\u0007"]);
    expectCleanError(result, 64, /unknown input: nosuch\\u001b\]0;x\\u0007$/);
    expect(result.stderr).not.toMatch(raw);
  });
});
