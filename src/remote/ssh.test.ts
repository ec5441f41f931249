import { describe, expect, it } from "vitest";
import type { Run } from "../proc/run.js";
import {
  isSshDestination,
  NEW_CONNECTION,
  nixSshOpts,
  parseConfigSshOption,
  parseSshOption,
  sshArgs,
  sshExitArgs,
  sshRun,
  sshStoreUri,
  type SshTarget,
} from "./ssh.js";

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  destination: "root@10.0.0.1",
  connectTimeout: 10,
  options: [],
  ...over,
});

describe("sshArgs", () => {
  const cases: [string, SshTarget, string[], string[]][] = [
    [
      "batch mode, timeout, -- before the destination",
      target(),
      ["true"],
      ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "--", "root@10.0.0.1", "true"],
    ],
    [
      "port and user options in order",
      target({
        port: 2222,
        connectTimeout: 3,
        options: [
          { name: "UserKnownHostsFile", value: "/etc/ssh/fleet" },
          { name: "IdentityFile", value: "/k" },
        ],
      }),
      ["readlink", "-f", "--", "/run/current-system"],
      [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=3",
        "-o",
        "UserKnownHostsFile=/etc/ssh/fleet",
        "-o",
        "IdentityFile=/k",
        "-p",
        "2222",
        "--",
        "root@10.0.0.1",
        "readlink -f -- /run/current-system",
      ],
    ],
    [
      "a remote argument with spaces and quotes stays one word",
      target({ destination: "web" }),
      ["echo", `it's "x"`],
      ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "--", "web", `echo 'it'\\''s "x"'`],
    ],
  ];
  it.each(cases)("%s", (_name, t, remote, expected) => {
    expect(sshArgs(t, remote)).toEqual(expected);
  });

  it("puts extra options (a new connection) before the user's", () => {
    const args = sshArgs(
      target({ options: [{ name: "ControlMaster", value: "auto" }] }),
      ["true"],
      NEW_CONNECTION,
    );
    expect(args.slice(4, 10)).toEqual([
      "-o",
      "ControlMaster=no",
      "-o",
      "ControlPath=none",
      "-o",
      "ControlMaster=auto",
    ]);
  });

  it("never adds StrictHostKeyChecking", () => {
    expect(sshArgs(target(), ["true"]).join(" ")).not.toMatch(/StrictHostKeyChecking/);
  });

  it.each(["my host", "-oProxyCommand=x", "a;b", "", "host\n", "'q'@h", "user@"])(
    "refuses the destination %j",
    (destination) => {
      expect(() => sshArgs(target({ destination }), ["true"])).toThrow(/not an ssh destination/);
    },
  );
});

describe("isSshDestination", () => {
  it.each([
    ["web", true],
    ["root@web.example.org", true],
    ["deploy@10.0.0.1", true],
    ["root@::1", true],
    ["root@[fe80::1%eth0]", true],
    ["web 2", false],
    ["-p22", false],
  ])("%j → %s", (d, ok) => expect(isSshDestination(d)).toBe(ok));
});

describe("parseSshOption", () => {
  it.each([
    ["UserKnownHostsFile=/a/b", { name: "UserKnownHostsFile", value: "/a/b" }],
    ["ProxyJump=bastion", { name: "ProxyJump", value: "bastion" }],
    ["SetEnv=A=b", { name: "SetEnv", value: "A=b" }],
    ["IdentityFile=/with space/k", { name: "IdentityFile", value: "/with space/k" }],
  ])("%j", (text, option) => expect(parseSshOption(text)).toEqual(option));

  it.each(["NoEquals", "=x", "Bad-Name=x", "Name=line\nbreak", "1x=y"])("refuses %j", (text) => {
    expect(() => parseSshOption(text)).toThrow(/invalid ssh option/);
  });

  it("refuses to change BatchMode (passwords are never asked)", () => {
    expect(() => parseSshOption("batchmode=no")).toThrow(/cannot be changed/);
  });
});

describe("nixSshOpts and sshStoreUri", () => {
  it("carries the same options and the port", () => {
    expect(nixSshOpts(target({ port: 2222, options: [{ name: "IdentityFile", value: "/k" }] }))).toBe(
      "-o BatchMode=yes -o ConnectTimeout=10 -o IdentityFile=/k -p 2222",
    );
  });

  it("refuses a value with whitespace (Nix splits NIX_SSHOPTS at spaces)", () => {
    expect(() => nixSshOpts(target({ options: [{ name: "IdentityFile", value: "/a b" }] }))).toThrow(
      /whitespace/,
    );
  });

  it.each([
    [undefined, "ssh-ng://root@10.0.0.1"],
    ["", "ssh-ng://root@10.0.0.1"],
    ["local?root=/srv/a store", "ssh-ng://root@10.0.0.1?remote-store=local%3Froot%3D%2Fsrv%2Fa%20store"],
  ])("remote store %j → %s", (remoteStore, uri) => {
    expect(sshStoreUri(target(), remoteStore)).toBe(uri);
  });
});

describe("sshRun", () => {
  it("runs the quoted argv through ssh with the local environment, never the caller's", async () => {
    const calls: { command: string; args: readonly string[]; env: NodeJS.ProcessEnv | undefined }[] = [];
    const fake: Run = (command, args, options) => {
      calls.push({ command, args, env: options?.env });
      return Promise.resolve({ argv: [command, ...args], exitCode: 0, signal: null, stdout: "", stderr: "" });
    };
    const local = { SSH_AUTH_SOCK: "/agent" };
    const remote = sshRun(target(), { env: local, sudo: true, run: fake });
    await remote("nix-env", ["--profile", "/nix/var/nix/profiles/system", "--set", "/nix/store/x y"], {
      env: { SECRET: "no" },
    });
    expect(calls).toEqual([
      {
        command: "ssh",
        args: [
          "-o",
          "BatchMode=yes",
          "-o",
          "ConnectTimeout=10",
          "--",
          "root@10.0.0.1",
          "sudo -n -- nix-env --profile /nix/var/nix/profiles/system --set '/nix/store/x y'",
        ],
        env: local,
      },
    ]);
  });
});

describe("parseConfigSshOption", () => {
  it.each([
    "ProxyCommand=nc %h %p",
    "LocalCommand=x",
    "StrictHostKeyChecking=no",
    "stricthostkeychecking=accept-new",
  ])("refuses %j from a config file without trust", (text) => {
    expect(() => parseConfigSshOption(text, "ternix.toml", false)).toThrow(/needs --trust-config/);
    expect(parseConfigSshOption(text, "ternix.toml", true).name).toBeTruthy();
  });

  it.each(["UserKnownHostsFile=/etc/ssh/fleet", "StrictHostKeyChecking=yes", "ProxyJump=bastion"])(
    "takes %j",
    (text) => {
      expect(parseConfigSshOption(text, "ternix.toml", false).name).toBeTruthy();
    },
  );
});

describe("shared connections", () => {
  const shared = target({ controlPath: "/tmp/ternix-ssh-x/%C" });
  it("share one master per host, unless a new connection is asked for", () => {
    expect(sshArgs(shared, ["true"]).slice(4, 10)).toEqual([
      "-o",
      "ControlMaster=auto",
      "-o",
      "ControlPath=/tmp/ternix-ssh-x/%C",
      "-o",
      "ControlPersist=30",
    ]);
    // ssh keeps the first value: the fresh connection's options come before the shared ones.
    expect(sshArgs(shared, ["true"], NEW_CONNECTION).slice(4, 8)).toEqual([
      "-o",
      "ControlMaster=no",
      "-o",
      "ControlPath=none",
    ]);
  });

  it("nix copy does not use it (Nix runs its own master)", () => {
    expect(nixSshOpts(shared)).not.toContain("Control");
  });

  it("closes it with -O exit", () => {
    expect(sshExitArgs(shared)).toEqual([
      "-o",
      "ControlPath=/tmp/ternix-ssh-x/%C",
      "-O",
      "exit",
      "--",
      "root@10.0.0.1",
    ]);
    expect(sshExitArgs(target())).toBeUndefined();
  });
});
