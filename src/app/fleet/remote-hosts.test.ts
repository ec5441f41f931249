import { describe, expect, it } from "vitest";
import { parseConfig } from "../../config/config.js";
import { canaryHosts, confirmTimeoutSeconds, remoteHost, selectFleet } from "./remote-hosts.js";

const config = parseConfig(
  `
[hosts]
exclude = "-minimal$"

[deploy]
canary = ["@canary"]
ssh-options = ["UserKnownHostsFile=/etc/ssh/fleet"]
confirm-timeout = "2m"

[deploy.hosts.web]
target = "deploy@10.0.0.1"
port = 2222
tags = ["prod", "canary"]
sudo = true
system = { profile = "/srv/profiles/system", systemd-run = "/opt/systemd-run" }

[deploy.hosts.db]
tags = ["prod"]

[deploy.hosts."build-minimal"]
tags = ["prod"]

[deploy.hosts."my \\"odd\\" host"]
target = "root@127.0.0.1"
`,
  "ternix.toml",
);
const all = ["web", "db", "build-minimal", 'my "odd" host', "lab"];

describe("selectFleet", () => {
  const cases: [string[], string[], string[]][] = [
    [[], ["web", "db", 'my "odd" host', "lab"], ["build-minimal"]],
    [["@prod"], ["web", "db"], ["build-minimal"]],
    [["lab", "@canary"], ["web", "lab"], []],
    // A named host is deployed even when the exclude pattern matches it.
    [["build-minimal"], ["build-minimal"], []],
    [['my "odd" host'], ['my "odd" host'], []],
  ];
  it.each(cases)("%j", (selectors, selected, skipped) => {
    expect(selectFleet(all, config, { selectors })).toEqual({ selected, skipped });
  });

  it("an explicit exclude replaces [hosts] exclude", () => {
    expect(selectFleet(all, config, { selectors: ["@prod"], exclude: "^db$" }).selected).toEqual([
      "web",
      "build-minimal",
    ]);
  });

  it.each([
    [["nope"], /unknown host: "nope"/],
    [["@nope"], /no host has the tag @nope/],
  ])("refuses %j", (selectors, message) => {
    expect(() => selectFleet(all, config, { selectors })).toThrow(message);
  });
});

describe("canaryHosts", () => {
  it("takes names and tags, in the selection's order", () => {
    expect(canaryHosts(["lab", "db", "web"], config, config.deploy.canary)).toEqual(["web"]);
    expect(canaryHosts(["lab", "db", "web"], config, ["db", "@canary"])).toEqual(["db", "web"]);
    expect(canaryHosts(["lab"], config, ["@canary"])).toEqual([]);
  });
});

describe("remoteHost", () => {
  it("merges the host's table over [deploy] and [system]", () => {
    const web = remoteHost("web", config, { sshOptions: ["IdentityFile=/k"] });
    expect(web.ssh).toEqual({
      destination: "deploy@10.0.0.1",
      port: 2222,
      connectTimeout: 10,
      options: [
        { name: "UserKnownHostsFile", value: "/etc/ssh/fleet" },
        { name: "IdentityFile", value: "/k" },
      ],
    });
    expect(web.sudo).toBe(true);
    expect(web.paths).toMatchObject({
      profile: "/srv/profiles/system",
      currentSystem: "/run/current-system",
      systemdRun: "/opt/systemd-run",
    });
  });

  it("defaults the target to the host name", () => {
    expect(remoteHost("lab", config).ssh.destination).toBe("lab");
    expect(remoteHost("lab", config).sudo).toBe(false);
  });

  it("refuses a relative path on the target", () => {
    const bad = parseConfig('[deploy.hosts.x]\nsystem = { state-dir = "state" }\n', "t.toml");
    expect(() => remoteHost("x", bad)).toThrow(/must be an absolute path/);
  });

  it("confirm timeout in seconds", () => {
    expect(confirmTimeoutSeconds(config)).toBe(120);
    expect(confirmTimeoutSeconds(config, "5s")).toBe(5);
  });
});

describe("ssh options from ternix.toml", () => {
  const withProxy = parseConfig('[deploy]\nssh-options = ["ProxyCommand=nc %h %p"]\n', "t.toml");
  it("refuses command-running options without --trust-config", () => {
    expect(() => remoteHost("web", withProxy)).toThrow(/ProxyCommand needs --trust-config/);
  });
  it("takes them with --trust-config, and always from the command line", () => {
    expect(remoteHost("web", withProxy, { trustConfig: true }).ssh.options).toEqual([
      { name: "ProxyCommand", value: "nc %h %p" },
    ]);
    expect(remoteHost("web", config, { sshOptions: ["ProxyCommand=nc %h %p"] }).ssh.options).toContainEqual({
      name: "ProxyCommand",
      value: "nc %h %p",
    });
  });
});
