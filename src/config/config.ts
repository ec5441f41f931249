/**
 * `ternix.toml` at the flake root: settings users keep with their flake. Every key is optional;
 * command-line flags override it. Documented in docs/config.md.
 */
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { InputError } from "../errors.js";
import { readUserFile } from "../proc/files.js";

export const CONFIG_FILE = "ternix.toml";

const Duration = z.string().regex(/^\d+\s*[smhdw]$/, "a duration like 30s, 10m, 12h, 14d or 2w");

const Check = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("command"),
    name: z.string().optional(),
    command: z.array(z.string()).min(1),
    timeout: Duration.optional(),
    retries: z.number().int().min(0).optional(),
    interval: Duration.optional(),
  }),
  z.strictObject({
    type: z.literal("http"),
    name: z.string().optional(),
    url: z.url(),
    timeout: Duration.optional(),
    retries: z.number().int().min(0).optional(),
    interval: Duration.optional(),
  }),
  z.strictObject({
    type: z.literal("tcp"),
    name: z.string().optional(),
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(1).max(65535),
    timeout: Duration.optional(),
    retries: z.number().int().min(0).optional(),
    interval: Duration.optional(),
  }),
]);
export type CheckConfig = z.infer<typeof Check>;

/** `[system]` paths a deploy host overrides, for hosts with an unusual layout (tests use temp dirs). */
const SystemOverrides = z.strictObject({
  profile: z.string().min(1).optional(),
  "current-system": z.string().min(1).optional(),
  "booted-system": z.string().min(1).optional(),
  "state-dir": z.string().min(1).optional(),
  systemctl: z.string().min(1).optional(),
  /** Activations and the dead man's switch run under it; `""`: none (the deploy is refused). */
  "systemd-run": z.string().optional(),
});

/** `[deploy.hosts."NAME"]`: how `ternix deploy` and `ternix status` reach one host (docs/deploy.md). */
const DeployHost = z.strictObject({
  /** `user@address` (default: the host name). */
  target: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  tags: z.array(z.string().min(1)).default([]),
  /** Run remote commands through `sudo -n` (the login user is not root). */
  sudo: z.boolean().default(false),
  /** Where the system is built: here (then copied) or on the target (`nix copy` of the .drv closure). */
  "build-on": z.enum(["local", "target"]).default("local"),
  /** Checks for this host, after the global `[[checks]]`. */
  checks: z.array(Check).default([]),
  /** The store on the target that `nix copy` fills (`ssh-ng://…?remote-store=`); default its own. */
  "remote-store": z.string().min(1).optional(),
  system: SystemOverrides.prefault({}),
});
export type DeployHostConfig = z.infer<typeof DeployHost>;

export const Config = z.strictObject({
  hosts: z
    .strictObject({
      /** Only these hosts (names of nixosConfigurations); empty means all. */
      include: z.array(z.string()).default([]),
      /** Leave out hosts whose name matches this regular expression. */
      exclude: z.string().default("-minimal$"),
    })
    .prefault({}),
  staleness: z
    .strictObject({
      "max-age-days": z.number().int().positive().default(30),
      "supported-branches": z.union([z.literal("auto"), z.array(z.string())]).default("auto"),
      "allowed-owners": z.array(z.string()).default(["NixOS"]),
    })
    .prefault({}),
  nix: z
    .strictObject({
      /** Passed to every nix call as `--option NAME VALUE`. */
      options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    })
    .prefault({}),
  plan: z
    .strictObject({
      "body-limit": z.number().int().positive().default(60_000),
    })
    .prefault({}),
  forge: z
    .strictObject({
      kind: z.enum(["github", "forgejo", "gitea"]).optional(),
      url: z.string().optional(),
      repository: z.string().optional(),
      branch: z.string().default("ternix/flake-update"),
      base: z.string().optional(),
      remote: z.string().default("origin"),
      labels: z.array(z.string()).default([]),
      "body-limit": z.number().int().positive().optional(),
      "draft-on-break": z.boolean().default(false),
    })
    .prefault({}),
  system: z
    .strictObject({
      profile: z.string().default("/nix/var/nix/profiles/system"),
      "current-system": z.string().default("/run/current-system"),
      "booted-system": z.string().default("/run/booted-system"),
      "state-dir": z.string().default("/var/lib/ternix"),
      systemctl: z.string().default("systemctl"),
      /** Activate under systemd-run when it works; `""` always activates directly. */
      "systemd-run": z.string().default("systemd-run"),
      /** How `ternix upgrade --allow-reboot` reboots: an argument list. */
      reboot: z.array(z.string()).min(1).default(["systemctl", "reboot"]),
    })
    .prefault({}),
  /** `ternix upgrade` on a host (docs/upgrade.md); usually in /etc/ternix/ternix.toml. */
  upgrade: z
    .strictObject({
      repo: z.string().min(1).optional(),
      branch: z.string().min(1).default("main"),
      "flake-dir": z.string().default(""),
      host: z.string().min(1).optional(),
      operation: z.enum(["switch", "boot", "test"]).default("switch"),
      "allow-reboot": z.boolean().default(false),
      "reboot-window": z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, "a window like 01:00-05:00 (HH:MM-HH:MM)")
        .optional(),
      "require-signed": z.string().min(1).optional(),
      "metrics-file": z.string().min(1).optional(),
    })
    .prefault({}),
  gc: z
    .strictObject({
      /** `ternix gc` keeps the newest N system generations (plus current, booted and known good). */
      keep: z.number().int().min(0).default(5),
      /** …and every generation younger than this. */
      "keep-since": Duration.optional(),
    })
    .prefault({}),
  deploy: z
    .strictObject({
      /** Hosts deployed at once. */
      parallel: z.number().int().positive().default(4),
      /** How long the dead man's switch waits for Ternix to disarm it. */
      "confirm-timeout": Duration.default("60s"),
      /** Failures tolerated before no further host starts (0: stop at the first). */
      "max-failures": z.number().int().min(0).default(0),
      /** Host names or `@tag`s deployed first, one at a time, before any other host. */
      canary: z.array(z.string().min(1)).default([]),
      /** `NAME=VALUE`, passed as `-o NAME=VALUE` to every ssh (and to nix copy via NIX_SSHOPTS). */
      "ssh-options": z.array(z.string()).default([]),
      /** Seconds an ssh connection attempt may take. */
      "connect-timeout": z.number().int().positive().default(10),
      hosts: z.record(z.string(), DeployHost).default({}),
    })
    .prefault({}),
  checks: z.array(Check).default([]),
});
export type Config = z.infer<typeof Config>;

export function defaultConfig(): Config {
  return Config.parse({});
}

/** Parse config text; errors name the file and the key. */
export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InputError(`${file}: invalid TOML: ${message}`, {
      hint: "Fix the syntax; see docs/config.md.",
    });
  }
  const result = Config.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new InputError(`${file}: ${where}: ${issue?.message ?? "invalid"}`, {
      hint: "Check the key against docs/config.md.",
    });
  }
  return result.data;
}

/** Load `ternix.toml` from the flake directory; defaults when there is none. */
export async function loadConfig(flakeDir: string): Promise<Config> {
  const file = join(flakeDir, CONFIG_FILE);
  const text = await readUserFile(file, {
    hint: `Make ${file} a regular TOML file (docs/config.md), or move it aside.`,
  });
  return text === undefined ? defaultConfig() : parseConfig(text, file);
}

/**
 * A host config file such as /etc/ternix/ternix.toml (same schema). A missing file is the defaults
 * unless it was named explicitly (`--config FILE`).
 */
export async function loadConfigFile(file: string, explicit: boolean): Promise<Config> {
  const hint = "Check the path given to --config (or create the file; docs/upgrade.md shows one).";
  const text = await readUserFile(file, { hint });
  if (text === undefined) {
    if (!explicit) return defaultConfig();
    throw new InputError(`cannot read the config file ${file} (ENOENT).`, { hint });
  }
  return parseConfig(text, file);
}

/** "30s" → 30000 ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!match)
    throw new InputError(`invalid duration ${JSON.stringify(text)}`, {
      hint: "Use e.g. 30s, 10m, 12h, 14d, 2w.",
    });
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[
    match[2] as "s" | "m" | "h" | "d" | "w"
  ];
  return Number(match[1]) * unit;
}

/**
 * Hosts of self-hosted Forgejo/Gitea servers, for compare links in lock diffs: the configured
 * forge's, when it is one (codeberg.org is always known).
 */
export function compareLinkHosts(config: Config): string[] {
  const kind = config.forge.kind;
  if (config.forge.url === undefined || kind === "github") return [];
  try {
    return [new URL(config.forge.url).host];
  } catch {
    return [];
  }
}
