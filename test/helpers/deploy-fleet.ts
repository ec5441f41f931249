/**
 * The deploy tests' fleet: fixture hosts of the test world, each a "machine" in a temporary
 * directory (profile, current-system link, state dir, its own store for `nix copy`) reached over
 * its own real sshd on a loopback port. Each host's sessions know its paths (sshd environment),
 * so the fixture systems' switch-to-configuration repoints that host's current-system link.
 *
 * Per host, two stand-ins for what a NixOS host has:
 *   bin/systemctl    `--failed …` lists the lines of failed-units; `stop UNIT.timer` disarms a switch.
 *   bin/systemd-run  `--on-active=Ns --unit=U … -- CMD…` arms a dead man's switch: a detached
 *                    background `sleep N; CMD…` (its pid in switches/U); anything else runs CMD… in
 *                    the foreground (activation). Both log to the shared events.log with the time,
 *                    so tests see the order across hosts.
 * The switch is honest: nothing but that background process re-activates the previous system.
 *
 * By default a host's sessions use this machine's Nix daemon (its store holds what Ternix built) and
 * `nix copy` fills the host's own store beside it (`remote-store`). A host in `ownNix` is a separate
 * machine as far as Nix goes: its sessions run in a mount namespace where /nix is the host's own
 * (`store/nix`: store, database, profiles' GC roots), with a local store and no daemon, so what is
 * built there is absent from this machine's store and what runs there must have been copied or
 * built there (build-on = "target").
 */
import { chmod, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../src/proc/run.js";
import { NIX_FLAGS } from "./nix-env.js";
import { buildHosts, createWorld, setFleetHosts, type HostSpec, type World } from "./world.js";
import { startSshdFleet, type SshdFleet } from "./sshd.js";

export interface DeployHost {
  name: string;
  dir: string;
  port: number;
  destination: string;
  profile: string;
  currentSystem: string;
  switchLog: string;
  store: string;
  /** A check on this host fails while this file exists. */
  failFlag: string;
  stopSshd(): Promise<void>;
}

export interface DeployFleet {
  world: World;
  sshd: SshdFleet;
  hosts: Record<string, DeployHost>;
  eventsLog: string;
  /**
   * Rewrite the fleet so the hosts' toplevels change (a kernel parameter `ternix.bump=N`); default all
   * hosts. `specs`: more settings for some hosts, for this version of the fleet only.
   */
  bump(n: number, hosts?: readonly string[], specs?: Record<string, Partial<HostSpec>>): Promise<void>;
  /**
   * ternix.toml for these hosts; `extra` is appended (TOML), `perHost` after each host's check,
   * `hostKeys` (e.g. `build-on = "target"`) in the host's own table.
   */
  writeConfig(
    extra?: string,
    perHost?: Record<string, string>,
    hostKeys?: Record<string, string>,
  ): Promise<void>;
  /** Make each host run (profile generation 1 + current-system) what the flake builds now. */
  seed(): Promise<Record<string, string>>;
  events(): Promise<string[]>;
  switchLog(host: string): Promise<string[]>;
  running(host: string): Promise<string>;
  cleanup(): Promise<void>;
}

const tomlString = (s: string) => JSON.stringify(s);

export async function createDeployFleet(
  names: readonly string[],
  options: { ownNix?: readonly string[] } = {},
): Promise<DeployFleet> {
  const ownNix = new Set(options.ownNix ?? []);
  const bumps = new Map(names.map((name) => [name, 0]));
  const specs = (more: Record<string, Partial<HostSpec>> = {}): HostSpec[] =>
    names.map((name) => ({ name, kernelParams: [`ternix.bump=${bumps.get(name) ?? 0}`], ...more[name] }));
  const world = await createWorld({ hosts: specs() });
  const eventsLog = join(world.dir, "events.log");
  await writeFile(eventsLog, "");
  const machines = names.map((name, i) => {
    const dir = join(world.dir, `host-${i}`);
    return {
      name,
      dir,
      profile: join(dir, "profiles", "system"),
      currentSystem: join(dir, "run", "current-system"),
      switchLog: join(dir, "switch.log"),
      store: join(dir, "store"),
      failFlag: join(dir, "fail"),
    };
  });
  for (const m of machines) {
    await Promise.all(
      ["profiles", "run", "bin", "state", "switches"].map((d) => mkdir(join(m.dir, d), { recursive: true })),
    );
    await writeFile(join(m.dir, "failed-units"), "");
    await writeFile(m.switchLog, "");
    await writeFile(
      join(m.dir, "bin", "systemctl"),
      `#!/bin/sh
case "$1" in
  --failed) while read -r u; do [ -n "$u" ] && echo "$u loaded failed failed $u"; done < '${m.dir}/failed-units'; exit 0 ;;
  stop)
    unit="\${2%.timer}"; f='${m.dir}/switches/'"$unit"
    [ -f "$f" ] || { echo "Failed to stop $2: Unit $2 not loaded." >&2; exit 5; }
    pid=$(cat "$f"); rm -f "$f"
    kill "$pid" 2>/dev/null || { echo "Failed to stop $2: Unit $2 not loaded." >&2; exit 5; }
    echo "$(date +%s.%N) ${m.name} disarmed $unit" >> '${eventsLog}'
    exit 0 ;;
esac
exit 0
`,
    );
    await writeFile(
      join(m.dir, "bin", "systemd-run"),
      `#!/bin/sh
on_active= unit=
while [ $# -gt 0 ]; do
  case "$1" in
    --on-active=*) on_active="\${1#--on-active=}"; on_active="\${on_active%s}" ;;
    --unit=*) unit="\${1#--unit=}" ;;
    --) shift; break ;;
  esac
  shift
done
if [ -n "$on_active" ]; then
  echo "$(date +%s.%N) ${m.name} armed $unit $*" >> '${eventsLog}'
  nohup sh -c 'sleep "$1"; shift; rm -f "$0"; echo "$(date +%s.%N) ${m.name} fired" >> '"'${eventsLog}'"'; exec "$@"' \\
    '${m.dir}/switches/'"$unit" "$on_active" "$@" </dev/null >/dev/null 2>&1 &
  echo $! > '${m.dir}/switches/'"$unit"
  exit 0
fi
exec "$@"
`,
    );
    await chmod(join(m.dir, "bin", "systemctl"), 0o755);
    await chmod(join(m.dir, "bin", "systemd-run"), 0o755);
    if (ownNix.has(m.name)) {
      await mkdir(join(m.store, "nix", "store"), { recursive: true });
      await mkdir(join(m.store, "nix", "var", "nix"), { recursive: true });
      // The host's own /nix, settings like this machine's tests (no substituters, no sandbox). No
      // build users: this machine's daemon uses the same nixbld accounts, and Nix kills every process
      // of a build user before a build, so a second Nix sharing them fails builds at random.
      await writeFile(
        join(m.dir, "bin", "session"),
        `#!/bin/sh
exec unshare --mount --propagation private -- /bin/sh -c '
mount --bind "$0" /nix || exit 255
export NIX_REMOTE=local
unset NIX_DAEMON_SOCKET_PATH
export NIX_CONFIG="substituters =
sandbox = false
build-users-group ="
exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"' '${join(m.store, "nix")}'
`,
      );
      await chmod(join(m.dir, "bin", "session"), 0o755);
    }
  }
  const sessionEnv = (m: (typeof machines)[number]): Record<string, string> => {
    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      NIX_REMOTE: "daemon",
      TERNIX_FIXTURE_CURRENT_SYSTEM: m.currentSystem,
      TERNIX_FIXTURE_SWITCH_LOG: m.switchLog,
    };
    const socket = process.env["NIX_DAEMON_SOCKET_PATH"];
    if (socket) env["NIX_DAEMON_SOCKET_PATH"] = socket;
    return env;
  };
  let sshd: SshdFleet;
  try {
    sshd = await startSshdFleet(
      join(world.dir, "sshd"),
      machines.map((m) => ({
        label: m.name,
        env: sessionEnv(m),
        ...(ownNix.has(m.name) ? { command: join(m.dir, "bin", "session") } : {}),
      })),
    );
  } catch (error) {
    await world.cleanup();
    throw error;
  }
  const hosts: Record<string, DeployHost> = {};
  machines.forEach((m, i) => {
    const h = sshd.hosts[i];
    if (!h) throw new Error("missing sshd host");
    hosts[m.name] = { ...m, port: h.port, destination: h.destination, stopSshd: () => h.stop() };
  });
  const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");

  return {
    world,
    sshd,
    hosts,
    eventsLog,
    bump: (n, which = names, more = {}) => {
      for (const name of which) bumps.set(name, n);
      return setFleetHosts(world, specs(more));
    },
    async writeConfig(extra = "", perHost = {}, hostKeys = {}) {
      const parts = [
        "[deploy]",
        `ssh-options = [${sshd.sshOptions.map(tomlString).join(", ")}]`,
        "connect-timeout = 5",
        "",
      ];
      for (const h of Object.values(hosts)) {
        parts.push(
          `[deploy.hosts.${tomlString(h.name)}]`,
          `target = ${tomlString(h.destination)}`,
          `port = ${h.port}`,
          // A host with its own /nix is reached like a real one: its default store.
          ...(ownNix.has(h.name) ? [] : [`remote-store = ${tomlString(`local?root=${h.store}`)}`]),
          hostKeys[h.name] ?? "",
          `system = { profile = ${tomlString(h.profile)}, current-system = ${tomlString(h.currentSystem)}, booted-system = ${tomlString(join(h.dir, "run", "booted-system"))}, state-dir = ${tomlString(join(h.dir, "state"))}, systemctl = ${tomlString(join(h.dir, "bin", "systemctl"))}, systemd-run = ${tomlString(join(h.dir, "bin", "systemd-run"))} }`,
          `[[deploy.hosts.${tomlString(h.name)}.checks]]`,
          'type = "command"',
          'name = "not told to fail"',
          `command = ["sh", "-c", ${tomlString(`if [ -e '${h.failFlag}' ]; then echo "told to fail" >&2; exit 1; fi`)}]`,
          "retries = 0",
          perHost[h.name] ?? "",
          "",
        );
      }
      parts.push(extra, "");
      await writeFile(join(world.fleetDir, "ternix.toml"), parts.join("\n"));
    },
    async seed() {
      const built = await buildHosts(world, names);
      for (const h of Object.values(hosts)) {
        const path = built[h.name] as string;
        // A host with its own /nix gets its system there, as an installation would have put it.
        const hostStore = ownNix.has(h.name) ? `local?root=${h.store}` : undefined;
        if (hostStore !== undefined) {
          const c = await run("nix", [...NIX_FLAGS, "copy", "--no-check-sigs", "--to", hostStore, path], {
            env: world.env,
          });
          if (c.exitCode !== 0) throw new Error(`nix copy failed: ${c.stderr}`);
        }
        const r = await run("nix-env", ["--profile", h.profile, "--set", path], {
          env: hostStore === undefined ? world.env : { ...world.env, NIX_REMOTE: hostStore },
        });
        if (r.exitCode !== 0) throw new Error(`nix-env --set failed: ${r.stderr}`);
        await symlink(path, h.currentSystem);
      }
      return built;
    },
    events: () => lines(eventsLog),
    switchLog: (host) => lines((hosts[host] as DeployHost).switchLog),
    running: (host) => readlink((hosts[host] as DeployHost).currentSystem),
    async cleanup() {
      await sshd.stop();
      // A switch a test left armed must not fire into a removed directory later.
      await run("sh", [
        "-c",
        `for f in ${world.dir}/host-*/switches/*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; true`,
      ]);
      await world.cleanup();
    },
  };
}
