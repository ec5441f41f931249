/**
 * Real Debian `sshd`s on loopback ports, one per "host", for the deploy and status tests: started as
 * the current user with a temporary host key, a temporary authorised key and a `known_hosts` made
 * for this run (host keys are checked: the clients get it through UserKnownHostsFile). Each host's
 * sessions get that host's environment (authorized_keys `environment=`), e.g. where its
 * current-system link is, so the fixture systems act on that host's temporary paths.
 *
 * sshd needs its privilege-separation directory /run/sshd; it is created when missing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { run } from "../../src/proc/run.js";

export const SSHD = "/usr/sbin/sshd";

export interface SshdHostSpec {
  /** A label for files and messages (any string). */
  label: string;
  /** Variables every session on this host gets (no newlines or double quotes). */
  env?: Record<string, string>;
  /**
   * A forced command (authorized_keys `command=`) every session runs instead, with the client's in
   * SSH_ORIGINAL_COMMAND: an executable's path (no quotes or spaces).
   */
  command?: string;
}

export interface SshdHost {
  label: string;
  port: number;
  /** `root@127.0.0.1` (or the current user's name). */
  destination: string;
  /** Stop this host's sshd (it becomes unreachable); idempotent. */
  stop(): Promise<void>;
}

export interface SshdFleet {
  hosts: SshdHost[];
  /** NAME=VALUE ssh options a client needs: the known_hosts file and the key. */
  sshOptions: string[];
  /** The same as `ssh` arguments, for a test's own ssh calls. */
  sshArgs: string[];
  knownHosts: string;
  identity: string;
  stop(): Promise<void>;
}

/** Whether sshd is installed (scripts/setup.sh installs openssh-server). */
export async function sshdAvailable(): Promise<boolean> {
  try {
    const r = await run(SSHD, ["-V"]);
    return r.exitCode !== null;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function keygen(file: string): Promise<string> {
  const r = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ternix-test", "-f", file]);
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return (await readFile(`${file}.pub`, "utf8")).trim();
}

function environmentOption(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (/["\n]/.test(v)) throw new Error(`sshd test host: ${k} cannot hold a quote or newline`);
      return `environment="${k}=${v}"`;
    })
    .join(",");
}

/** Start one sshd per spec under `dir`; stop() ends them all. */
export async function startSshdFleet(dir: string, specs: readonly SshdHostSpec[]): Promise<SshdFleet> {
  await mkdir(dir, { recursive: true });
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 }).catch(() => undefined);
  const identity = join(dir, "client_key");
  const clientKey = await keygen(identity);
  const user = userInfo().username;
  const knownLines: string[] = [];
  const children: ChildProcess[] = [];
  const hosts: SshdHost[] = [];
  const stopChild = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  try {
    for (const [i, spec] of specs.entries()) {
      const hostDir = join(dir, `host-${i}`);
      await mkdir(hostDir, { recursive: true });
      const hostKey = join(hostDir, "host_key");
      const hostPub = await keygen(hostKey);
      const authorized = join(hostDir, "authorized_keys");
      if (spec.command !== undefined && /["\s]/.test(spec.command))
        throw new Error("sshd test host: the forced command cannot hold quotes or spaces");
      const envOption = [
        ...(spec.command === undefined ? [] : [`command="${spec.command}"`]),
        environmentOption(spec.env ?? {}),
      ]
        .filter(Boolean)
        .join(",");
      await writeFile(authorized, `${envOption ? `${envOption} ` : ""}${clientKey}\n`, { mode: 0o600 });
      const port = await freePort();
      const config = join(hostDir, "sshd_config");
      await writeFile(
        config,
        [
          "ListenAddress 127.0.0.1",
          `Port ${port}`,
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${authorized}`,
          "PermitUserEnvironment yes",
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          "PidFile none",
          "LogLevel ERROR",
          "",
        ].join("\n"),
      );
      const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        let stderr = "";
        const timer = setTimeout(
          () => reject(new Error(`sshd on port ${port} did not start: ${stderr}`)),
          10_000,
        );
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`sshd exited ${code}: ${stderr}`));
        });
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        // LogLevel ERROR prints nothing on success: poll the port instead.
        const poll = async () => {
          for (;;) {
            if (await canConnect(port)) {
              clearTimeout(timer);
              return resolve();
            }
            await new Promise((r) => setTimeout(r, 25));
          }
        };
        void poll();
      });
      child.removeAllListeners("exit");
      knownLines.push(`[127.0.0.1]:${port} ${hostPub.split(" ").slice(0, 2).join(" ")}`);
      hosts.push({ label: spec.label, port, destination: `${user}@127.0.0.1`, stop: () => stopChild(child) });
    }
  } catch (error) {
    await Promise.all(children.map(stopChild));
    throw error;
  }
  const knownHosts = join(dir, "known_hosts");
  await writeFile(knownHosts, `${knownLines.join("\n")}\n`);
  const sshOptions = [
    `UserKnownHostsFile=${knownHosts}`,
    "GlobalKnownHostsFile=/dev/null",
    `IdentityFile=${identity}`,
    "IdentitiesOnly=yes",
    "LogLevel=ERROR",
  ];
  return {
    hosts,
    sshOptions,
    sshArgs: ["-o", "BatchMode=yes", ...sshOptions.flatMap((o) => ["-o", o])],
    knownHosts,
    identity,
    stop: async () => {
      await Promise.all(children.map(stopChild));
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
