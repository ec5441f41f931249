/**
 * `ternix status`'s ONE read-only round trip to a host: a fixed POSIX `sh` script that reads the
 * running and booted systems (and their kernel, initrd and kernel-modules links), the system
 * profile's generations (with their dates and specialisations), the failed units, the free space
 * under /nix and the state file `ternix upgrade`/`switch` keep. Pure: the script text, its argument
 * list and the parser of its output.
 *
 * The script is a constant. Everything that varies (paths from the host's `[system]` config, the
 * section marker) reaches it only as positional parameters (`sh -c SCRIPT ternix-status ARG…`), so
 * nothing from a config or a flake is ever spliced into shell code; over SSH that argv is turned into
 * one remote command line by the one quoting function. It writes nothing and needs no root.
 *
 * Output: sections `<nonce> begin NAME`, the command's output, an empty line and `<nonce> end RC`.
 * The nonce is random per run, so a file's content (the state file) cannot fake a section.
 */
import { z } from "zod";
import { parseFailedUnits } from "./checks.js";
import { generationNumberOf, type Generation } from "./generations.js";
import { BOOT_FILES, type BootFiles } from "./reboot.js";
import { parseState, type SystemState } from "./state.js";

/** What the probe reads on a host; defaults are NixOS's, a host's `[system]` config overrides them. */
export interface ProbePaths {
  profile: string;
  currentSystem: string;
  bootedSystem: string;
  stateDir: string;
  systemctl: string;
  /** The directory whose file system's free space is reported (the store's). */
  nixDir: string;
}

export const PROBE_FORMAT = 1;

/** The section names, in the order the script prints them. */
type Section =
  | "format"
  | "now"
  | "current"
  | "booted"
  | "current-boot"
  | "booted-boot"
  | "profile"
  | "generations"
  | "specialisations"
  | "failed-units"
  | "df"
  | "state";

/** The state file is absent (the script's own exit status for that case). */
const STATE_ABSENT = 100;

// No backslashes and no single quotes in the script: it survives POSIX single-quote quoting and
// also a remote login shell that is fish (whose single quotes give `\\` and `\'` a meaning).
export const PROBE_SCRIPT = [
  "nonce=$1 profile=$2 current=$3 booted=$4 statedir=$5 systemctl=$6 nixdir=$7",
  "LC_ALL=C; export LC_ALL",
  'begin() { echo "$nonce begin $1"; }',
  'end() { rc=$?; echo; echo "$nonce end $rc"; }',
  "absent() { return 100; }",
  `begin format; echo ${PROBE_FORMAT}; end`,
  "begin now; date +%s; end",
  'begin current; readlink -e -- "$current"; end',
  'begin booted; readlink -e -- "$booted"; end',
  `begin current-boot; for f in ${BOOT_FILES.join(" ")}; do echo "$f $(readlink -- "$current/$f")"; done; end`,
  `begin booted-boot; for f in ${BOOT_FILES.join(" ")}; do echo "$f $(readlink -- "$booted/$f")"; done; end`,
  'begin profile; readlink -- "$profile"; end',
  'dir=$(dirname -- "$profile"); name=$(basename -- "$profile")',
  'begin generations; for l in "$dir/$name"-*-link; do [ -L "$l" ] && echo "$(stat -c %Y -- "$l") ${l##*/} $(readlink -- "$l")"; done; true; end',
  'begin specialisations; for s in "$dir/$name"-*-link/specialisation/*; do [ -L "$s" ] && echo "${s#"$dir"/} $(readlink -e -- "$s")"; done; true; end',
  'begin failed-units; "$systemctl" --failed --plain --no-legend --no-pager 2>&1; end',
  'begin df; df -k --output=size,avail -- "$nixdir"; end',
  'begin state; if [ -e "$statedir/state.json" ]; then cat -- "$statedir/state.json"; else absent; fi; end',
].join("\n");

/** The probe as an argument list (run locally, or quoted into one remote command line). */
export function probeArgv(paths: ProbePaths, nonce: string): string[] {
  if (!/^[0-9a-f]{16,64}$/.test(nonce)) throw new Error(`probe nonce must be hex, got ${nonce}`);
  return [
    "sh",
    "-c",
    PROBE_SCRIPT,
    "ternix-status",
    nonce,
    paths.profile,
    paths.currentSystem,
    paths.bootedSystem,
    paths.stateDir,
    paths.systemctl,
    paths.nixDir,
  ];
}

/** A generation as the probe saw it (dates are the link's modification time, Unix seconds). */
export type ProbedGeneration = Pick<Generation, "number" | "storePath" | "createdAt" | "specialisations">;

export interface HostProbe {
  /** The host's clock when the probe ran. */
  now: Date;
  /** The store path /run/current-system leads to. */
  currentSystem: string;
  /** The store path /run/booted-system leads to; undefined when there is none (a container). */
  bootedSystem: string | undefined;
  currentBoot: BootFiles;
  bootedBoot: BootFiles | undefined;
  /** The profile's generation the profile link points to. */
  currentGeneration: number | undefined;
  /** Oldest first. */
  generations: ProbedGeneration[];
  /** Failed units; undefined when systemctl could not say (its exit status and output). */
  failedUnits: string[] | undefined;
  failedUnitsError: string | undefined;
  /** Bytes free and in total on the file system of /nix; undefined when df failed. */
  disk: { freeBytes: number; totalBytes: number } | undefined;
  /** The state file: absent, unreadable/invalid (with why), or its content. */
  state: { kind: "absent" } | { kind: "invalid"; reason: string } | { kind: "ok"; state: SystemState };
}

export type ProbeParse = { ok: true; probe: HostProbe } | { ok: false; reason: string };

interface SectionOutput {
  text: string;
  rc: number;
}

/** Split the output into sections; anything outside a section (login banners, motd) is ignored. */
export function splitSections(output: string, nonce: string): Map<string, SectionOutput> {
  const sections = new Map<string, SectionOutput>();
  const beginMark = `${nonce} begin `;
  let at = 0;
  for (;;) {
    const begin = output.indexOf(beginMark, at);
    if (begin === -1 || (begin > 0 && output[begin - 1] !== "\n")) {
      if (begin === -1) break;
      at = begin + beginMark.length;
      continue;
    }
    const nameEnd = output.indexOf("\n", begin);
    if (nameEnd === -1) break;
    const name = output.slice(begin + beginMark.length, nameEnd);
    // `end` prints a newline first, so the marker starts a line; that newline is not the content's.
    const endMark = `\n${nonce} end `;
    const end = output.indexOf(endMark, nameEnd);
    if (end === -1) break;
    const rcEnd = output.indexOf("\n", end + endMark.length);
    const rcText = output.slice(end + endMark.length, rcEnd === -1 ? undefined : rcEnd);
    const text = output.slice(nameEnd + 1, end);
    sections.set(name, { text, rc: /^\d+$/.test(rcText) ? Number(rcText) : -1 });
    at = rcEnd === -1 ? output.length : rcEnd + 1;
  }
  return sections;
}

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/\s]+$/;
const storePathOf = (text: string) => {
  const line = text.trim();
  return STORE_PATH.test(line) ? line : undefined;
};

function parseBootFiles(text: string): BootFiles {
  const files: BootFiles = { kernel: undefined, initrd: undefined, "kernel-modules": undefined };
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space === -1) continue;
    const name = line.slice(0, space);
    const target = line.slice(space + 1).trim();
    if ((BOOT_FILES as readonly string[]).includes(name) && target !== "")
      files[name as keyof BootFiles] = target;
  }
  return files;
}

const DfSchema = z.tuple([z.coerce.number().int().min(0), z.coerce.number().int().min(0)]);

function parseDf(section: SectionOutput | undefined): HostProbe["disk"] {
  if (!section || section.rc !== 0) return undefined;
  const row = section.text.split("\n").filter((l) => l.trim() !== "")[1];
  const parsed = DfSchema.safeParse(row?.trim().split(/\s+/));
  if (!parsed.success) return undefined;
  const [size, avail] = parsed.data;
  return { totalBytes: size * 1024, freeBytes: avail * 1024 };
}

/** `<mtime> <name>-<N>-link <target>` lines (mtime in seconds, maybe with a fraction). */
function parseGenerations(
  profileName: string,
  text: string,
  specialisations: ReadonlyMap<string, string[]>,
): ProbedGeneration[] {
  const generations: ProbedGeneration[] = [];
  for (const line of text.split("\n")) {
    const match = /^(\d+(?:\.\d+)?) (\S+) (\/nix\/store\/\S+)$/.exec(line);
    if (!match) continue;
    const entry = match[2] as string;
    const number = generationNumberOf(profileName, entry);
    const storePath = storePathOf(match[3] as string);
    if (number === undefined || storePath === undefined) continue;
    generations.push({
      number,
      storePath,
      createdAt: new Date(Math.round(Number(match[1]) * 1000)),
      specialisations: specialisations.get(entry) ?? [],
    });
  }
  return generations.sort((a, b) => a.number - b.number);
}

/** `<name>-<N>-link/specialisation/<spec> <store path>` lines, by generation link name. */
function parseSpecialisations(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const slash = line.indexOf("/specialisation/");
    const space = line.lastIndexOf(" ");
    if (slash <= 0 || space < slash) continue;
    const target = storePathOf(line.slice(space + 1));
    if (target === undefined) continue;
    const entry = line.slice(0, slash);
    out.set(entry, [...(out.get(entry) ?? []), target]);
  }
  return out;
}

const basename = (path: string) => path.slice(path.replace(/\/+$/, "").lastIndexOf("/") + 1);

/**
 * Parse the probe's output. Fails (as a value) when the output is not the probe's (no sections: the
 * remote shell could not run it) or there is no running system; every other missing piece is a
 * field left undefined.
 */
export function parseProbeOutput(output: string, nonce: string, paths: ProbePaths): ProbeParse {
  const sections = splitSections(output, nonce);
  const get = (name: Section) => sections.get(name);
  const format = get("format");
  if (!format) return { ok: false, reason: "the status probe printed nothing Ternix understands" };
  if (format.text.trim() !== String(PROBE_FORMAT))
    return { ok: false, reason: `the status probe's format is ${format.text.trim()}, not ${PROBE_FORMAT}` };
  const current = get("current");
  const currentSystem = current?.rc === 0 ? storePathOf(current.text) : undefined;
  if (currentSystem === undefined) {
    return {
      ok: false,
      reason: `no running system: ${paths.currentSystem} does not lead to a store path on the host`,
    };
  }
  const booted = get("booted");
  const bootedSystem = booted?.rc === 0 ? storePathOf(booted.text) : undefined;
  const nowText = get("now")?.text.trim() ?? "";
  const now = /^\d+$/.test(nowText) ? new Date(Number(nowText) * 1000) : new Date(Number.NaN);
  const profileName = basename(paths.profile);
  const profileTarget = get("profile");
  const currentGeneration =
    profileTarget?.rc === 0
      ? generationNumberOf(profileName, basename(profileTarget.text.trim()))
      : undefined;
  const generations = parseGenerations(
    profileName,
    get("generations")?.text ?? "",
    parseSpecialisations(get("specialisations")?.text ?? ""),
  );

  const units = get("failed-units");
  const unitsOk = units !== undefined && units.rc === 0;
  const failedUnitsError = unitsOk
    ? undefined
    : units === undefined
      ? "the probe did not reach systemctl"
      : `${paths.systemctl} exited with ${units.rc}${units.text.trim() ? `: ${units.text.trim().split("\n")[0]}` : ""}`;

  const stateSection = get("state");
  let state: HostProbe["state"];
  if (stateSection === undefined)
    state = { kind: "invalid", reason: "the probe did not reach the state file" };
  else if (stateSection.rc === STATE_ABSENT) state = { kind: "absent" };
  else if (stateSection.rc !== 0)
    state = {
      kind: "invalid",
      reason: `cannot read ${paths.stateDir}/state.json (cat exited with ${stateSection.rc})`,
    };
  else {
    const parsed = parseState(stateSection.text);
    state = parsed.ok ? { kind: "ok", state: parsed.state } : { kind: "invalid", reason: parsed.reason };
  }

  return {
    ok: true,
    probe: {
      now,
      currentSystem,
      bootedSystem,
      currentBoot: parseBootFiles(get("current-boot")?.text ?? ""),
      bootedBoot: bootedSystem === undefined ? undefined : parseBootFiles(get("booted-boot")?.text ?? ""),
      currentGeneration,
      generations,
      failedUnits: unitsOk ? parseFailedUnits(units.text) : undefined,
      failedUnitsError,
      disk: parseDf(get("df")),
      state,
    },
  };
}
