/**
 * Make sure a nix-daemon answers on the standard socket, starting one if none does. Shared by the
 * integration tests' global setup and the benchmarks under bench/.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { run } from "../../src/proc/run.js";
import { NIX_FLAGS, nixTestEnv } from "./nix-env.js";

/** Nix reads NIX_DAEMON_SOCKET_PATH in the client and the daemon alike. */
export function daemonSocket(env: NodeJS.ProcessEnv): string {
  return env["NIX_DAEMON_SOCKET_PATH"] ?? "/nix/var/nix/daemon-socket/socket";
}
const START_TIMEOUT_MS = 30_000;

export interface NixDaemon {
  /** Process group id of the daemon this call started; undefined when one was already answering. */
  startedPid: number | undefined;
  /** Stop the daemon this call started (and anything it forked); does nothing otherwise. */
  stop(): Promise<void>;
}

export async function ensureNixDaemon(env: NodeJS.ProcessEnv = nixTestEnv()): Promise<NixDaemon> {
  const socket = daemonSocket(env);
  if (await socketAccepts(socket)) {
    if (!(await storePings(env))) {
      throw new Error(`a nix-daemon listens on ${socket} but \`nix store ping\` fails`);
    }
    return { startedPid: undefined, stop: () => Promise.resolve() };
  }
  // Detached in its own process group, so stop() can end it and anything it forked. The `nix-daemon`
  // found on env's PATH: the Nix under test (TERNIX_TEST_NIX) when one is selected.
  const child = spawn("nix-daemon", [], { detached: true, stdio: "ignore", env: daemonEnv(env) });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start nix-daemon");
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await storePings(env))) {
    if (Date.now() > deadline) {
      kill(pid);
      throw new Error(`nix-daemon did not answer on ${socket} within ${START_TIMEOUT_MS / 1000}s`);
    }
    await sleep(200);
  }
  return {
    startedPid: pid,
    stop: async () => {
      kill(pid);
      await sleep(200);
    },
  };
}

/**
 * The daemon's own environment: the clients' settings minus the store they talk to. A daemon that
 * inherits NIX_REMOTE=daemon opens its store through its own socket, so every connection forks a
 * worker that connects again: thousands of processes and calls that hang (seen on a fresh machine).
 */
export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  delete out["NIX_REMOTE"];
  // `store = daemon` in NIX_CONFIG would do the same; keep every other line (substituters, jobs).
  const config = out["NIX_CONFIG"];
  if (config !== undefined) {
    out["NIX_CONFIG"] = config
      .split("\n")
      .filter((line) => !/^\s*store\s*=/.test(line))
      .join("\n");
  }
  return out;
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function storePings(env: NodeJS.ProcessEnv): Promise<boolean> {
  const result = await run("nix", [...NIX_FLAGS, "store", "ping"], { env });
  return result.exitCode === 0;
}

function kill(pid: number): void {
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
