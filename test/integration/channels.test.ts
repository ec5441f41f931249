/**
 * Channel-based systems end to end, with the built CLI and real nix-channel: a channel made from the
 * fixture nixpkgs as a real `nixexprs.tar.xz` behind a `file://` URL, nix-channel's list, profile
 * and ~/.nix-defexpr in a temporary directory (test/helpers/channel.ts), never the machine's own.
 */
import { chmod, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProfile } from "../../src/app/machine/profile.js";
import { ensureBuiltCli, runCli, type CliResult } from "../helpers/cli.js";
import {
  channelRevision,
  createChannelWorld,
  nixChannel,
  publishChannel,
  type ChannelWorld,
} from "../helpers/channel.js";
import { revisionSpec } from "../helpers/world.js";
import { rm } from "node:fs/promises";
import { userInfo } from "node:os";

let w: ChannelWorld;
let profile: string;
let url2411: string;

const cli = (args: string[], env: NodeJS.ProcessEnv = w.env): Promise<CliResult> =>
  runCli(args, { cwd: w.dir, env });

/** The channel's store directory in the profile, and the profile's current generation. */
async function channelState(name = "nixos"): Promise<{ target: string; generation: number | undefined }> {
  const target = await readlink(join(profile, name)).catch(() => "(none)");
  return { target, generation: (await readProfile(profile)).current };
}

/**
 * Progress lines may come first; then one `error:` line and one `hint:` line (a failed Nix command
 * adds the pointer to --verbose), nothing on stdout.
 */
function expectCleanError(result: CliResult, code: number, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(code);
  expect(result.stdout).toBe("");
  const lines = result.stderr.trimEnd().split("\n");
  const at = lines.findIndex((l) => l.startsWith("error:"));
  expect(lines[at]).toMatch(message);
  expect(lines[at + 1]).toMatch(/^hint: \S/);
  expect(lines.slice(at + 2).filter((l) => l !== "(run with --verbose for details)")).toEqual([]);
}

beforeAll(async () => {
  await ensureBuiltCli();
  w = await createChannelWorld();
  profile = join(w.stateDir, "profiles", "per-user", userInfo().username, "channels");
  url2411 = await publishChannel(w, "nixos-24.11", "24.11-a");
  await nixChannel(w, ["--add", url2411, "nixos"]);
  await nixChannel(w, ["--update"]);
}, 120_000);

afterAll(async () => {
  if (w) await rm(w.dir, { recursive: true, force: true });
});

describe("ternix inputs on a channel-based machine", () => {
  it("lists the channels with release, revision, age and verdicts (no flake.nix here: channel mode)", async () => {
    const rev = channelRevision(revisionSpec("24.11-a"));
    const text = await cli(["inputs", "--no-color"]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^CHANNEL\s+URL\s+RELEASE\s+VERSION\s+REV\s+FETCHED\s+AGE\s+VERDICT/m);
    expect(text.stdout).toContain(`nixos    ${url2411}  24.11`);
    expect(text.stdout).toContain(rev.slice(0, 7));
    expect(text.stdout).toMatch(/\b0d\b/);
    expect(text.stdout).toContain("Age: days since this revision was fetched");

    const json = await cli(["inputs", "--json"]);
    expect(json.exitCode, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      schemaVersion: number;
      kind: string;
      source: string;
      channels: { name: string; release: string; revision: string; version: string }[];
      inputs: { name: string; ref: string; verdict: string; issues: { kind: string }[] }[];
    };
    expect(doc).toMatchObject({ schemaVersion: 1, kind: "inputs", source: "channels" });
    expect(doc.channels).toEqual([
      expect.objectContaining({
        name: "nixos",
        release: "24.11",
        revision: rev,
        version: expect.stringMatching(/^24\.11\.20241201\./) as unknown,
      }),
    ]);
    // The same staleness policy as flake inputs: a file:// channel has no allowed owner, and
    // nixos-24.11 is not a supported branch at the time this runs (2026 or later).
    const kinds = doc.inputs[0]?.issues.map((i) => i.kind) ?? [];
    expect(kinds).toContain("non-upstream");
    expect(doc.inputs[0]?.ref).toBe("nixos-24.11");

    const check = await cli(["inputs", "--check", "--no-color"]);
    expect(check.exitCode).toBe(5);
  });
});

describe("ternix update on channels", () => {
  it("--dry-run fetches into a temporary profile and shows the diff; the channels stay as they were", async () => {
    await publishChannel(w, "nixos-24.11", "24.11-b");
    const before = await channelState();
    const result = await cli(["update", "--dry-run", "--no-color"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const from = channelRevision(revisionSpec("24.11-a")).slice(0, 7);
    const to = channelRevision(revisionSpec("24.11-b")).slice(0, 7);
    expect(result.stdout).toMatch(
      new RegExp(
        `^nixos  24\\.11\\.20241201\\.\\S+ \\(${from}\\) → 24\\.11\\.20241215\\.\\S+ \\(${to}\\)$`,
        "m",
      ),
    );
    expect(result.stderr).toContain("Dry run: the channels were not changed.");
    expect(await channelState()).toEqual(before);
  });

  it("an unknown channel name is a usage error; nothing changes", async () => {
    const before = await channelState();
    expectCleanError(await cli(["update", "nosuch"]), 64, /^error: unknown channel "nosuch"\.$/);
    expect(await channelState()).toEqual(before);
  });

  it("updates the named channel: a new generation, the semantic diff as JSON", async () => {
    const before = await channelState();
    const result = await cli(["update", "nixos", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      kind: string;
      changed: boolean;
      generationBefore: number;
      generationAfter: number;
      channels: {
        name: string;
        releaseJump: unknown;
        before: { revision: string };
        after: { revision: string };
      }[];
    };
    expect(doc).toMatchObject({ kind: "channel-diff", changed: true, generationBefore: before.generation });
    expect(doc.generationAfter).toBe((before.generation ?? 0) + 1);
    expect(doc.channels[0]).toMatchObject({
      name: "nixos",
      releaseJump: null,
      before: { revision: channelRevision(revisionSpec("24.11-a")) },
      after: { revision: channelRevision(revisionSpec("24.11-b")) },
    });
    expect((await channelState()).target).not.toBe(before.target);
  });
});

describe("a failed update puts the channels generation back", () => {
  it("nix-channel fails after it made the new generation (~/.nix-defexpr is a file): rolled back", async () => {
    const before = await channelState();
    const defexpr = join(w.home, ".nix-defexpr");
    await rm(defexpr, { recursive: true });
    await writeFile(defexpr, "not a directory\n");
    try {
      await publishChannel(w, "nixos-24.11", "24.11-c");
      const result = await cli(["update", "nixos"]);
      expectCleanError(result, 1, /^error: updating the channels failed: /);
      // nix-channel got as far as a new generation before failing; Ternix switched back.
      const state = await readProfile(profile);
      expect(Math.max(...state.generations.map((g) => g.number))).toBe((before.generation ?? 0) + 1);
      expect(await channelState()).toEqual(before);
    } finally {
      await rm(defexpr, { force: true });
      await mkdir(defexpr);
      await symlink(profile, join(defexpr, "channels"));
    }
  });
});

describe("ternix channel switch", () => {
  it("a channel URL that does not exist: one error, a hint, the list and the generation as they were", async () => {
    const list = await readFile(join(w.home, ".nix-channels"), "utf8");
    const before = await channelState();
    const result = await cli([
      "channel",
      "switch",
      "nixos",
      `file://${w.dir}/nonexistent/nixos-99.11`,
      "--yes",
    ]);
    expectCleanError(result, 1, /^error: fetching the channels failed: .*nonexistent/);
    expect(await readFile(join(w.home, ".nix-channels"), "utf8")).toBe(list);
    expect(await channelState()).toEqual(before);
  });

  it("shows the release jump and the store-schema warning, asks (refuses without --yes), then switches", async () => {
    await publishChannel(w, "nixos-25.05", "25.05-a");
    const before = await channelState();
    const refused = await cli(["channel", "switch", "nixos-25.05", "--no-color"]);
    expect(refused.exitCode).toBe(64);
    expect(refused.stdout).toContain("Release jump: 24.11 → 25.05");
    // The fixture's 25.05 brings Nix 2.28.3, newer than the Nix under test (2.8 or 2.24).
    expect(refused.stdout).toContain("Nix in the new channel: 2.28.3");
    expect(refused.stderr).toMatch(
      /warning: the new channel brings Nix 2\.28\.3, newer than the running Nix 2\.\d+\.\d+\. It may upgrade the Nix store database schema, which cannot be undone: you will not be able to go back to your original channel\./,
    );
    expect(refused.stderr).toMatch(/^error: switching a channel needs a confirmation\.$/m);
    expect(await channelState()).toEqual(before);

    const done = await cli(["channel", "switch", "nixos-25.05", "--yes", "--no-color"]);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await nixChannel(w, ["--list"])).toBe(
      `nixos ${w.published.startsWith("/") ? "file://" : ""}${w.published}/nixos-25.05\n`,
    );
    const after = await channelState();
    // A new generation (numbered after the newest, which may be one a rollback left behind).
    expect(after.generation).toBeGreaterThan(before.generation ?? 0);
    expect(await readFile(join(after.target, ".version"), "utf8")).toBe("25.05");
  });
});

describe("build | switch from channels", () => {
  it("builds <nixpkgs/nixos> with the channels' NIX_PATH and the given configuration.nix", async () => {
    const result = await cli([
      "build",
      "--nixos-config",
      w.configuration,
      "--current-system",
      join(w.dir, "no-current-system"),
      "--no-color",
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /: \/nix\/store\/[0-9a-z]{32}-nixos-system-chan-25\.05\.20250525\.[0-9a-f]{7}$/m,
    );
  });

  it("switch --upgrade updates the channels, then builds, activates and checks as for a flake", async () => {
    const machine = join(w.dir, "machine");
    await mkdir(join(machine, "profiles"), { recursive: true });
    await mkdir(join(machine, "run"), { recursive: true });
    const systemctl = join(machine, "systemctl");
    await writeFile(systemctl, "#!/bin/sh\nexit 0\n");
    await chmod(systemctl, 0o755);
    const current = join(machine, "run", "current-system");
    const env = {
      ...w.env,
      TERNIX_FIXTURE_CURRENT_SYSTEM: current,
      TERNIX_FIXTURE_SWITCH_LOG: join(machine, "switch.log"),
    };
    const result = await cli(
      [
        "switch",
        "--channels",
        "--upgrade",
        "--yes",
        "--nixos-config",
        w.configuration,
        "--profile",
        join(machine, "profiles", "system"),
        "--current-system",
        current,
        "--booted-system",
        join(machine, "run", "booted-system"),
        "--state-dir",
        join(machine, "state"),
        "--systemctl",
        systemctl,
        "--no-systemd-run",
        "--no-color",
      ],
      env,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("No channel changed.");
    expect(result.stdout).toMatch(/Switched \S+ \(generation 1\); all checks passed/);
    expect(await readlink(current)).toMatch(/-nixos-system-chan-25\.05\./);
    // The same activation engine as for flakes: activate (test), check, then the boot default.
    expect(await readFile(join(machine, "switch.log"), "utf8")).toMatch(
      /^test (\/nix\/store\/\S+-nixos-system-chan-25\.05\S+)\nboot \1\n$/,
    );
  });

  it("a system whose Nix moves from 2.3 to 2.28 is flagged: the store schema change cannot be undone", async () => {
    const spec = revisionSpec("24.11-a");
    const nix = spec.packages["nix"];
    if (nix === undefined) throw new Error("the fixture nixpkgs has no nix");
    const oldNix = {
      ...spec,
      name: "24.11-nix-2.3",
      packages: { ...spec.packages, nix: { ...nix, version: "2.3.16" } },
    };
    const oldUrl = await publishChannel(w, "nixos-24.11-old-nix", oldNix);
    expect((await cli(["channel", "switch", "nixos", oldUrl, "--yes"])).exitCode).toBe(0);
    const old = await cli([
      "build",
      "--nixos-config",
      w.configuration,
      "--current-system",
      join(w.dir, "none"),
    ]);
    expect(old.exitCode, old.stderr).toBe(0);
    const oldSystem = /: (\/nix\/store\/\S+)$/m.exec(old.stdout)?.[1] ?? "";
    expect(oldSystem).toMatch(/-nixos-system-chan-24\.11\./);
    const running = join(w.dir, "running-old-nix");
    await symlink(oldSystem, running);
    expect((await cli(["channel", "switch", "nixos-25.05", "--yes"])).exitCode).toBe(0);
    const result = await cli([
      "build",
      "--nixos-config",
      w.configuration,
      "--current-system",
      running,
      "--no-color",
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "Nix store schema change: nix 2.3.16 -> nix 2.28.3 crosses the content-addressed derivation tables (db/ca-schema)",
    );
  });

  it("a configuration.nix that does not exist: one error and a hint", async () => {
    expectCleanError(
      await cli(["build", "--channels", "--nixos-config", join(w.dir, "none.nix")]),
      1,
      /^error: \S+none\.nix does not exist\.$/,
    );
  });
});
