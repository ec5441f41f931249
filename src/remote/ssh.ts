/**
 * The system `ssh`, driven with argument arrays: the argv builder (pure, table-tested), the
 * `NIX_SSHOPTS` and `ssh-ng://` store URI that `nix copy` uses, and `sshRun`, a `Run` whose commands
 * run on the remote machine. Host keys are checked as the user's ssh config says (Ternix never adds
 * `StrictHostKeyChecking=no`); passwords are never asked (`BatchMode=yes`).
 */
import { UsageError } from "../errors.js";
import { run as localRun, type Run } from "../proc/run.js";
import { quoteCommandLine } from "./quote.js";

/** `-o NAME=VALUE`, from `--ssh-option` and `[deploy] ssh-options`. */
export interface SshOption {
  name: string;
  value: string;
}

export interface SshTarget {
  /** `user@address` or `address`, handed to ssh as one argument after `--`. */
  destination: string;
  port?: number | undefined;
  /** Seconds before a connection attempt gives up (`ConnectTimeout`). */
  connectTimeout: number;
  options: readonly SshOption[];
  /**
   * Share one connection per host between the commands of a run (as nixos-rebuild does): the
   * ControlPath socket pattern, e.g. `/tmp/ternix-ssh-XXXX/%C`. Absent: a connection per command.
   */
  controlPath?: string | undefined;
}

/** How long a shared connection stays open after its last command (seconds). */
export const CONTROL_PERSIST_SECONDS = 30;

export const DEFAULT_CONNECT_TIMEOUT = 10;

/** ssh exits 255 when it could not connect or authenticate (and when the remote command does). */
export const SSH_FAILURE_EXIT = 255;

const OPTION_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const USER = "[A-Za-z0-9._][A-Za-z0-9._-]*";
const ADDRESS = "[A-Za-z0-9_:][A-Za-z0-9._:%-]*|\\[[0-9A-Fa-f:.%A-Za-z]+\\]";
const DESTINATION = new RegExp(`^(?:${USER}@)?(?:${ADDRESS})$`);

/** Options ssh must keep as Ternix sets them: a user's value could make ssh ask for a password. */
const RESERVED = new Set(["batchmode"]);

/** `NAME=VALUE` (the flag's and the config's form) as an option; a usage error names what is wrong. */
export function parseSshOption(text: string): SshOption {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? "" : text.slice(eq + 1);
  if (eq < 0 || !OPTION_NAME.test(name) || CONTROL.test(value)) {
    throw new UsageError(`invalid ssh option ${JSON.stringify(text)}: expected NAME=VALUE.`, {
      hint: "Use ssh_config names, e.g. --ssh-option UserKnownHostsFile=/etc/ssh/fleet_known_hosts.",
    });
  }
  if (RESERVED.has(name.toLowerCase())) {
    throw new UsageError(`the ssh option ${name} cannot be changed: Ternix runs ssh with BatchMode=yes.`, {
      hint: "Ternix never asks for passwords; use keys (an agent or IdentityFile=…).",
    });
  }
  return { name, value };
}

/**
 * ssh options that run local commands or turn off host key checks. From a repository's ternix.toml
 * they need `--trust-config` (a repository is not trusted to run code, as with `[nix] options`);
 * on the command line they are the user's own choice.
 */
const UNTRUSTED_OPTIONS = new Set([
  "proxycommand",
  "localcommand",
  "permitlocalcommand",
  "knownhostscommand",
  "remotecommand",
  "match",
  "include",
]);

/** `NAME=VALUE` from a config file: parseSshOption, and refused when it needs trust the file lacks. */
export function parseConfigSshOption(text: string, file: string, trusted: boolean): SshOption {
  const option = parseSshOption(text);
  const name = option.name.toLowerCase();
  const weakensHostKeys = name === "stricthostkeychecking" && !/^(yes|ask)$/i.test(option.value);
  if (!trusted && (UNTRUSTED_OPTIONS.has(name) || weakensHostKeys)) {
    throw new UsageError(`${file}: [deploy] ssh-options: ${option.name} needs --trust-config.`, {
      hint: `It can run commands or change which host keys are accepted; review the file, then pass --trust-config (or give it as --ssh-option).`,
    });
  }
  return option;
}

/** Whether `destination` can be an ssh destination (`user@address`); host names need not be. */
export function isSshDestination(destination: string): boolean {
  return DESTINATION.test(destination);
}

/**
 * The argv (after `ssh`) that runs `remote` on the target. Ternix's own options come first because
 * ssh keeps the first value it gets for an option. `extra` options (e.g. a fresh connection) go
 * before the user's for the same reason.
 */
export function sshArgs(
  target: SshTarget,
  remote: readonly string[],
  extra: readonly SshOption[] = [],
): string[] {
  if (!isSshDestination(target.destination)) {
    throw new UsageError(`${JSON.stringify(target.destination)} is not an ssh destination (user@address).`, {
      hint: 'Set target = "user@address" for this host in ternix.toml [deploy.hosts."NAME"].',
    });
  }
  return [
    ...optionArgs(target, extra),
    ...(target.port === undefined ? [] : ["-p", String(target.port)]),
    "--",
    target.destination,
    quoteCommandLine(remote),
  ];
}

function optionArgs(target: SshTarget, extra: readonly SshOption[]): string[] {
  // ssh keeps the first value: `extra` (e.g. NEW_CONNECTION) wins over the shared connection.
  const shared: SshOption[] =
    target.controlPath === undefined
      ? []
      : [
          { name: "ControlMaster", value: "auto" },
          { name: "ControlPath", value: target.controlPath },
          { name: "ControlPersist", value: String(CONTROL_PERSIST_SECONDS) },
        ];
  const options: SshOption[] = [
    { name: "BatchMode", value: "yes" },
    { name: "ConnectTimeout", value: String(target.connectTimeout) },
    ...extra,
    ...shared,
    ...target.options,
  ];
  return options.flatMap((o) => ["-o", `${o.name}=${o.value}`]);
}

/** Options that make ssh open a new connection even when the user's config shares one (ControlMaster). */
export const NEW_CONNECTION: readonly SshOption[] = [
  { name: "ControlMaster", value: "no" },
  { name: "ControlPath", value: "none" },
];

/**
 * `NIX_SSHOPTS` for `nix copy --to ssh-ng://…`: Nix splits it at whitespace (no quoting), so an
 * option whose value holds whitespace cannot be passed and is refused by name.
 */
export function nixSshOpts(target: SshTarget): string {
  // Nix runs its own master connection for ssh-ng; a shared ControlPath would fight it.
  const words = [
    ...optionArgs({ ...target, controlPath: undefined }, []),
    ...(target.port === undefined ? [] : ["-p", String(target.port)]),
  ];
  const spaced = words.find((w) => /\s/.test(w));
  if (spaced !== undefined) {
    throw new UsageError(
      `the ssh option ${JSON.stringify(spaced)} contains whitespace, which nix copy cannot pass.`,
      {
        hint: "Nix splits NIX_SSHOPTS at spaces: move the file to a path without spaces, or set it in ~/.ssh/config.",
      },
    );
  }
  return words.join(" ");
}

/**
 * The `nix copy --to` store for the target: `ssh-ng://DESTINATION`, with `remote-store` (the store
 * on the target, e.g. `local?root=/srv/store`) when one is configured. The port travels in
 * NIX_SSHOPTS: Nix 2.8's ssh stores take no port in the URI.
 */
export function sshStoreUri(target: SshTarget, remoteStore?: string): string {
  if (!isSshDestination(target.destination)) sshArgs(target, ["true"]); // throws the same error
  const query =
    remoteStore === undefined || remoteStore === "" ? "" : `?remote-store=${encodeURIComponent(remoteStore)}`;
  return `ssh-ng://${target.destination}${query}`;
}

export interface SshRunOptions {
  /** Prefix every remote command with `sudo -n --` (the login user is not root). */
  sudo?: boolean | undefined;
  /** The environment of the local `ssh` process (agent socket, config); the remote gets none of it. */
  env: NodeJS.ProcessEnv;
  /** The ssh executable (default: `ssh` on PATH). */
  ssh?: string | undefined;
  /** Extra options for every connection of this runner, e.g. NEW_CONNECTION. */
  extra?: readonly SshOption[] | undefined;
  /** The local runner (tests and the interrupt machinery use the real one). */
  run?: Run | undefined;
}

/** `ssh -O exit`: close the shared connection of `target` (nothing when there is none). */
export function sshExitArgs(target: SshTarget): string[] | undefined {
  if (target.controlPath === undefined) return undefined;
  return [
    "-o",
    `ControlPath=${target.controlPath}`,
    ...(target.port === undefined ? [] : ["-p", String(target.port)]),
    "-O",
    "exit",
    "--",
    target.destination,
  ];
}

/** The argv that runs `command args` on the machine, with `sudo -n --` when configured. */
export function remoteArgv(command: string, args: readonly string[], sudo: boolean | undefined): string[] {
  return sudo ? ["sudo", "-n", "--", command, ...args] : [command, ...args];
}

/**
 * A `Run` whose commands run on the target over a new `ssh` each: argument arrays in, quoted by
 * quoteCommandLine, results as from a local run (exit 255: ssh could not connect, see
 * SSH_FAILURE_EXIT). The caller's `env` is not sent: the local ssh runs with `options.env`.
 */
export function sshRun(target: SshTarget, options: SshRunOptions): Run {
  const run = options.run ?? localRun;
  return (command, args, runOptions = {}) =>
    run(options.ssh ?? "ssh", sshArgs(target, remoteArgv(command, args, options.sudo), options.extra), {
      ...runOptions,
      env: options.env,
    });
}
