/**
 * The SSH foundation against real sshds on loopback: sshRun carries argument arrays intact through
 * the remote shell, host keys are checked, an unreachable host is ssh's exit 255, and nix copy
 * really fills a store that is not the local one.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSshOption, sshRun, SSH_FAILURE_EXIT, type SshTarget } from "../../src/remote/ssh.js";
import { copyClosure } from "../../src/remote/copy.js";
import { createNix } from "../../src/nix/nix.js";
import { run } from "../../src/proc/run.js";
import { nixTestEnv, NIX_FLAGS } from "../helpers/nix-env.js";
import { sshdAvailable, startSshdFleet, type SshdFleet } from "../helpers/sshd.js";

const available = await sshdAvailable();
if (!available)
  process.stderr.write(
    "remote-ssh.test.ts: skipped, /usr/sbin/sshd is missing (apt-get install openssh-server)\n",
  );

let dir: string;
let fleet: SshdFleet;
const target = (i: number, options = fleet.sshOptions): SshTarget => ({
  destination: fleet.hosts[i]?.destination ?? "",
  port: fleet.hosts[i]?.port,
  connectTimeout: 5,
  options: options.map(parseSshOption),
});

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), "ternix-ssh-"));
  fleet = await startSshdFleet(join(dir, "sshd"), [
    { label: "one", env: { TERNIX_HOST_LABEL: "one" } },
    { label: "two", env: { TERNIX_HOST_LABEL: "two" } },
  ]);
});
afterAll(async () => {
  await fleet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("ssh foundation on real sshd", () => {
  it("runs an argv remotely, every word intact, in that host's environment", async () => {
    const words = ["", "with space", "it's", '"q"', "$HOME", "`id`", "line\nbreak", "-n", "*"];
    const remote = sshRun(target(0), { env: nixTestEnv() });
    const r = await remote("sh", ["-c", 'printf "%s\\0" "$TERNIX_HOST_LABEL" "$@"', "sh", ...words]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(["one", ...words]);
    const two = await sshRun(target(1), { env: nixTestEnv() })("printenv", ["TERNIX_HOST_LABEL"]);
    expect(two.stdout).toBe("two\n");
  });

  it("passes stdin through", async () => {
    const r = await sshRun(target(0), { env: nixTestEnv() })("cat", [], { input: "hello\n" });
    expect(r.stdout).toBe("hello\n");
  });

  it("checks host keys: a host missing from known_hosts is refused (BatchMode, no prompt)", async () => {
    const empty = join(dir, "empty_known_hosts");
    await writeFile(empty, "");
    const options = fleet.sshOptions.map((o) =>
      o.startsWith("UserKnownHostsFile=") ? `UserKnownHostsFile=${empty}` : o,
    );
    const r = await sshRun(target(0, options), { env: nixTestEnv() })("true", []);
    expect(r.exitCode).toBe(SSH_FAILURE_EXIT);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  it("an unreachable host is exit 255", async () => {
    const r = await sshRun({ ...target(0), port: 1, connectTimeout: 2 }, { env: nixTestEnv() })("true", []);
    expect(r.exitCode).toBe(SSH_FAILURE_EXIT);
  });

  it("nix copy fills the target's own store (a chroot store, not the local one)", async () => {
    const env = nixTestEnv();
    const nix = await createNix({ run, env });
    const built = await run(
      "nix-build",
      [
        "--no-out-link",
        "--expr",
        `derivation { name = "ternix-copy-probe"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${dir} > $out" ]; }`,
      ],
      { env },
    );
    expect(built.exitCode, built.stderr).toBe(0);
    const path = built.stdout.trim();
    const store = join(dir, "remote-store");
    const result = await copyClosure(nix, target(1), [path], { remoteStore: `local?root=${store}` });
    expect(result.ok, result.stderr).toBe(true);
    const info = await run("nix", [...NIX_FLAGS, "path-info", "--store", `local?root=${store}`, path], {
      env,
    });
    expect(info.exitCode, info.stderr).toBe(0);
    expect(info.stdout.trim()).toBe(path);
  });
});
