/**
 * The environment every integration test runs Nix and git in: the local daemon, no substituters,
 * no flake registry download, flakes enabled, and a git identity that works on a fresh machine.
 * Pass `nixTestEnv()` to every spawned process (the built CLI included).
 */
import { delimiter, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Put before every `nix` subcommand: Nix 2.8 has flakes behind experimental flags. */
export const NIX_FLAGS = ["--extra-experimental-features", "nix-command flakes"] as const;

/** An empty global flake registry, so indirect references never reach the network. */
export const EMPTY_FLAKE_REGISTRY = fileURLToPath(
  new URL("../fixtures/flake-registry.json", import.meta.url),
);

export const NIX_TEST_CONFIG = [
  "experimental-features = nix-command flakes",
  // Nothing to download from: there is no network, and tests must build everything themselves.
  "substituters =",
  `flake-registry = ${EMPTY_FLAKE_REGISTRY}`,
  // Forwarded to the daemon (we are a trusted user); fixture builds are tiny, two at once helps.
  "max-jobs = 2",
].join("\n");

/** Variables that would leak the parent's state (a git hook's repository, a fixture switch) into tests. */
const LEAKS = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_CEILING_DIRECTORIES",
  "TERNIX_FIXTURE_SWITCH_FAIL",
  "TERNIX_FIXTURE_SWITCH_LOG",
  "TERNIX_FIXTURE_CURRENT_SYSTEM",
];

/**
 * `TERNIX_TEST_NIX=DIR`: run the integration tests (and the CLI they start) with the Nix whose `nix`,
 * `nix-store`, `nix-env` and `nix-daemon` are in DIR, e.g. `../shared/nix-2.24/bin`. Unset: the `nix`
 * on PATH. Global setup gives such a Nix a nix-daemon of its own (see global-setup.ts).
 */
export const TEST_NIX_VARIABLE = "TERNIX_TEST_NIX";

/** The absolute directory TERNIX_TEST_NIX names, if any. */
export function testNixDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env[TEST_NIX_VARIABLE];
  return dir === undefined || dir === "" ? undefined : resolve(dir);
}

/** PATH with the selected Nix's directory first (once, however often this is applied). */
function pathWithTestNix(path: string | undefined, dir: string): string {
  const rest = (path ?? "").split(delimiter).filter((p) => p !== "" && p !== dir);
  return [dir, ...rest].join(delimiter);
}

/** Only the variables the tests set (global setup copies these into process.env). */
export function nixTestVariables(): Record<string, string> {
  const gitConfig: [string, string][] = [
    ["init.defaultBranch", "main"],
    ["commit.gpgsign", "false"],
    ["tag.gpgsign", "false"],
    ["advice.detachedHead", "false"],
    ["safe.directory", "*"],
    ["protocol.file.allow", "always"],
  ];
  const vars: Record<string, string> = {
    NIX_REMOTE: "daemon",
    NIX_CONFIG: NIX_TEST_CONFIG,
    GIT_AUTHOR_NAME: "Ternix Test",
    GIT_AUTHOR_EMAIL: "test@ternix.invalid",
    GIT_COMMITTER_NAME: "Ternix Test",
    GIT_COMMITTER_EMAIL: "test@ternix.invalid",
    // Independent of the machine's and the user's git configuration.
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_COUNT: String(gitConfig.length),
  };
  gitConfig.forEach(([key, value], i) => {
    vars[`GIT_CONFIG_KEY_${i}`] = key;
    vars[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  const nixDir = testNixDir();
  if (nixDir !== undefined) vars["PATH"] = pathWithTestNix(process.env["PATH"], nixDir);
  return vars;
}

/** A full environment for a spawned process: process.env plus the test settings plus `extra`. */
export function nixTestEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of LEAKS) delete env[key];
  return { ...env, ...nixTestVariables(), ...extra };
}
