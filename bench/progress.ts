/**
 * bench/progress: does following a build cost build time? The same batched `nix build` of a salted
 * fixture fleet (every derivation new to the store, so Nix really builds) three ways, in one run:
 *
 *   none  `buildToplevels` without events: plain `nix build --json --keep-going`, what Ternix ran before
 *   log   with events rendered as log lines (CI, a pipe): `--log-format internal-json -v`, a dry run per
 *         host for the per-host totals, the tracker, the renderer
 *   live  the same rendered as a terminal's live block (redrawn at most every 100 ms)
 *
 * Rendered text goes to a counting sink, not a terminal: what is measured is Ternix's side (reading
 * and parsing the log, tracking, rendering), not the terminal emulator. Prints wall times, the ratio
 * to `none`, and how many log lines, events and bytes of output each way handled.
 *
 *   npm run bench:progress -- [--hosts 4] [--keep]
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AppEvent } from "../src/app/effects.js";
import { buildToplevels, evalToplevels } from "../src/app/fleet/hosts.js";
import type { Output } from "../src/cli/output.js";
import { createProgress } from "../src/cli/progress.js";
import { createNix } from "../src/nix/nix.js";
import { run } from "../src/proc/run.js";
import { ensureNixDaemon } from "../test/helpers/nix-daemon.js";
import { createWorld, DEFAULT_HOSTS, type HostSpec } from "../test/helpers/world.js";
import { machineLine, ms, positiveInt, progress, ratio, reportFailure, table } from "./lib.js";

type Mode = "none" | "log" | "live";
const MODES: readonly Mode[] = ["none", "log", "live"];

function sinkOutput(interactive: boolean): Output {
  const ignore = () => undefined;
  return {
    color: false,
    stderrColor: false,
    interactive,
    ci: undefined,
    verbose: false,
    stdout: ignore,
    info: ignore,
    warn: ignore,
    debug: ignore,
    event: ignore,
    error: ignore,
  };
}

interface Sample {
  mode: Mode;
  wallMs: number;
  /** CPU time of this Node process during the build (reading the log, tracking, rendering). */
  cpuMs: number;
  derivations: number;
  events: number;
  bytes: number;
}

async function buildOnce(mode: Mode, hosts: readonly HostSpec[], keep: boolean): Promise<Sample> {
  const w = await createWorld({ salt: randomUUID(), hosts });
  try {
    const nix = await createNix({ run, env: w.env });
    const names = hosts.map((h) => h.name);
    const evals = await evalToplevels(nix, w.fleetDir, names);
    let events = 0;
    let bytes = 0;
    let derivations = 0;
    const shown =
      mode === "none"
        ? undefined
        : createProgress(sinkOutput(mode === "live"), (text) => (bytes += text.length));
    const onEvent = (event: AppEvent) => {
      events += 1;
      if (event.type === "build-finished") derivations += 1;
      shown?.onEvent(event);
    };
    const start = performance.now();
    const cpu = process.cpuUsage();
    const built = await buildToplevels(nix, evals, {
      rootDir: join(w.dir, "roots"),
      onEvent: mode === "none" ? undefined : onEvent,
      side: "after",
    });
    shown?.done();
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    const failed = [...built.values()].filter((b) => !b.ok);
    if (failed.length > 0) throw new Error(`build failed: ${failed.map((b) => b.host).join(", ")}`);
    return { mode, wallMs, cpuMs, derivations, events, bytes };
  } finally {
    if (keep) progress(`kept ${w.dir}`);
    else await w.cleanup();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { hosts: { type: "string" }, keep: { type: "boolean", default: false } },
  });
  const hostCount = positiveInt(values.hosts, "--hosts", DEFAULT_HOSTS.length);
  const hosts = Array.from({ length: hostCount }, (_, i) => ({
    ...(DEFAULT_HOSTS[i % DEFAULT_HOSTS.length] as HostSpec),
    name: `${(DEFAULT_HOSTS[i % DEFAULT_HOSTS.length] as HostSpec).name}-${i}`,
  }));
  await ensureNixDaemon();
  const samples: Sample[] = [];
  for (const mode of MODES) {
    progress(`building ${hostCount} salted hosts, progress: ${mode}`);
    samples.push(await buildOnce(mode, hosts, values.keep));
  }
  const none = samples.find((s) => s.mode === "none") as Sample;
  process.stdout.write(
    `bench/progress: one batched nix build of ${hostCount} fixture hosts, every derivation new (one run each)\n` +
      `${machineLine()}\n\n` +
      table([
        ["progress", "wall", "ratio to none", "Ternix CPU", "derivations", "events", "output bytes"],
        ...samples.map((s) => [
          s.mode,
          ms(s.wallMs),
          ratio(s.wallMs, none.wallMs),
          ms(s.cpuMs),
          s.mode === "none" ? "-" : String(s.derivations),
          String(s.events),
          String(s.bytes),
        ]),
      ]) +
      "\n",
  );
}

main().catch((error: unknown) => reportFailure("bench/progress", error));
