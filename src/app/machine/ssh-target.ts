/**
 * The activation engine's machine, reached over SSH (for `deploy`): every command is an argument
 * array run by sshRun (with `sudo -n` when configured), `nix-env` is the target's own, and the
 * reads (profile generations, current-system, the state file) are small fixed scripts whose data
 * travel as positional arguments, quoted by the one quoting function.
 */
import { InputError, SystemError } from "../../errors.js";
import { detectNixVersion, nixAdapter, type Nix } from "../../nix/nix.js";
import type { Run } from "../../proc/run.js";
import { sshRun, SSH_FAILURE_EXIT } from "../../remote/ssh.js";
import {
  currentGenerationOf,
  generationNumberOf,
  sortGenerations,
  type Generation,
} from "../../system/generations.js";
import { emptyState, parseState, serializeState, type SystemState } from "../../system/state.js";
import type { RemoteHost } from "../fleet/remote-hosts.js";
import type { ActivationTarget } from "./engine.js";
import type { ProfileState } from "./profile.js";
import { stateFilePath } from "./system-paths.js";

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/\s]+/;

/** Lists a profile: `current<TAB>target`, then per generation link `gen<TAB>entry<TAB>target<TAB>mtime` and its specialisations. */
export const PROFILE_SCRIPT = [
  'p="$1"; d=$(dirname -- "$p"); n=$(basename -- "$p")',
  'printf "current\\t%s\\n" "$(readlink -- "$p" 2>/dev/null)"',
  'for l in "$d/$n"-*-link; do',
  '  [ -L "$l" ] || continue',
  '  t=$(readlink -- "$l") || continue',
  '  printf "gen\\t%s\\t%s\\t%s\\n" "${l##*/}" "$t" "$(stat -c %Y -- "$l")"',
  '  for s in "$t"/specialisation/*; do',
  '    [ -e "$s" ] && printf "spec\\t%s\\t%s\\n" "${l##*/}" "$(readlink -f -- "$s")"',
  "  done",
  "done",
  "exit 0",
].join("\n");

/** Parse PROFILE_SCRIPT's output for `profile` (pure). */
export function parseProfileListing(profile: string, text: string): ProfileState {
  const name = profile.slice(profile.lastIndexOf("/") + 1);
  const dir = profile.slice(0, profile.lastIndexOf("/"));
  const generations = new Map<string, Generation>();
  let current: number | undefined;
  for (const line of text.split("\n")) {
    const [kind, a = "", b = "", c = ""] = line.split("\t");
    if (kind === "current") current = a === "" ? undefined : currentGenerationOf(name, a);
    else if (kind === "gen") {
      const number = generationNumberOf(name, a);
      const seconds = Number(c);
      if (number === undefined || !STORE_PATH.test(b) || !Number.isFinite(seconds)) continue;
      generations.set(a, {
        number,
        link: `${dir}/${a}`,
        storePath: b,
        createdAt: new Date(seconds * 1000),
        specialisations: [],
      });
    } else if (kind === "spec") {
      const g = generations.get(a);
      const path = STORE_PATH.exec(b)?.[0];
      if (g && path) g.specialisations = [...(g.specialisations ?? []), path];
    }
  }
  return { profile, generations: sortGenerations([...generations.values()]), current };
}

/** Writes stdin to the state file atomically: `$1` the directory, `$2` the file. */
const WRITE_STATE_SCRIPT =
  'mkdir -p -- "$1" && t="$2.ternix-$$" && cat > "$t" && chmod 0644 "$t" && mv -f -- "$t" "$2"';

export interface SshTargetOptions {
  /** The local environment ssh runs with (agent, config). */
  env: NodeJS.ProcessEnv;
  /** Options for the connections of this target, e.g. a fresh one. */
  run?: Run | undefined;
}

/** The unreachable case, as deploy and status report it. */
export class UnreachableError extends InputError {}

/** Ask the target for its Nix (one round trip that also proves it is reachable). */
export async function connectSshTarget(
  host: RemoteHost,
  options: SshTargetOptions,
): Promise<ActivationTarget> {
  const run = sshRun(host.ssh, { env: options.env, sudo: host.sudo, run: options.run });
  const probe = await run("nix-env", ["--version"]);
  if (probe.exitCode === SSH_FAILURE_EXIT) {
    const why = (probe.stderr.trim().split("\n").pop() ?? "").trim();
    throw new UnreachableError(`cannot reach ${host.name} over ssh${why ? `: ${why}` : ""}`, {
      hint: `Check \`ssh ${host.ssh.port === undefined ? "" : `-p ${host.ssh.port} `}${host.ssh.destination}\` works without a password (BatchMode) and its host key is known.`,
      detail: probe.stderr,
    });
  }
  const version = await detectNixVersion(run, {}, "nix");
  const nix: Nix = nixAdapter(version, { run, env: {}, storeDatabase: null });
  const { paths } = host;
  return {
    run,
    nix,
    paths,
    env: {},
    async readProfile() {
      const r = await run("sh", ["-c", PROFILE_SCRIPT, "sh", paths.profile]);
      if (r.exitCode !== 0) throw remoteFailure(host, "reading the system profile", r);
      return parseProfileListing(paths.profile, r.stdout);
    },
    async storePathOfLink(path) {
      const r = await run("readlink", ["-f", "--", path]);
      if (r.exitCode === SSH_FAILURE_EXIT) throw remoteFailure(host, `reading ${path}`, r);
      return r.exitCode === 0 ? STORE_PATH.exec(r.stdout.trim())?.[0] : undefined;
    },
    async updateState(change) {
      const file = stateFilePath(paths);
      const read = await run("sh", ["-c", 'if [ -e "$1" ]; then cat -- "$1"; fi', "sh", file]);
      if (read.exitCode !== 0) throw remoteFailure(host, `reading ${file}`, read);
      let state: SystemState = emptyState();
      if (read.stdout.trim() !== "") {
        const parsed = parseState(read.stdout);
        if (!parsed.ok) {
          throw new InputError(`${host.name}: ${file}: ${parsed.reason}`, {
            hint: `Move it aside on the host (\`mv ${file} ${file}.bad\`); Ternix starts a new one.`,
          });
        }
        state = parsed.state;
      }
      const next = change(state);
      const write = await run("sh", ["-c", WRITE_STATE_SCRIPT, "sh", paths.stateDir, file], {
        input: serializeState(next),
      });
      if (write.exitCode !== 0) throw remoteFailure(host, `writing ${file}`, write);
      return next;
    },
  };
}

function remoteFailure(
  host: RemoteHost,
  what: string,
  r: { argv: readonly string[]; exitCode: number | null; stderr: string },
): SystemError {
  return new SystemError(`${what} on ${host.name} failed`, r.argv, r.exitCode, r.stderr, {
    hint:
      r.exitCode === SSH_FAILURE_EXIT
        ? "The ssh connection failed; check that the host is reachable."
        : "Run with --verbose to see the remote command's output.",
  });
}
