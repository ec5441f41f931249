/**
 * Vitest global setup for the integration project: make sure a nix-daemon answers on the
 * standard socket (start one if not, and stop it afterwards), and put the test environment
 * (nix-env.ts) into process.env so workers and the processes they spawn inherit it.
 *
 * With TERNIX_TEST_NIX=DIR the tests run DIR's Nix, and that Nix gets a nix-daemon of its own on a
 * socket of this run, rather than talking to the machine's daemon (Debian's 2.8): a NixOS machine
 * runs client and daemon of the same version, and build results, build failures and their log
 * texts (which `plan` reports per host) come from the daemon. Both daemons share /nix/store and its
 * database, which Nix supports across versions of the same schema, and stop() ends only ours.
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/proc/run.js";
import { daemonSocket, ensureNixDaemon } from "./nix-daemon.js";
import { nixTestEnv, nixTestVariables, testNixDir, TEST_NIX_VARIABLE } from "./nix-env.js";

/** The commands a Nix installation provides as links to its multi-call `nix` binary. */
const NIX_COMMANDS = [
  "nix",
  "nix-build",
  "nix-channel",
  "nix-collect-garbage",
  "nix-copy-closure",
  "nix-daemon",
  "nix-env",
  "nix-hash",
  "nix-instantiate",
  "nix-prefetch-url",
  "nix-shell",
  "nix-store",
];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A bin directory of this run whose every `nix-*` command runs DIR's Nix. Where DIR's own entry is not
 * an executable (a copy that lost its symlinks, as `../shared/nix-2.24/bin` has: 3-byte files saying
 * "nix"), PATH lookup would silently skip it and run the next `nix-store` on PATH, Debian's 2.8; the
 * link to DIR's `nix` runs the right one (it dispatches on the name it was called by).
 */
function linkTestNix(dir: string, into: string): void {
  if (!isExecutableFile(join(dir, "nix"))) throw new Error(`${TEST_NIX_VARIABLE}=${dir} holds no nix binary`);
  for (const name of NIX_COMMANDS) {
    const own = join(dir, name);
    symlinkSync(isExecutableFile(own) ? own : join(dir, "nix"), join(into, name));
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const nixDir = testNixDir();
  let runDir: string | undefined;
  if (nixDir !== undefined) {
    if (!existsSync(nixDir)) throw new Error(`${TEST_NIX_VARIABLE}=${nixDir} does not exist`);
    runDir = mkdtempSync(join(tmpdir(), "ternix-test-nix-"));
    const bin = join(runDir, "bin");
    mkdirSync(bin);
    mkdirSync(join(runDir, "daemon"));
    linkTestNix(nixDir, bin);
    // Workers and the processes they start put this directory first on PATH (nix-env.ts).
    process.env[TEST_NIX_VARIABLE] = bin;
    process.env["NIX_DAEMON_SOCKET_PATH"] = join(runDir, "daemon", "socket");
  }
  Object.assign(process.env, nixTestVariables());
  const daemon = await ensureNixDaemon(nixTestEnv());
  const version = await run("nix", ["--version"], { env: nixTestEnv() });
  process.stderr.write(
    `Nix for the tests: ${version.stdout.trim()} (${nixDir ?? "from PATH"}), ` +
      `${daemon.startedPid === undefined ? "the running" : "a new"} nix-daemon on ${daemonSocket(process.env)}\n`,
  );
  return async () => {
    await daemon.stop();
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  };
}
