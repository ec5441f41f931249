/**
 * End-to-end: the built `ternix inputs`, `ternix update` and `ternix lock-diff` against real Nix and
 * git on the fixture fleet (test/helpers/world.ts). One world for the file: the tests run in order
 * and move its lock step by step, each checking the exit code, stdout/stderr, and what is (or is not)
 * on disk. Every diff Ternix reports is checked against the two lock files, read independently here.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ensureBuiltCli,
  expectCleanError,
  lines,
  normaliseText,
  pathWithoutNix,
  runCli,
  snapshotDir,
} from "../helpers/cli.js";
import { expectGolden } from "../helpers/golden.js";
import { nixTestEnv } from "../helpers/nix-env.js";
import {
  advanceHardware,
  advanceHome,
  advanceNixpkgs,
  createWorld,
  git,
  nixOrThrow,
  setFleetNixpkgsBranch,
  type World,
} from "../helpers/world.js";

// ---------------------------------------------------------------------------------------------
// What the tests read from the CLI's JSON (docs/json-schema.md) and from flake.lock itself.

interface LockedInputJson {
  rev: string | null;
  followsTarget: string | null;
  ref: string | null;
}

interface InputDiffJson {
  id: string;
  status: "added" | "removed" | "changed" | "unchanged";
  oldRev: string | null;
  newRev: string | null;
  releaseJump: { from: string; to: string; direction: string } | null;
  refChange: { from: string | null; to: string | null } | null;
  followsChange: { from: string | null; to: string | null } | null;
  compareUrl: string | null;
  before: LockedInputJson | null;
  after: LockedInputJson | null;
}

interface LockDiffJson {
  schemaVersion: number;
  kind: string;
  changed: boolean;
  counts: Record<string, number>;
  inputs: InputDiffJson[];
  old?: string;
  new?: string;
  dryRun?: boolean;
  written?: boolean;
  commit?: string | null;
}

interface InputsJson {
  schemaVersion: number;
  kind: string;
  policyPassed: boolean;
  upstreamChecked: boolean;
  inputs: {
    id: string;
    parent: string | null;
    direct: boolean;
    follows: string[] | null;
    followsTarget: string | null;
    type: string;
    ref: string | null;
    rev: string | null;
    lastModified: string | null;
    verdict: string;
    issues: { kind: string; maxAgeDays: number | null }[];
    upstream: {
      upToDate: boolean;
      rev: string | null;
      lastModified: string | null;
      daysBehind: number | null;
      commitsBehind: number | null;
      compareUrl: string | null;
    } | null;
  }[];
}

interface FlakeLockJson {
  root: string;
  nodes: Record<
    string,
    { inputs?: Record<string, string | string[]>; locked?: { rev?: string; lastModified?: number } }
  >;
}

/** The node an input path (`["home", "nixpkgs"]`) ends at, following `follows` paths from the root. */
function nodeOf(lock: FlakeLockJson, path: readonly string[], depth = 0): string {
  if (depth > 20) throw new Error(`follows loop at ${path.join("/")}`);
  let key = lock.root;
  for (const name of path) {
    const ref = lock.nodes[key]?.inputs?.[name];
    if (ref === undefined) throw new Error(`no input ${path.join("/")} in the lock`);
    key = typeof ref === "string" ? ref : ref.length === 0 ? lock.root : nodeOf(lock, ref, depth + 1);
  }
  return key;
}

function revOf(lock: FlakeLockJson, id: string): string | undefined {
  return lock.nodes[nodeOf(lock, id.split("/"))]?.locked?.rev;
}

/**
 * The diff agrees with the two lock files: every input's revision on each side is the one the lock
 * holds, and an input counts as changed exactly when it moved (for inputs with their own node).
 */
function expectDiffAgreesWithLocks(diff: LockDiffJson, beforeText: string, afterText: string): void {
  const before = JSON.parse(beforeText) as FlakeLockJson;
  const after = JSON.parse(afterText) as FlakeLockJson;
  expect(diff.schemaVersion).toBe(1);
  expect(diff.kind).toBe("lock-diff");
  for (const input of diff.inputs) {
    const oldRev = input.before ? revOf(before, input.id) : undefined;
    const newRev = input.after ? revOf(after, input.id) : undefined;
    expect(input.before?.rev ?? undefined, `${input.id} before`).toBe(oldRev);
    expect(input.after?.rev ?? undefined, `${input.id} after`).toBe(newRev);
    const ownNodes = input.before?.followsTarget === null && input.after?.followsTarget === null;
    if (ownNodes) expect(input.status === "changed", input.id).toBe(oldRev !== newRev);
    if (input.status === "changed" && input.followsChange === null) {
      expect([input.oldRev, input.newRev]).toEqual([oldRev ?? null, newRev ?? null]);
    }
  }
  expect(diff.changed).toBe(diff.inputs.some((i) => i.status !== "unchanged"));
}

/** Input ids with their own node (follows inputs left out), depth first: `home`, `home/nixpkgs`, … */
function ownInputIds(lock: FlakeLockJson, key = lock.root, prefix = ""): string[] {
  return Object.entries(lock.nodes[key]?.inputs ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, ref]) =>
      typeof ref === "string" ? [`${prefix}${name}`, ...ownInputIds(lock, ref, `${prefix}${name}/`)] : [],
    );
}

/** Labels for the revisions in two locks, by input: `<nixpkgs@old>`, `<nixpkgs@new>`, `<home>` if unmoved. */
function revLabels(beforeText: string, afterText: string): Map<string, string> {
  const labels = new Map<string, string>();
  const locks = { old: JSON.parse(beforeText) as FlakeLockJson, new: JSON.parse(afterText) as FlakeLockJson };
  for (const [side, other] of [
    ["old", "new"],
    ["new", "old"],
  ] as const) {
    for (const id of ownInputIds(locks[side])) {
      const rev = revOf(locks[side], id);
      if (rev === undefined || labels.has(rev)) continue;
      const otherRev = ownInputIds(locks[other]).includes(id) ? revOf(locks[other], id) : undefined;
      labels.set(rev, otherRev === rev ? `<${id}>` : `<${id}@${side}>`);
    }
  }
  return labels;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------------------

describe("ternix inputs, update and lock-diff on the fixture fleet", () => {
  let world: World;
  let scratch: string;
  const ternix = (args: readonly string[], env: NodeJS.ProcessEnv = world.env, cwd = world.fleetDir) =>
    runCli(args, { cwd, env });
  const lockPath = () => join(world.fleetDir, "flake.lock");
  const lockText = () => readFile(lockPath(), "utf8");
  const gitFleet = (args: readonly string[]) => git(world, world.fleetDir, args);
  const head = async () => (await gitFleet(["rev-parse", "HEAD"])).trim();
  const nixpkgsHead = async (branch: string) =>
    (await git(world, world.nixpkgsRepo, ["rev-parse", branch])).trim();

  beforeAll(async () => {
    await ensureBuiltCli();
    world = await createWorld();
    scratch = await mkdtemp(join(tmpdir(), "ternix-lock-e2e-"));
  });

  afterAll(async () => {
    await world?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test("inputs: every input, root and transitive, with follows and verdicts (text)", async () => {
    const lock = JSON.parse(await lockText()) as FlakeLockJson;
    const result = await ternix(["inputs"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/^INPUT\s+TYPE\s+SOURCE\s+REF\s+REV\s+DATE\s+AGE\s+VERDICT$/);
    const row = (prefix: string) => out.find((l) => l.startsWith(prefix)) ?? "";
    const short = (id: string) => (revOf(lock, id) ?? "?").slice(0, 7);
    expect(row("hardware ")).toMatch(
      new RegExp(
        `^hardware\\s+git\\s+${escapeRegExp(`git+${pathToFileURL(world.hardwareRepo).href}`)}\\s+main\\s+${short("hardware")}\\s+2024-11-05\\s+\\d+d\\s+-$`,
      ),
    );
    expect(row("home ")).toContain(short("home"));
    // The transitive input sits under its parent and says what it follows.
    expect(out[out.indexOf(row("home ")) + 1]).toBe("  nixpkgs → follows nixpkgs");
    expect(row("nixpkgs ")).toMatch(
      new RegExp(
        `^nixpkgs\\s+git\\s+\\S+\\?ref=nixos-24\\.11\\s+nixos-24\\.11\\s+${short("nixpkgs")}\\s+2024-12-01\\s+\\d+d\\s+stale: .*; unsupported-branch: .*; non-upstream: `,
      ),
    );
    expect(result.stdout).toMatch(/^Policy failed: 3 issues \(checked \d{4}-\d\d-\d\d\)\.$/m);
  });

  test("inputs --json: schemaVersion, transitive inputs and follows", async () => {
    const lock = JSON.parse(await lockText()) as FlakeLockJson;
    const result = await ternix(["inputs", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as InputsJson;
    expect(json).toMatchObject({ schemaVersion: 1, kind: "inputs", policyPassed: false });
    expect(json.inputs.map((i) => i.id)).toEqual(["hardware", "home", "home/nixpkgs", "nixpkgs"]);
    const byId = new Map(json.inputs.map((i) => [i.id, i]));
    expect(byId.get("home/nixpkgs")).toMatchObject({
      parent: "home",
      direct: false,
      follows: ["nixpkgs"],
      followsTarget: "nixpkgs",
      verdict: "ok",
    });
    expect(byId.get("nixpkgs")).toMatchObject({
      direct: true,
      type: "git",
      ref: "nixos-24.11",
      rev: revOf(lock, "nixpkgs"),
      lastModified: "2024-12-01T12:00:00.000Z",
      verdict: "stale",
    });
    expect(byId.get("nixpkgs")?.issues.map((i) => i.kind)).toEqual([
      "stale",
      "unsupported-branch",
      "non-upstream",
    ]);
    for (const input of json.inputs) {
      if (input.followsTarget === null) expect(input.rev, input.id).toBe(revOf(lock, input.id));
    }
  });

  test("inputs --check: exit 5 when the policy fails, 0 when ternix.toml allows the fleet", async () => {
    const failed = await ternix(["inputs", "--check"]);
    expect(failed.exitCode).toBe(5);
    expect(failed.stderr).toBe("warning: the staleness policy failed (see the verdicts above).\n");
    const failedJson = await ternix(["inputs", "--check", "--json"]);
    expect(failedJson.exitCode).toBe(5);
    expect((JSON.parse(failedJson.stdout) as InputsJson).policyPassed).toBe(false);

    // The fixture's nixpkgs is a local git repository: no owner, so it is allowed by its location.
    const location = `git+${pathToFileURL(world.nixpkgsRepo).href}`;
    const config = join(world.fleetDir, "ternix.toml");
    await writeFile(
      config,
      [
        "[staleness]",
        "max-age-days = 100000",
        'supported-branches = ["nixos-24.11", "nixos-25.05"]',
        `allowed-owners = ["NixOS", ${JSON.stringify(location)}]`,
        "",
      ].join("\n"),
    );
    try {
      const passed = await ternix(["inputs", "--check"]);
      expect(passed.exitCode, passed.stdout + passed.stderr).toBe(0);
      expect(passed.stderr).toBe("");
      expect(passed.stdout).toMatch(/^Policy passed \(checked \d{4}-\d\d-\d\d\)\.$/m);
      expect(lines(passed.stdout).find((l) => l.startsWith("nixpkgs "))).toMatch(/\s+ok$/);

      // --max-age overrides the config's age limit; the config's branches and owners still hold.
      const overridden = await ternix(["inputs", "--check", "--json", "--max-age", "30"]);
      expect(overridden.exitCode).toBe(5);
      const json = JSON.parse(overridden.stdout) as InputsJson;
      const nixpkgs = json.inputs.find((i) => i.id === "nixpkgs");
      expect(nixpkgs?.issues).toEqual([expect.objectContaining({ kind: "stale", maxAgeDays: 30 })]);
    } finally {
      await rm(config);
    }
  });

  test("without Nix on PATH: inputs and lock-diff still work, update says how to install Nix", async () => {
    const env = { ...world.env, PATH: await pathWithoutNix(scratch) };
    const before = await lockText();
    expect((await ternix(["inputs", "--json"], env)).exitCode).toBe(0);
    expect((await ternix(["lock-diff"], env)).stdout).toBe("No changes to flake.lock.\n");

    const update = await ternix(["update"], env);
    expectCleanError(update, 1, /^error: Nix is not installed \(no `nix` on PATH\)\.$/);
    expect(update.stderr).toContain("apt-get install -y nix-bin");
    expect(await lockText()).toBe(before);
  });

  test("update --dry-run prints the diff and leaves flake.lock byte-identical", async () => {
    await advanceNixpkgs(world, "24.11-b");
    await advanceHome(world);
    await advanceHardware(world);
    const before = await lockText();
    const result = await ternix(["update", "--dry-run"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain("Dry run: flake.lock was not changed.");
    const out = lines(result.stdout);
    expect(out.map((l) => l.split(/\s+/)[0])).toEqual(["hardware", "home", "nixpkgs", "", "3"]);
    expect(result.stdout).toContain("3 changed, 0 added, 0 removed, 1 unchanged.");
    expect(await lockText()).toBe(before);
    expect(await gitFleet(["status", "--porcelain"])).toBe("");
  });

  test("inputs --upstream: how far behind each input is, without touching flake.lock", async () => {
    // Upstream moved in the test above: nixpkgs one commit (14 days), home and hardware 10 days each.
    const before = await lockText();
    const upstreamRev = await nixpkgsHead("nixos-24.11");
    const result = await ternix(["inputs", "--upstream"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/\sAGE\s+UPSTREAM\s+VERDICT$/);
    const row = (prefix: string) => out.find((l) => l.startsWith(prefix)) ?? "";
    expect(row("nixpkgs ")).toContain(`${upstreamRev.slice(0, 7)} +14d, 1 commit `);
    expect(row("hardware ")).toMatch(/ \+10d, 1 commit /);
    expect(result.stdout).toContain("3 of 3 behind upstream: hardware, home, nixpkgs.");

    const json = JSON.parse((await ternix(["inputs", "--upstream", "--json"])).stdout) as InputsJson;
    expect(json.upstreamChecked).toBe(true);
    const byId = new Map(json.inputs.map((i) => [i.id, i]));
    expect(byId.get("nixpkgs")?.upstream).toEqual({
      upToDate: false,
      rev: upstreamRev,
      lastModified: "2024-12-15T12:00:00.000Z",
      daysBehind: 14,
      commitsBehind: 1,
      compareUrl: null,
    });
    expect(byId.get("home/nixpkgs")?.upstream).toBeNull();
    expect(await lockText()).toBe(before);
    expect(await gitFleet(["status", "--porcelain"])).toBe("");
  });

  test("update nixpkgs --json moves only nixpkgs, and the diff agrees with both lock files", async () => {
    const before = await lockText();
    const result = await ternix(["update", "nixpkgs", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const after = await lockText();
    const diff = JSON.parse(result.stdout) as LockDiffJson;
    expect(diff).toMatchObject({ changed: true, dryRun: false, written: true, commit: null });
    expect(diff.counts).toEqual({ added: 0, removed: 0, changed: 1, unchanged: 3 });
    expect(diff.inputs.filter((i) => i.status === "changed").map((i) => i.id)).toEqual(["nixpkgs"]);
    expectDiffAgreesWithLocks(diff, before, after);

    const [old, now] = [JSON.parse(before) as FlakeLockJson, JSON.parse(after) as FlakeLockJson];
    expect(revOf(now, "nixpkgs")).toBe(await nixpkgsHead("nixos-24.11"));
    expect(revOf(now, "nixpkgs")).not.toBe(revOf(old, "nixpkgs"));
    for (const id of ["hardware", "home"]) expect(revOf(now, id), id).toBe(revOf(old, id));

    // lock-diff's default (HEAD vs the working tree) reports the same diff.
    const lockDiff = await ternix(["lock-diff", "--json"]);
    expect(lockDiff.exitCode).toBe(0);
    const defaults = JSON.parse(lockDiff.stdout) as LockDiffJson;
    expect(defaults).toMatchObject({ old: "HEAD", new: "working tree" });
    expect(defaults.inputs).toEqual(diff.inputs);
    const text = await ternix(["lock-diff"]);
    const [oldShort, newShort] = [revOf(old, "nixpkgs"), revOf(now, "nixpkgs")].map((r) => r?.slice(0, 7));
    expect(lines(text.stdout)).toEqual([
      `nixpkgs  ${oldShort} → ${newShort}  2024-12-01 → 2024-12-15 (+14 days)`,
      "",
      "1 changed, 0 added, 0 removed, 3 unchanged.",
    ]);
  });

  test("update --commit refuses a dirty flake.lock and changes nothing", async () => {
    const dirty = await lockText();
    const headBefore = await head();
    const result = await ternix(["update", "--commit"]);
    expectCleanError(
      result,
      1,
      /^error: flake\.lock has uncommitted changes that --commit would commit too\.$/,
    );
    expect(await lockText()).toBe(dirty);
    expect(await head()).toBe(headBefore);
    await gitFleet(["checkout", "--", "flake.lock"]);
  });

  test("update with an unknown input: exit 64, the available inputs listed, the lock untouched", async () => {
    const before = await lockText();
    const result = await ternix(["update", "nixpkgs", "no-such-input"]);
    expectCleanError(result, 64, /^error: unknown input: no-such-input$/);
    expect(lines(result.stderr)[1]).toMatch(/^hint: Available inputs: hardware, home, nixpkgs\b/);
    expect(await lockText()).toBe(before);
    expect(await gitFleet(["status", "--porcelain"])).toBe("");
  });

  test("update --commit: one commit with only flake.lock, old → new revisions in the message", async () => {
    // A staged, unrelated change must stay out of the commit.
    await writeFile(join(world.fleetDir, "notes.txt"), "not part of the update\n");
    await gitFleet(["add", "notes.txt"]);
    const headBefore = await head();
    const before = await lockText();
    const result = await ternix(["update", "--commit"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const after = await lockText();
    expect(result.stderr).toMatch(/^Committed flake\.lock as [0-9a-f]{12}\.$/m);

    expect((await gitFleet(["rev-parse", "HEAD~1"])).trim()).toBe(headBefore);
    expect(await gitFleet(["show", "--name-only", "--format=", "HEAD"])).toBe("flake.lock\n");
    expect(await gitFleet(["show", "HEAD:flake.lock"])).toBe(after);
    expect(await gitFleet(["diff", "--cached", "--name-only"])).toBe("notes.txt\n");
    const [old, now] = [JSON.parse(before) as FlakeLockJson, JSON.parse(after) as FlakeLockJson];
    const move = (id: string, from: string, to: string, days: number) =>
      `• ${id}: ${revOf(old, id)?.slice(0, 7)} (${from}) → ${revOf(now, id)?.slice(0, 7)} (${to}), ${days} days`;
    expect(await gitFleet(["log", "-1", "--format=%B"])).toBe(
      [
        "flake.lock: update hardware, home, nixpkgs",
        "",
        move("hardware", "2024-11-05", "2024-11-15", 10),
        move("home", "2024-11-20", "2024-11-30", 10),
        move("nixpkgs", "2024-12-01", "2024-12-15", 14),
        "",
        "",
      ].join("\n"),
    );
    await gitFleet(["rm", "--cached", "--quiet", "notes.txt"]);
    await rm(join(world.fleetDir, "notes.txt"));
    await expectGolden(
      "lock/update-all.txt",
      normaliseText(result.stdout, {
        revs: revLabels(before, after),
        dirs: new Map([[world.dir, "<world>"]]),
      }),
    );
  });

  test("lock-diff: two revisions and two lock files give the same diff, with no compare links for git+file", async () => {
    const before = await gitFleet(["show", "HEAD~1:flake.lock"]);
    const after = await gitFleet(["show", "HEAD:flake.lock"]);
    const revisions = await ternix(["lock-diff", "HEAD~1", "HEAD", "--json"]);
    expect(revisions.exitCode, revisions.stderr).toBe(0);
    const diff = JSON.parse(revisions.stdout) as LockDiffJson;
    expect(diff).toMatchObject({ old: "HEAD~1", new: "HEAD", changed: true });
    expectDiffAgreesWithLocks(diff, before, after);
    expect(diff.inputs.map((i) => i.compareUrl)).toEqual(diff.inputs.map(() => null));

    // Lock files need no repository: run from a directory outside any.
    await writeFile(join(scratch, "old.lock"), before);
    await writeFile(join(scratch, "new.lock"), after);
    const files = await ternix(["lock-diff", "old.lock", "new.lock", "--json"], world.env, scratch);
    expect(files.exitCode, files.stderr).toBe(0);
    expect((JSON.parse(files.stdout) as LockDiffJson).inputs).toEqual(diff.inputs);

    const text = await ternix(["lock-diff", "HEAD~1", "HEAD"]);
    const fileText = await ternix(["lock-diff", "old.lock", "new.lock"], world.env, scratch);
    expect(fileText.stdout).toBe(text.stdout);
    expect(text.stdout).not.toContain("compare:");
    expect(lines(text.stdout).map((l) => l.split(/\s+/)[0])).toEqual([
      "hardware",
      "home",
      "nixpkgs",
      "",
      "3",
    ]);
  });

  test("a release jump: RELEASE JUMP in the text, releaseJump in the JSON and the commit message", async () => {
    await advanceNixpkgs(world, "25.05-a");
    await setFleetNixpkgsBranch(world, "nixos-25.05");
    const before = await lockText();
    const result = await ternix(["update", "nixpkgs", "--commit"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const after = await lockText();
    expect(result.stdout).toContain("  RELEASE JUMP 24.11 → 25.05\n  ref: nixos-24.11 → nixos-25.05\n");
    await expectGolden(
      "lock/release-jump.txt",
      normaliseText(result.stdout, {
        revs: revLabels(before, after),
        dirs: new Map([[world.dir, "<world>"]]),
      }),
    );
    expect(await gitFleet(["log", "-1", "--format=%B"])).toContain("  release jump: 24.11 → 25.05\n");

    const json = await ternix(["lock-diff", "HEAD~1", "HEAD", "--json"]);
    const diff = JSON.parse(json.stdout) as LockDiffJson;
    expectDiffAgreesWithLocks(diff, before, after);
    const nixpkgs = diff.inputs.find((i) => i.id === "nixpkgs");
    expect(nixpkgs).toMatchObject({
      status: "changed",
      releaseJump: { from: "24.11", to: "25.05", direction: "forward" },
      refChange: { from: "nixos-24.11", to: "nixos-25.05" },
      newRev: await nixpkgsHead("nixos-25.05"),
    });
    // home's nixpkgs follows the root's: it moves with it, and is not reported twice.
    expect(diff.inputs.find((i) => i.id === "home/nixpkgs")?.status).toBe("unchanged");
  });

  test("follows changes: dropping and restoring `home.inputs.nixpkgs.follows`", async () => {
    const flakeNix = join(world.fleetDir, "flake.nix");
    const original = await readFile(flakeNix, "utf8");
    const followsLine = /^\s*home\.inputs\.nixpkgs\.follows = "nixpkgs";\n/m;
    expect(original).toMatch(followsLine);
    const relock = async (text: string) => {
      await writeFile(flakeNix, text);
      await gitFleet(["add", "flake.nix"]);
      await nixOrThrow(world, ["flake", "lock"], { cwd: world.fleetDir });
    };
    const dirs = new Map([[world.dir, "<world>"]]);

    const committed = await lockText();
    await relock(original.replace(followsLine, ""));
    const dropped = await ternix(["lock-diff", "--json"]);
    const droppedDiff = JSON.parse(dropped.stdout) as LockDiffJson;
    expectDiffAgreesWithLocks(droppedDiff, committed, await lockText());
    expect(droppedDiff.inputs.find((i) => i.id === "home/nixpkgs")).toMatchObject({
      status: "changed",
      followsChange: { from: "nixpkgs", to: null },
      before: { followsTarget: "nixpkgs" },
      after: { followsTarget: null, ref: "nixos-24.11" },
    });
    const droppedText = await ternix(["lock-diff"]);
    expect(droppedText.stdout).toMatch(
      /^home\/nixpkgs {2}no longer follows nixpkgs; now git\+file:\/\/\S+ @ [0-9a-f]{7} \d{4}-\d\d-\d\d$/m,
    );
    const droppedLabels = revLabels(committed, await lockText());
    await git(world, world.fleetDir, ["commit", "--quiet", "--all", "--message", "home: own nixpkgs"], {
      date: "2024-12-20",
    });

    const separate = await lockText();
    await relock(original);
    const restored = await ternix(["lock-diff", "--json"]);
    const restoredDiff = JSON.parse(restored.stdout) as LockDiffJson;
    expectDiffAgreesWithLocks(restoredDiff, separate, await lockText());
    expect(restoredDiff.inputs.find((i) => i.id === "home/nixpkgs")).toMatchObject({
      status: "changed",
      followsChange: { from: null, to: "nixpkgs" },
    });
    const restoredText = await ternix(["lock-diff"]);
    expect(restoredText.stdout).toMatch(
      /^home\/nixpkgs {2}now follows nixpkgs \(was git\+file:\/\/\S+ @ [0-9a-f]{7} /m,
    );

    await expectGolden(
      "lock/follows.txt",
      [
        "$ ternix lock-diff   # after dropping home.inputs.nixpkgs.follows",
        normaliseText(droppedText.stdout, { revs: droppedLabels, dirs }),
        "$ ternix lock-diff   # after restoring it",
        normaliseText(restoredText.stdout, { revs: revLabels(separate, await lockText()), dirs }),
      ].join("\n"),
    );
  });
});

// ---------------------------------------------------------------------------------------------

const FLAKE_NIX = "{ outputs = { self }: { }; }\n";
const EMPTY_LOCK = `${JSON.stringify({ nodes: { root: {} }, root: "root", version: 7 }, null, 2)}\n`;

describe("bad input: one `error:` line, one `hint:` line, nothing modified", () => {
  let scratch: string;
  const env = nixTestEnv();

  beforeAll(async () => {
    await ensureBuiltCli();
    scratch = await mkdtemp(join(tmpdir(), "ternix-bad-input-"));
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const cases: [name: string, files: Record<string, string>, commands: string[][], message: RegExp][] = [
    ["no flake.nix", {}, [["inputs"], ["update"], ["lock-diff"]], /^error: no flake\.nix in \S+\.$/],
    [
      "no flake.lock",
      { "flake.nix": FLAKE_NIX },
      [["inputs"], ["update"], ["update", "--dry-run"]],
      /^error: no flake\.lock in \S+\.$/,
    ],
    [
      "malformed JSON",
      { "flake.nix": FLAKE_NIX, "flake.lock": '{ "version": 7, "root": "root", "nodes": {\n' },
      [["inputs"], ["update"], ["update", "--commit"], ["lock-diff", "flake.lock", "flake.lock"]],
      /^error: \S+flake\.lock: invalid JSON: .* at line \d+, column \d+$/,
    ],
    [
      "an unsupported lock version",
      { "flake.nix": FLAKE_NIX, "flake.lock": '{ "version": 8, "root": "root", "nodes": { "root": {} } }\n' },
      [["inputs"], ["update"]],
      /^error: \S+flake\.lock: unsupported lock version 8 \(at version\)$/,
    ],
    [
      "a node referencing a missing node",
      {
        "flake.nix": FLAKE_NIX,
        "flake.lock":
          '{ "version": 7, "root": "root", "nodes": { "root": { "inputs": { "nixpkgs": "nixpkgs_2" } } } }\n',
      },
      [["inputs"], ["update"], ["lock-diff", "flake.lock", "flake.lock"]],
      /refers to missing node "nixpkgs_2" \(at nodes\.root\.inputs\.nixpkgs\)$/,
    ],
    [
      "not a git repository where git is needed",
      { "flake.nix": FLAKE_NIX, "flake.lock": EMPTY_LOCK },
      [["lock-diff"], ["lock-diff", "HEAD~1", "HEAD"], ["update", "--commit"]],
      /(is not in a git repository|--commit needs a git repository)/,
    ],
  ];

  test.each(cases)("%s", async (name, files, commands, message) => {
    const dir = join(scratch, name.replace(/\W+/g, "-"));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    const before = await snapshotDir(dir);
    for (const args of commands) {
      const result = await runCli(args, { cwd: dir, env });
      expectCleanError(result, 1, message);
      expect(await snapshotDir(dir), args.join(" ")).toEqual(before);
    }
  });

  test("usage errors exit 64", async () => {
    for (const args of [
      ["inputs", "--max-age", "soon"],
      ["update", "--no-such-flag"],
      ["lock-diff", "a", "b", "c"],
    ]) {
      const result = await runCli(args, { cwd: scratch, env });
      expect(result.exitCode, args.join(" ")).toBe(64);
      expect(result.stdout).toBe("");
      expect(lines(result.stderr)[0]).toMatch(/^error: /);
    }
  });
});
