/**
 * Vitest global setup for the integration project: make sure a nix-daemon answers on the
 * standard socket (start one if not, and stop it afterwards), and put the test environment
 * (nix-env.ts) into process.env so workers and the processes they spawn inherit it.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { run } from "../../src/proc/run.js";
import { NIX_FLAGS, nixTestEnv, nixTestVariables } from "./nix-env.js";

/** Nix reads NIX_DAEMON_SOCKET_PATH in the client and the daemon alike. */
const DAEMON_SOCKET = process.env["NIX_DAEMON_SOCKET_PATH"] ?? "/nix/var/nix/daemon-socket/socket";
const START_TIMEOUT_MS = 30_000;

export default async function setup(): Promise<() => Promise<void>> {
  Object.assign(process.env, nixTestVariables());

  let started: number | undefined;
  if (!(await socketAccepts(DAEMON_SOCKET))) {
    // Detached in its own process group, so teardown can stop it and anything it forked.
    const child = spawn("nix-daemon", [], { detached: true, stdio: "ignore", env: process.env });
    child.unref();
    if (child.pid === undefined) throw new Error("could not start nix-daemon");
    started = child.pid;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await storePings())) {
      if (Date.now() > deadline) {
        stop(started);
        throw new Error(`nix-daemon did not answer on ${DAEMON_SOCKET} within ${START_TIMEOUT_MS / 1000}s`);
      }
      await sleep(200);
    }
  } else if (!(await storePings())) {
    throw new Error(`a nix-daemon listens on ${DAEMON_SOCKET} but \`nix store ping\` fails`);
  }

  return async () => {
    if (started !== undefined) {
      stop(started);
      await sleep(200);
    }
  };
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

async function storePings(): Promise<boolean> {
  const result = await run("nix", [...NIX_FLAGS, "store", "ping"], { env: nixTestEnv() });
  return result.exitCode === 0;
}

function stop(pid: number): void {
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
