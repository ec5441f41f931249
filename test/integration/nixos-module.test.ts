/**
 * Ternix as Nix: the NixOS module (nix/module.nix), its TOML renderer (nix/toml.nix), the npm lock
 * handling of the package (nix/npm-lock.nix) and the flake's outputs, evaluated by the real NixOS
 * module system of nixpkgs 20.09 (../shared/nixpkgs-eval) in one nix-instantiate call. The generated
 * /etc/ternix/ternix.toml is read with Ternix's own config parser, so the module and `ternix upgrade`
 * cannot drift apart on the host config contract (docs/upgrade.md).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, parseConfig, type Config } from "../../src/config/config.js";
import { run } from "../../src/proc/run.js";
import { haveNixpkgsEval, NIXPKGS_EVAL_DIR, unpackedNixpkgs } from "../helpers/nixpkgs-eval.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const EVAL = join(ROOT, "test/fixtures/nixos-module/eval.nix");
const NIX_FILES = [
  "flake.nix",
  "nix/module.nix",
  "nix/package.nix",
  "nix/npm-lock.nix",
  "nix/toml.nix",
  "nix/vm-test.nix",
];

const SIGNER_A =
  "ci@example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOy8h3mPpGZbDnoS8e3T3cVG8U4PSkvTUzO4kAqLrS3u";
const SIGNER_B =
  'ops@example.org namespaces="git" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb2zVYbPbWBs9lT2s0Ttq6a2Ryb0G9hCw4gLx0I4I2n';
const BASE = { enable: true, repo: "ssh://git@git.example.org/ops/fleet.git" };

const FULL = {
  ...BASE,
  branch: "release",
  flakeDir: "hosts/prod",
  host: "web-1.example",
  dates: "Mon..Fri 04:30",
  randomizedDelaySec: "45min",
  persistent: false,
  operation: "boot",
  allowReboot: true,
  rebootWindow: { lower: "22:00", upper: "04:00" },
  requireSignedBy: [SIGNER_A, SIGNER_B],
  checks: [
    { type: "http", url: "http://127.0.0.1:8080/health", timeout: "5s", retries: 3 },
    { type: "command", command: ["systemctl", "is-active", "nginx"] },
    { type: "tcp", port: 22 },
  ],
  metrics: { file: "/var/lib/prometheus-node-exporter-text-files/ternix.prom" },
  prebuilt: true,
  environment: { GIT_CONFIG_GLOBAL: "/etc/ternix/gitconfig" },
  environmentFile: "/run/secrets/ternix-upgrade.env",
  // A space and a quote: git runs GIT_SSH_COMMAND through a shell.
  sshKeyFile: "/etc/ternix/deploy key's",
  reportStatus: {
    enable: true,
    forge: { kind: "forgejo", url: "https://git.example.org", repository: "ops/fleet" },
    tokenFile: "/run/secrets/ternix-forge-token",
  },
};

/**
 * Wrong settings and the assertion message each must produce. NixOS evaluations are slow (about
 * 2 s each), so independent mistakes share a configuration: each group must fail with exactly one
 * message per mistake, no more.
 */
const WRONG_GROUPS: Record<string, { settings: Record<string, unknown>; hostName?: string }> = {
  many: {
    hostName: "",
    settings: {
      repo: null,
      branch: "",
      flakeDir: "/srv/fleet",
      allowReboot: true,
      operation: "test",
      rebootWindow: { lower: "1:00", upper: "05:00" },
      requireSignedBy: [],
      sshKeyFile: "keys/deploy",
      metrics: { file: "ternix.prom" },
      checks: [
        { url: "http://127.0.0.1/" },
        { type: "tcp", port: 22 },
        { type: "ping", host: "x" },
        { type: "tcp" },
      ],
    },
  },
  more: {
    settings: {
      flakeDir: "hosts/../..",
      allowReboot: true,
      rebootWindow: { lower: "23:00", upper: "24:00" },
      repo: "https://deploy:s3cret@git.example.org/ops/fleet.git",
      sshKeyFile: "/etc/ternix/key",
      environment: { GIT_SSH_COMMAND: "ssh -i /k" },
    },
  },
  emptyWindow: { settings: { allowReboot: true, rebootWindow: { lower: "03:00", upper: "03:00" } } },
  report: {
    settings: { reportStatus: { enable: true, tokenFile: "secrets/token", forge: { repository: "fleet" } } },
  },
};
const WRONG: { name: string; group: keyof typeof WRONG_GROUPS; message: string }[] = [
  { name: "no repo", group: "many", message: "services.ternix.upgrade.repo is not set" },
  { name: "empty branch", group: "many", message: "branch is empty" },
  { name: "no host name", group: "many", message: "host is empty (networking.hostName is not set)" },
  {
    name: "absolute flakeDir",
    group: "many",
    message: 'flakeDir = "/srv/fleet" must be a relative subdirectory',
  },
  {
    name: "flakeDir with ..",
    group: "more",
    message: 'flakeDir = "hosts/../.." must be a relative subdirectory',
  },
  {
    name: "malformed rebootWindow",
    group: "many",
    message:
      'rebootWindow must be two local times HH:MM (00:00 to 23:59), e.g. { lower = "01:00"; upper = "05:00"; }; got {"lower":"1:00"',
  },
  {
    name: "rebootWindow hour 24",
    group: "more",
    message:
      'rebootWindow must be two local times HH:MM (00:00 to 23:59), e.g. { lower = "01:00"; upper = "05:00"; }; got {"lower":"23:00"',
  },
  { name: "empty rebootWindow", group: "emptyWindow", message: "an empty window" },
  {
    name: "allowReboot with operation test",
    group: "many",
    message: 'allowReboot = true does nothing with operation = "test"',
  },
  { name: "no signers", group: "many", message: "which would refuse every commit" },
  {
    name: "relative sshKeyFile",
    group: "many",
    message: 'sshKeyFile = "keys/deploy" must be an absolute path',
  },
  {
    name: "sshKeyFile and GIT_SSH_COMMAND",
    group: "more",
    message: "set either sshKeyFile or environment.GIT_SSH_COMMAND, not both",
  },
  {
    name: "a password in the repository URL",
    group: "more",
    message: "repo contains a password, which would be world-readable in the Nix store",
  },
  {
    name: "relative metrics file",
    group: "many",
    message: 'metrics.file = "ternix.prom" must be an absolute path',
  },
  { name: "check without type", group: "many", message: "checks, entry 1 has no `type`" },
  {
    name: "unknown check type",
    group: "many",
    message: 'checks, entry 3 has type = "ping": Ternix knows "command", "http" and "tcp" checks',
  },
  { name: "tcp check without port", group: "many", message: 'checks, entry 4 (type = "tcp") needs port' },
  {
    name: "reportStatus with a relative token file",
    group: "report",
    message: "reportStatus.tokenFile must be set to an absolute path outside the Nix store",
  },
  {
    name: "reportStatus with a repository that is not owner/repo",
    group: "report",
    message: 'reportStatus.forge.repository must be owner/repo, e.g. "ops/fleet"; got "fleet"',
  },
];

const CASES: Record<string, Record<string, unknown>> = {
  full: FULL,
  // Through the flake's nixosModules.default rather than nix/module.nix.
  minimal: { enable: true, repo: "/srv/fleet.git", hostName: "db-7", viaFlake: true },
  // Also: a reboot window without allowReboot is a warning, not an error.
  signersFile: {
    ...BASE,
    requireSignedBy: "/etc/ssh/allowed_signers",
    rebootWindow: { lower: "01:00", upper: "05:00" },
  },
  disabled: { ...BASE, enable: false },
  ...Object.fromEntries(
    Object.entries(WRONG_GROUPS).map(([group, w]) => [
      `wrong: ${group}`,
      { ...BASE, ...w.settings, ...(w.hostName === undefined ? {} : { hostName: w.hostName }) },
    ]),
  ),
};

/** Every TOML shape the renderer supports, with strings that need escaping; null means "absent". */
const TOML_VALUE = {
  plain: "text",
  escapes: 'say "hi" \\ back\\slash',
  controls: "tab\tnewline\ncr\r del\u007f bell\u0007 esc\u001b",
  unicode: "é ✓ 𝄞",
  empty: "",
  int: -42,
  yes: true,
  no: false,
  list: ["a", 'b"c', "d\ne"],
  emptyList: [],
  absent: null,
  table: { "dotted.key": "v", "with space": 1, nested: { deep: 1, gone: null }, n: 7 },
  "[[weird]]": { x: "y" },
  rows: [{ a: 1 }, { b: ["x"], inline: { k: "v" } }],
};

const LOCK_SAMPLE = {
  name: "sample",
  lockfileVersion: 3,
  packages: {
    "": { name: "sample", version: "1.0.0" },
    "node_modules/zod": { version: "4.6.7", integrity: "sha512-z" },
    "node_modules/@emnapi/core": { version: "2.0.0-beta.2", integrity: "sha512-e", optional: true },
    "node_modules/a/node_modules/@s/b": { version: "1.0.0", integrity: "sha512-b" },
    "node_modules/alias": { name: "real-pkg", version: "2.0.0", integrity: "sha512-r" },
    "node_modules/linked": { resolved: "packages/linked", link: true },
    "node_modules/mirrored": {
      version: "1.0.0",
      integrity: "sha512-m",
      resolved: "https://mirror.example/m-1.0.0.tgz",
    },
    "packages/linked": { version: "0.0.0" },
  },
};

/** The URLs nix/npm-lock.nix must add to LOCK_SAMPLE; the other entries stay as they are. */
const SAMPLE_URLS = {
  "node_modules/zod": "https://registry.npmjs.org/zod/-/zod-4.6.7.tgz",
  "node_modules/@emnapi/core": "https://registry.npmjs.org/@emnapi/core/-/core-2.0.0-beta.2.tgz",
  "node_modules/a/node_modules/@s/b": "https://registry.npmjs.org/@s/b/-/b-1.0.0.tgz",
  "node_modules/alias": "https://registry.npmjs.org/real-pkg/-/real-pkg-2.0.0.tgz",
};

interface CaseResult {
  failed: string[];
  warnings: string[];
  package?: string;
  toml?: string | null;
  allowedSigners?: string | null;
  inSystemPackages?: boolean;
  service?: { text: string; restartIfChanged: boolean; environment: Record<string, string> } | null;
  timer?: { text: string; wantedBy: string[] } | null;
}
interface EvalResult {
  cases: Record<string, CaseResult>;
  toml: string;
  npmLock: Record<string, { packages: Record<string, { resolved?: string; version?: string }> }>;
  flake: unknown;
}

/** `[Section]` → `Key=Value` lines of a systemd unit, repeated keys kept in order. */
function unitSections(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] = [];
  for (const line of text.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1] as string) ?? [];
      sections.set(header[1] as string, current);
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      current.push([line.slice(0, at), line.slice(at + 1)]);
    }
  }
  return sections;
}
function unitValues(text: string, section: string, key: string): string[] {
  return (unitSections(text).get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** The program names on a unit's PATH (`/nix/store/<hash>-git-2.27.0/bin` → git). */
function pathPrograms(path: string): string[] {
  return path
    .split(":")
    .map((dir) => /^\/nix\/store\/[0-9a-z]{32}-(.+?)-\d[^/]*\/bin$/.exec(dir)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** How a shell (as git runs GIT_SSH_COMMAND) splits the command into words. */
async function shellWords(command: string): Promise<string[]> {
  const result = await run("sh", ["-c", 'eval "set -- $CMD"; printf "%s\\0" "$@"'], {
    env: { PATH: process.env.PATH, CMD: command },
  });
  expect(result.exitCode).toBe(0);
  return result.stdout.split("\0").slice(0, -1);
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  return value;
}

const present = await haveNixpkgsEval();
const title = present
  ? "NixOS module and flake, evaluated with nixpkgs 20.09"
  : `NixOS module and flake (skipped: ${NIXPKGS_EVAL_DIR} is absent; it holds the nixpkgs tree these tests evaluate)`;

describe.skipIf(!present)(title, () => {
  let result: EvalResult;
  const caseOf = (name: string): CaseResult => {
    const c = result.cases[name];
    if (c === undefined) throw new Error(`no case ${name}`);
    return c;
  };
  const configOf = (name: string): Config =>
    parseConfig(caseOf(name).toml ?? "", `${name}: /etc/ternix/ternix.toml`);

  beforeAll(async () => {
    const tree = await unpackedNixpkgs();
    const realLock: unknown = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8"));
    const input = JSON.stringify({
      cases: CASES,
      toml: TOML_VALUE,
      lock: { sample: LOCK_SAMPLE, real: realLock },
    });
    const evaluated = await run(
      "nix-instantiate",
      [
        "--eval",
        "--strict",
        "--json",
        EVAL,
        "--arg",
        "nixpkgs",
        tree,
        "--arg",
        "root",
        ROOT,
        "--argstr",
        "input",
        input,
      ],
      { cwd: ROOT },
    );
    if (evaluated.exitCode !== 0) throw new Error(`nix-instantiate failed:\n${evaluated.stderr}`);
    result = JSON.parse(evaluated.stdout) as EvalResult;
  });

  it("parses every Nix file of the flake", async () => {
    const parsed = await run("nix-instantiate", ["--parse", ...NIX_FILES], { cwd: ROOT });
    expect(parsed.stderr).toBe("");
    expect(parsed.exitCode).toBe(0);
  });

  it("renders every option into /etc/ternix/ternix.toml as the host config contract says", () => {
    const c = caseOf("full");
    expect(c.failed).toEqual([]);
    expect(c.warnings).toEqual([]);
    const defaults = defaultConfig();
    expect(configOf("full")).toEqual({
      ...defaults,
      upgrade: {
        repo: "ssh://git@git.example.org/ops/fleet.git",
        branch: "release",
        "flake-dir": "hosts/prod",
        host: "web-1.example",
        operation: "boot",
        "allow-reboot": true,
        "reboot-window": "22:00-04:00",
        "require-signed": "/etc/ternix/allowed_signers",
        "metrics-file": "/var/lib/prometheus-node-exporter-text-files/ternix.prom",
        prebuilt: true,
        "report-to-forge": true,
        "forge-token-file": "/run/secrets/ternix-forge-token",
      },
      forge: {
        ...defaults.forge,
        kind: "forgejo",
        url: "https://git.example.org",
        repository: "ops/fleet",
      },
      system: { ...defaults.system, reboot: ["systemctl", "reboot"], "state-dir": "/var/lib/ternix" },
      checks: [
        { type: "http", url: "http://127.0.0.1:8080/health", timeout: "5s", retries: 3 },
        { type: "command", command: ["systemctl", "is-active", "nginx"] },
        { type: "tcp", host: "127.0.0.1", port: 22 },
      ],
    });
    expect(c.allowedSigners).toBe(`${SIGNER_A}\n${SIGNER_B}\n`);
  });

  it("writes a oneshot service that activation cannot restart, with nix, git, systemd and ssh", async () => {
    const c = caseOf("full");
    const text = c.service?.text ?? "";
    expect(unitValues(text, "Service", "ExecStart")).toEqual([
      `${c.package}/bin/ternix upgrade --config /etc/ternix/ternix.toml`,
    ]);
    expect(unitValues(text, "Service", "Type")).toEqual(["oneshot"]);
    expect(c.service?.restartIfChanged).toBe(false);
    expect(text).toMatch(/^X-RestartIfChanged=false$/m);
    expect(unitValues(text, "Unit", "X-StopOnRemoval")).toEqual(["false"]);
    expect(unitValues(text, "Service", "EnvironmentFile")).toEqual(["/run/secrets/ternix-upgrade.env"]);
    expect(unitValues(text, "Unit", "Wants")).toEqual(["network-online.target"]);

    const env = c.service?.environment ?? {};
    expect(pathPrograms(env.PATH ?? "")).toEqual(
      expect.arrayContaining(["nix", "git", "systemd", "openssh"]),
    );
    expect(env.GIT_CONFIG_GLOBAL).toBe("/etc/ternix/gitconfig");
    // systemd gets each variable JSON-quoted by NixOS; the value reaches git intact.
    expect(unitValues(text, "Service", "Environment")).toContain(
      JSON.stringify(`GIT_SSH_COMMAND=${env.GIT_SSH_COMMAND}`),
    );
    const words = await shellWords(env.GIT_SSH_COMMAND ?? "");
    expect(words.slice(1)).toEqual(["-i", "/etc/ternix/deploy key's", "-o", "IdentitiesOnly=yes"]);
    expect(words[0]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-openssh-[^/]+\/bin\/ssh$/);
  });

  it("writes a timer from dates, randomizedDelaySec and persistent", () => {
    const full = caseOf("full").timer;
    expect(unitValues(full?.text ?? "", "Timer", "OnCalendar")).toEqual(["Mon..Fri 04:30"]);
    expect(unitValues(full?.text ?? "", "Timer", "RandomizedDelaySec")).toEqual(["45min"]);
    expect(unitValues(full?.text ?? "", "Timer", "Persistent")).toEqual(["false"]);
    expect(full?.wantedBy).toContain("timers.target");
    const minimal = caseOf("minimal").timer;
    expect(unitValues(minimal?.text ?? "", "Timer", "OnCalendar")).toEqual(["05:00"]);
    expect(unitValues(minimal?.text ?? "", "Timer", "RandomizedDelaySec")).toEqual(["0"]);
    expect(unitValues(minimal?.text ?? "", "Timer", "Persistent")).toEqual(["true"]);
  });

  it("with only repo set: the host name, the defaults, and no optional keys in the file", () => {
    const c = caseOf("minimal");
    expect(c.failed).toEqual([]);
    const raw = parseToml(c.toml ?? "") as { upgrade: Record<string, unknown> };
    expect(raw.upgrade).toEqual({
      repo: "/srv/fleet.git",
      branch: "main",
      "flake-dir": "",
      host: "db-7",
      operation: "switch",
      "allow-reboot": false,
      prebuilt: false,
    });
    expect(configOf("minimal").checks).toEqual([]);
    expect(c.allowedSigners).toBeNull();
    expect(c.service?.environment.GIT_SSH_COMMAND).toBeUndefined();
    expect(unitValues(c.service?.text ?? "", "Service", "EnvironmentFile")).toEqual([]);
    expect(c.inSystemPackages).toBe(true);
  });

  it("takes an allowed-signers file as it is; warns about a reboot window without allowReboot", () => {
    const c = caseOf("signersFile");
    expect(c.failed).toEqual([]);
    expect(configOf("signersFile").upgrade["require-signed"]).toBe("/etc/ssh/allowed_signers");
    expect(c.allowedSigners).toBeNull();
    expect(c.warnings).toEqual([expect.stringContaining("rebootWindow is set but allowReboot is false")]);
  });

  it("does nothing when not enabled", () => {
    const c = caseOf("disabled");
    expect([c.failed, c.toml, c.service, c.timer, c.inSystemPackages]).toEqual([[], null, null, null, false]);
  });

  it.each(WRONG)("refuses $name with an explanation", ({ group, message }) => {
    const failed = caseOf(`wrong: ${group}`).failed;
    expect(failed.filter((m) => m.includes(message))).toHaveLength(1);
  });

  it.each(Object.keys(WRONG_GROUPS))(
    "fails %s with one message per mistake, each naming the option",
    (group) => {
      const failed = caseOf(`wrong: ${group}`).failed;
      expect(failed).toHaveLength(WRONG.filter((w) => w.group === group).length);
      for (const message of failed) expect(message).toMatch(/^services\.ternix\.upgrade/);
    },
  );

  it("renders TOML that Ternix's parser reads back unchanged", () => {
    expect(parseToml(result.toml)).toEqual(withoutNulls(TOML_VALUE));
  });

  it("gives every registry package of the lock its npm tarball URL", () => {
    const sample = result.npmLock.sample?.packages;
    expect(sample).toEqual({
      ...LOCK_SAMPLE.packages,
      ...Object.fromEntries(
        Object.entries(SAMPLE_URLS).map(([key, resolved]) => [
          key,
          { ...LOCK_SAMPLE.packages[key as keyof typeof LOCK_SAMPLE.packages], resolved },
        ]),
      ),
    });
    const entries = Object.entries(result.npmLock.real?.packages ?? {}).filter(([key]) => key !== "");
    expect(entries.length).toBeGreaterThan(100);
    for (const [key, entry] of entries)
      expect(entry.resolved, key).toMatch(
        new RegExp(
          `^https://registry\\.npmjs\\.org/(@[^/]+/)?[^/]+/-/[^/]+-${entry.version?.replace(/\./g, "\\.")}\\.tgz$`,
        ),
      );
  });

  it("has the flake outputs users and CI expect", () => {
    expect(result.flake).toEqual({
      outputs: {
        apps: ["aarch64-linux", "x86_64-linux"],
        checks: ["aarch64-linux", "x86_64-linux"],
        nixosModules: ["default"],
        overlays: ["default"],
        packages: ["aarch64-linux", "x86_64-linux"],
      },
      perSystem: { apps: ["default"], checks: ["module-vm-test"], packages: ["default"] },
      appType: "app",
      overlay: "lambda",
      module: "lambda",
    });
    expect(caseOf("minimal").failed).toEqual([]);
  });
});
