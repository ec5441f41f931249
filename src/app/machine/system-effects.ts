/**
 * Effects only the on-machine commands need (apply, rollback, gc), passed in like `Effects` so tests
 * can answer "are we root?", "is that pid alive?" and "is this writable?" either way.
 */
import { access, constants } from "node:fs/promises";
import { connect } from "node:net";
import { hostname } from "node:os";
import { dirname } from "node:path";

export interface SystemEffects {
  isRoot(): boolean;
  /** Whether the current user may create files in `dir` (or, if it does not exist yet, its nearest existing parent). */
  canWrite(dir: string): Promise<boolean>;
  pid: number;
  isPidAlive(pid: number): boolean;
  sleep(ms: number): Promise<void>;
  fetch: typeof globalThis.fetch;
  /** Resolve once a TCP connection opens; reject on error or after `timeoutMs`. */
  connectTcp(host: string, port: number, timeoutMs: number): Promise<void>;
  hostname(): string;
}

export function realSystemEffects(): SystemEffects {
  return {
    isRoot: () => process.getuid?.() === 0,
    canWrite,
    pid: process.pid,
    isPidAlive,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    fetch: globalThis.fetch.bind(globalThis),
    connectTcp,
    hostname: () => hostname(),
  };
}

async function canWrite(dir: string): Promise<boolean> {
  let path = dir;
  for (;;) {
    try {
      await access(path, constants.W_OK | constants.X_OK);
      return true;
    } catch (error) {
      const parent = dirname(path);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === path) return false;
      path = parent;
    }
  }
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}
