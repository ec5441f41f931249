/**
 * Channels for the real-Nix tests: the miniature nixpkgs packed as Hydra's channel job packs nixpkgs
 * (`nixexprs.tar.xz` with `.version`, `.version-suffix`, `.git-revision`), published under a
 * directory that `nix-channel` reads through a `file://` URL, and an environment in which
 * `nix-channel` keeps its list, its profile and `~/.nix-defexpr` in a temporary directory.
 *
 * Isolation: nix-channel has no `--profile`; root's channels profile is
 * `$NIX_STATE_DIR/profiles/per-user/root/channels` and its list `$HOME/.nix-channels`. So the tests
 * set both to temporary directories, and talk to the machine's daemon through its socket
 * (NIX_REMOTE=daemon and an explicit NIX_DAEMON_SOCKET_PATH, which otherwise would follow
 * NIX_STATE_DIR). The machine's own channels are never read or written.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "../../src/proc/run.js";
import {
  nixosVersionOf,
  revisionSpec,
  type RevisionName,
  type RevisionSpec,
} from "../fixtures/nixpkgs/revisions.js";
import { nixTestEnv, testNixDir } from "./nix-env.js";

const NIXPKGS = fileURLToPath(new URL("../fixtures/nixpkgs/", import.meta.url));
const CHANNEL_FILES = ["lib.nix", "pkgs.nix", "nixos.nix", "default.nix", "nixos/default.nix"];

export interface ChannelWorld {
  /** The temporary directory holding everything below. */
  dir: string;
  /** Where channels are published: `<dir>/channels/<name>/nixexprs.tar.xz`. */
  published: string;
  /** HOME for nix-channel (holds `.nix-channels` and `.nix-defexpr`). */
  home: string;
  /** NIX_STATE_DIR for nix-channel: its profile is `<state>/profiles/per-user/<user>/channels`. */
  stateDir: string;
  /** `/etc/nixos/configuration.nix` of this world. */
  configuration: string;
  /** The environment to run nix-channel and the CLI in. */
  env: NodeJS.ProcessEnv;
}

export async function createChannelWorld(): Promise<ChannelWorld> {
  const dir = await mkdtemp(join(tmpdir(), "ternix-channels-"));
  const published = join(dir, "channels");
  const home = join(dir, "home");
  const stateDir = join(dir, "state");
  // nix-channel 2.8 does not create its profile's directory (a real machine has it).
  const profiles = join(stateDir, "profiles", "per-user", userInfo().username);
  await Promise.all([mkdir(published), mkdir(home), mkdir(profiles, { recursive: true })]);
  const configuration = join(dir, "configuration.nix");
  await writeFile(
    configuration,
    [
      "# A channel-based machine's configuration.nix, written by test/helpers/channel.ts.",
      "{ pkgs, ... }:",
      "{",
      '  networking.hostName = "chan";',
      "  services.openssh.enable = true;",
      "  environment.systemPackages = [ pkgs.curl ];",
      "}",
      "",
    ].join("\n"),
  );
  const base = nixTestEnv();
  const nixDir = testNixDir();
  const env = nixTestEnv({
    // nix-channel runs nix-env and nix-build from its compiled-in bin directory, which a Nix under
    // test (TERNIX_TEST_NIX) unpacked elsewhere does not have.
    ...(nixDir === undefined ? {} : { NIX_BIN_DIR: nixDir }),
    // A file:// channel has no versioned URL to redirect to: fetch it anew on every update.
    NIX_CONFIG: `${base["NIX_CONFIG"] ?? ""}\ntarball-ttl = 0`,
    HOME: home,
    NIX_STATE_DIR: stateDir,
    NIX_REMOTE: "daemon",
    NIX_DAEMON_SOCKET_PATH: base["NIX_DAEMON_SOCKET_PATH"] ?? "/nix/var/nix/daemon-socket/socket",
    XDG_STATE_HOME: join(home, ".local", "state"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
  });
  return { dir, published, home, stateDir, configuration, env };
}

/** The 40-hex revision a fixture revision stands for (stable per name). */
export function channelRevision(spec: Pick<RevisionSpec, "name">): string {
  return createHash("sha1").update(spec.name).digest("hex");
}

/**
 * Publish `revision` as channel `name` (replacing what was there) and return its URL,
 * `file://<published>/<name>`: nix-channel fetches `<URL>/nixexprs.tar.xz`.
 */
export async function publishChannel(
  world: ChannelWorld,
  name: string,
  revision: RevisionName | RevisionSpec,
): Promise<string> {
  const spec = typeof revision === "string" ? revisionSpec(revision) : revision;
  const rev = channelRevision(spec);
  const suffix = `.${spec.date.replaceAll("-", "")}.${rev.slice(0, 12)}`;
  const build = await mkdtemp(join(world.dir, "build-"));
  const top = `nixos-${spec.release}${suffix}`;
  const root = join(build, top);
  await mkdir(join(root, "nixos"), { recursive: true });
  await Promise.all(CHANNEL_FILES.map((f) => cp(join(NIXPKGS, f), join(root, f))));
  const nixosVersion = nixosVersionOf(spec);
  await writeFile(
    join(root, "revision.json"),
    `${JSON.stringify({ ...spec, nixosVersion, lineage: [spec.name] }, null, 1)}\n`,
  );
  await writeFile(join(root, ".version"), spec.release);
  await writeFile(join(root, ".version-suffix"), suffix);
  await writeFile(join(root, ".git-revision"), rev);
  const out = join(world.published, name);
  await mkdir(out, { recursive: true });
  const tar = await run(
    "tar",
    [
      "-cJf",
      join(out, "nixexprs.tar.xz"),
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--mtime=@1",
      "-C",
      build,
      top,
    ],
    { env: world.env },
  );
  if (tar.exitCode !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return pathToFileURL(out).href;
}

/** Run nix-channel in the world's environment; throws with its stderr when it fails. */
export async function nixChannel(world: ChannelWorld, args: readonly string[]): Promise<string> {
  const result = await run("nix-channel", args, { env: world.env });
  if (result.exitCode !== 0) throw new Error(`nix-channel ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}
