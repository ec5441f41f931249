/**
 * bench/deploy: `ternix deploy` of a 20-host fleet (10 unchanged, 10 changed) against the sequential
 * loop that `nixos-rebuild switch --target-host` amounts to, per host:
 *
 *   nix build FLAKE#nixosConfigurations.$h.config.system.build.toplevel --no-link --json
 *   NIX_SSHOPTS=… nix copy --no-check-sigs --to ssh-ng://TARGET $out
 *   ssh TARGET nix-env -p PROFILE --set $out
 *   ssh TARGET $out/bin/switch-to-configuration switch
 *
 * Both run against the same hosts: real sshds on loopback (test/helpers/deploy-fleet.ts), each with
 * its own store for `nix copy` and its own profile and current-system link; every system is built
 * before the first run, and every host is reset to what it ran before each run. Ternix does more per
 * host than the loop (failed-unit and command checks, a dead man's switch armed and disarmed over a
 * new connection, the state file), so the ratio is what that safety costs or saves overall.
 *
 *   npm run bench:deploy -- [--unchanged 10] [--changed 10] [--runs 1] [--parallel 4] [--keep]
 */
import { rename, symlink } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createDeployFleet, type DeployFleet } from "../test/helpers/deploy-fleet.js";
import { ensureNixDaemon } from "../test/helpers/nix-daemon.js";
import { NIX_FLAGS } from "../test/helpers/nix-env.js";
import { buildHosts, toplevelInstallable } from "../test/helpers/world.js";
import { run } from "../src/proc/run.js";
import { quoteCommandLine } from "../src/remote/quote.js";
import {
  machineLine,
  median,
  ms,
  positiveInt,
  progress,
  reportFailure,
  requireBuiltCli,
  spread,
  table,
  TERNIX_BIN,
  timeChecked,
} from "./lib.js";

interface Options {
  unchanged: number;
  changed: number;
  runs: number;
  parallel: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      unchanged: { type: "string" },
      changed: { type: "string" },
      runs: { type: "string" },
      parallel: { type: "string" },
      keep: { type: "boolean" },
    },
  });
  return {
    unchanged: positiveInt(values.unchanged, "--unchanged", 10),
    changed: positiveInt(values.changed, "--changed", 10),
    runs: positiveInt(values.runs, "--runs", 1),
    parallel: positiveInt(values.parallel, "--parallel", 4),
    keep: values.keep ?? false,
  };
}

/** Every host back on what it ran at the start: current-system link and a profile generation. */
async function reset(fleet: DeployFleet, v0: Record<string, string>): Promise<void> {
  for (const h of Object.values(fleet.hosts)) {
    const path = v0[h.name] as string;
    const tmp = `${h.currentSystem}.tmp`;
    await symlink(path, tmp);
    await rename(tmp, h.currentSystem);
    const r = await run("nix-env", ["--profile", h.profile, "--set", path], { env: fleet.world.env });
    if (r.exitCode !== 0) throw new Error(`reset failed: ${r.stderr}`);
  }
}

async function loop(fleet: DeployFleet, names: readonly string[]): Promise<number> {
  const env = fleet.world.env;
  const started = performance.now();
  for (const name of names) {
    const h = fleet.hosts[name];
    if (!h) throw new Error(`no host ${name}`);
    const built = await timeChecked(
      "nix build",
      "nix",
      [...NIX_FLAGS, "build", toplevelInstallable(fleet.world, name), "--no-link", "--json"],
      { cwd: fleet.world.fleetDir, env },
    );
    const out = (JSON.parse(built.stdout) as { outputs: { out: string } }[])[0]?.outputs.out as string;
    const sshOpts = [...fleet.sshd.sshArgs, "-p", String(h.port)];
    await timeChecked(
      "nix copy",
      "nix",
      [
        ...NIX_FLAGS,
        "copy",
        "--no-check-sigs",
        "--to",
        `ssh-ng://${h.destination}?remote-store=${encodeURIComponent(`local?root=${h.store}`)}`,
        out,
      ],
      { env: { ...env, NIX_SSHOPTS: sshOpts.join(" ") } },
    );
    await timeChecked(
      "ssh nix-env",
      "ssh",
      [...sshOpts, "--", h.destination, quoteCommandLine(["nix-env", "-p", h.profile, "--set", out])],
      { env },
    );
    await timeChecked(
      "ssh switch",
      "ssh",
      [...sshOpts, "--", h.destination, quoteCommandLine([`${out}/bin/switch-to-configuration`, "switch"])],
      { env },
    );
  }
  return performance.now() - started;
}

async function ternix(fleet: DeployFleet, options: Options, changed: readonly string[]): Promise<number> {
  const r = await timeChecked(
    "ternix deploy",
    process.execPath,
    [
      TERNIX_BIN,
      "deploy",
      "--flake",
      fleet.world.fleetDir,
      "--yes",
      "--json",
      "--parallel",
      String(options.parallel),
    ],
    { cwd: fleet.world.fleetDir, env: fleet.world.env },
  );
  const json = JSON.parse(r.stdout) as { hosts: { host: string; state: string }[] };
  const deployed = json.hosts
    .filter((h) => h.state === "deployed")
    .map((h) => h.host)
    .sort();
  const unchanged = json.hosts.filter((h) => h.state === "unchanged").length;
  if (deployed.join() !== [...changed].sort().join() || unchanged !== json.hosts.length - changed.length)
    throw new Error(`ternix deploy did not deploy exactly the changed hosts: ${r.stdout}`);
  return r.ms;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  requireBuiltCli();
  await ensureNixDaemon();
  const names = Array.from(
    { length: options.unchanged + options.changed },
    (_, i) => `h${String(i).padStart(2, "0")}`,
  );
  const changed = names.slice(options.unchanged);
  progress(`starting ${names.length} hosts (sshd each) and building their systems…`);
  const fleet = await createDeployFleet(names);
  try {
    const v0 = await fleet.seed();
    await fleet.writeConfig();
    await fleet.bump(1, changed);
    const v1 = await buildHosts(fleet.world, names);
    for (const n of names) {
      const same = v1[n] === v0[n];
      if (same !== !changed.includes(n))
        throw new Error(`host ${n}: expected ${same ? "a change" : "no change"}`);
    }
    const times = { loop: [] as number[], ternix: [] as number[] };
    for (let i = 0; i < options.runs; i++) {
      await reset(fleet, v0);
      progress(`run ${i + 1}: sequential loop…`);
      times.loop.push(await loop(fleet, names));
      for (const n of names)
        if ((await fleet.running(n)) !== v1[n]) throw new Error(`loop left ${n} on the wrong system`);
      await reset(fleet, v0);
      progress(`run ${i + 1}: ternix deploy…`);
      times.ternix.push(await ternix(fleet, options, changed));
      for (const n of names)
        if ((await fleet.running(n)) !== v1[n]) throw new Error(`ternix left ${n} on the wrong system`);
    }
    const l = median(times.loop);
    const t = median(times.ternix);
    process.stdout.write(
      [
        `bench/deploy — ${new Date().toISOString()}`,
        machineLine(),
        `${names.length} hosts over ssh (${options.unchanged} unchanged, ${options.changed} changed), ternix --parallel ${options.parallel}, ${options.runs} run(s)`,
        "",
        table([
          ["", "median (min–max)"],
          ["sequential loop (build, copy, set profile, switch per host)", spread(times.loop)],
          ["ternix deploy (one build, checks, dead man's switch)", spread(times.ternix)],
        ]),
        "",
        `loop / ternix: ${(l / t).toFixed(2)}× (${ms(l)} vs ${ms(t)})`,
        "",
      ].join("\n"),
    );
  } finally {
    if (options.keep) progress(`kept ${fleet.world.dir}`);
    else await fleet.cleanup();
  }
}

main().catch((error: unknown) => reportFailure("bench/deploy", error));
