import { describe, expect, it } from "vitest";
import { InputError, UsageError } from "../errors.js";
import { compareLinkHosts, defaultConfig, parseConfig, parseDuration } from "./config.js";
import { nixOptionPairs } from "./nix-options.js";

describe("parseConfig", () => {
  it("fills defaults for an empty file", () => {
    expect(parseConfig("", "ternix.toml")).toEqual(defaultConfig());
    expect(defaultConfig().hosts.exclude).toBe("-minimal$");
    expect(defaultConfig().staleness["max-age-days"]).toBe(30);
  });

  it("reads the documented keys", () => {
    const config = parseConfig(
      `
[hosts]
include = ["web"]
[staleness]
max-age-days = 14
supported-branches = ["nixos-24.11"]
[nix]
options = { cores = 4, sandbox = false }
[[checks]]
type = "tcp"
port = 22
`,
      "ternix.toml",
    );
    expect(config.hosts.include).toEqual(["web"]);
    expect(config.staleness["supported-branches"]).toEqual(["nixos-24.11"]);
    expect(config.checks[0]).toMatchObject({ type: "tcp", port: 22, host: "127.0.0.1" });
    expect(() => nixOptionPairs(config, [["cores", "8"]])).toThrow(/sets "sandbox", which .* --trust-config/);
    expect(nixOptionPairs(config, [["cores", "8"]], { trustConfig: true })).toEqual([
      ["cores", "4"],
      ["sandbox", "false"],
      ["cores", "8"],
    ]);
  });

  it("reads the host config of `ternix upgrade` (docs/upgrade.md)", () => {
    const config = parseConfig(
      `
[upgrade]
repo = "ssh://git@git.example.org/ops/fleet.git"
host = "web1"
allow-reboot = true
reboot-window = "22:00-04:00"
require-signed = "/etc/ternix/allowed_signers"
metrics-file = "/var/lib/node-exporter/ternix.prom"
prebuilt = true
[system]
reboot = ["/run/current-system/sw/bin/systemctl", "reboot"]
`,
      "/etc/ternix/ternix.toml",
    );
    expect(config.upgrade).toEqual({
      repo: "ssh://git@git.example.org/ops/fleet.git",
      branch: "main",
      "flake-dir": "",
      host: "web1",
      operation: "switch",
      "allow-reboot": true,
      "reboot-window": "22:00-04:00",
      "require-signed": "/etc/ternix/allowed_signers",
      "metrics-file": "/var/lib/node-exporter/ternix.prom",
      prebuilt: true,
      "report-to-forge": false,
    });
    expect(defaultConfig().upgrade.prebuilt).toBe(false);
    expect(config.system.reboot).toEqual(["/run/current-system/sw/bin/systemctl", "reboot"]);
    expect(defaultConfig().system.reboot).toEqual(["systemctl", "reboot"]);
  });

  it("reads [[rollout.waves]] (docs/rollout.md) and refuses a bad min-age", () => {
    const config = parseConfig(
      `
[rollout]
stale-after = "12h"
[[rollout.waves]]
branch = "main"
hosts = ["canary-1"]
min-age = "1d"
[[rollout.waves]]
branch = "deploy/stable"
hosts = ["web", "db"]
`,
      "ternix.toml",
    );
    expect(config.rollout).toEqual({
      "stale-after": "12h",
      waves: [
        { branch: "main", hosts: ["canary-1"], "min-age": "1d" },
        { branch: "deploy/stable", hosts: ["web", "db"] },
      ],
    });
    expect(defaultConfig().rollout).toEqual({ waves: [], "stale-after": "2d" });
    expect(() =>
      parseConfig('[[rollout.waves]]\nbranch = "main"\nmin-age = "a day"\n', "ternix.toml"),
    ).toThrow(/rollout\.waves\.0\.min-age: a duration like/);
  });

  const withOptions = (options: string) => parseConfig(`[nix]\noptions = { ${options} }\n`, "ternix.toml");

  it("passes safe [nix] options without --trust-config, and --nix-option flags always", () => {
    const config = withOptions('cores = 2, "max-jobs" = 4, "connect-timeout" = 5, fallback = true');
    expect(nixOptionPairs(config, [["post-build-hook", "/bin/true"]])).toEqual([
      ["cores", "2"],
      ["max-jobs", "4"],
      ["connect-timeout", "5"],
      ["fallback", "true"],
      ["post-build-hook", "/bin/true"],
    ]);
  });

  it.each([
    ['"post-build-hook" = "/tmp/x"', '"post-build-hook"'],
    ['"build-hook" = "/tmp/x"', '"build-hook"'],
    [
      'substituters = "http://evil", "trusted-public-keys" = "evil:k"',
      '"substituters", "trusted-public-keys"',
    ],
    ['"extra-substituters" = "http://evil"', '"extra-substituters"'],
    ['"allow-import-from-derivation" = true', '"allow-import-from-derivation"'],
    ['"flake-registry" = "/tmp/r.json"', '"flake-registry"'],
  ])("refuses %s without --trust-config, naming it", (options, names) => {
    const error = (() => {
      try {
        nixOptionPairs(withOptions(options));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      `ternix.toml [nix] options sets ${names}, which Ternix passes to Nix only with --trust-config.`,
    );
    expect((error as UsageError).hint).toContain("--trust-config");
  });

  it.each([
    ["bad TOML", "[hosts", /invalid TOML/],
    ["an unknown key", "[hosts]\ninclud = []", /hosts/],
    ["a wrong type", '[staleness]\nmax-age-days = "x"', /staleness\.max-age-days/],
    ["a bad check", '[[checks]]\ntype = "http"\nurl = "not a url"', /checks\.0\.url/],
    ["a bad reboot window", '[upgrade]\nreboot-window = "1:00-05:00"', /upgrade\.reboot-window/],
    ["an unknown operation", '[upgrade]\noperation = "reboot"', /upgrade\.operation/],
    ["an empty reboot command", "[system]\nreboot = []", /system\.reboot/],
  ])("rejects %s with the key in the message", (_name, text, message) => {
    expect(() => parseConfig(text, "ternix.toml")).toThrow(InputError);
    expect(() => parseConfig(text, "ternix.toml")).toThrow(message);
  });
});

describe("compareLinkHosts", () => {
  it("names a self-hosted Forgejo/Gitea server, never GitHub", () => {
    expect(
      compareLinkHosts(parseConfig('[forge]\nkind = "forgejo"\nurl = "https://git.example.org"', "t")),
    ).toEqual(["git.example.org"]);
    expect(
      compareLinkHosts(parseConfig('[forge]\nkind = "github"\nurl = "https://ghe.example.org"', "t")),
    ).toEqual([]);
    expect(compareLinkHosts(defaultConfig())).toEqual([]);
  });
});

describe("parseDuration", () => {
  it.each([
    ["30s", 30_000],
    ["10m", 600_000],
    ["2w", 1_209_600_000],
  ])("%s", (text, ms) => expect(parseDuration(text)).toBe(ms));
  it("rejects nonsense", () => expect(() => parseDuration("soon")).toThrow(InputError));
});
