/**
 * `ternix plan --no-build` against the built plan: on every fixture scenario, the version changes
 * predicted from derivations equal those of the built closures (all fixture dependencies are
 * run-time ones). Then the same preview on real NixOS derivation graphs (../shared/nixpkgs-eval).
 */
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../../src/proc/run.js";
import { runCli } from "../helpers/cli.js";
import {
  advanceHome,
  advanceNixpkgs,
  createWorld,
  DEFAULT_HOSTS,
  revisionSpec,
  type World,
} from "../helpers/world.js";

interface PlanJson {
  basis: string;
  outcome: string;
  hosts: {
    host: string;
    status: string;
    diff: {
      packages: { name: string; kind: string; versionsBefore: string[]; versionsAfter: string[] }[];
      risks: { id: string }[];
    } | null;
    buildTimeChanges: unknown[];
  }[];
}

/** Per host: status, and every version change as `name kind before -> after`. */
function versionChanges(plan: PlanJson): Record<string, { status: string; changes: string[] }> {
  return Object.fromEntries(
    plan.hosts.map((h) => [
      h.host,
      {
        status: h.status,
        changes: (h.diff?.packages ?? [])
          .filter((p) => p.kind !== "unchanged")
          .map((p) => `${p.name} ${p.kind} ${p.versionsBefore.join(",")} -> ${p.versionsAfter.join(",")}`)
          .sort(),
      },
    ]),
  );
}

const worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
});

async function plans(w: World): Promise<{ built: PlanJson; preview: PlanJson }> {
  const args = ["plan", "--json", "--restore-lock", "--exclude", "^$"];
  const built = await runCli(args, { cwd: w.fleetDir, env: w.env });
  expect([0, 3, 4], built.stderr).toContain(built.exitCode);
  const preview = await runCli([...args, "--no-build"], { cwd: w.fleetDir, env: w.env });
  expect(preview.exitCode, preview.stderr).toBe(built.exitCode);
  return { built: JSON.parse(built.stdout) as PlanJson, preview: JSON.parse(preview.stdout) as PlanJson };
}

/** Name, how the world moves, and a version change the built plan must show (so the test can fail). */
const scenarios: [string, (w: World) => Promise<void>, string | undefined][] = [
  [
    "24.11-a -> 24.11-b (kernel, drivers, downgrade, rebuild)",
    (w) => advanceNixpkgs(w, "24.11-b"),
    "gpu-ws: curl downgraded 8.11.0 -> 8.10.1",
  ],
  ["24.11-a -> 24.11-c (no package moves)", (w) => advanceNixpkgs(w, "24.11-c"), undefined],
  [
    "24.11 -> 25.05 (release jump, mass rebuild)",
    // 25.05's packages committed on the branch the fleet follows (a stale lock on a renamed
    // branch would be re-locked in memory on both sides).
    (w) => advanceNixpkgs(w, { ...revisionSpec("25.05-a"), branch: "nixos-24.11" }),
    "db: glibc upgraded 2.40-36 -> 2.41-11",
  ],
  ["home-manager moves", (w) => advanceHome(w), undefined],
];

describe("plan --no-build on the fixture scenarios", () => {
  it.each(scenarios)("%s: the same version changes as the built plan", async (_name, move, sample) => {
    const w = await createWorld({ hosts: DEFAULT_HOSTS });
    worlds.push(w);
    await move(w);
    const { built, preview } = await plans(w);
    expect(built.basis).toBe("build");
    expect(preview.basis).toBe("derivations");
    const builtChanges = versionChanges(built);
    if (sample !== undefined) {
      const [host, change] = sample.split(": ") as [string, string];
      expect(builtChanges[host]?.changes, JSON.stringify(builtChanges)).toContainEqual(change);
    }
    expect(versionChanges(preview)).toEqual(builtChanges);
    for (const h of preview.hosts) expect(h.buildTimeChanges).toEqual([]);
    // Package-name risk flags agree too (the built plan also reads the toplevel's files, and its
    // dry run flags heavy-build only while the after side is in no store yet: on a fresh store, not
    // once another test built that revision; --no-build asks no such question).
    const riskIds = (p: PlanJson) =>
      p.hosts
        .flatMap((h) => (h.diff?.risks ?? []).map((r) => `${h.host}:${r.id}`))
        .filter((id) => !/params|initrd|nixos-release|triggers|heavy-build/.test(id));
    expect(riskIds(preview)).toEqual(riskIds(built));
  });
});

const NIXPKGS_EVAL = fileURLToPath(new URL("../../../shared/nixpkgs-eval/", import.meta.url));
const haveNixpkgsEval = await access(join(NIXPKGS_EVAL, "make-world.sh")).then(
  () => true,
  () => false,
);

describe("plan --no-build on real NixOS derivation graphs", () => {
  it.skipIf(!haveNixpkgsEval)(
    `finds rev1 -> rev2's kernel, postgresql, nvidia and zfs changes (needs ${NIXPKGS_EVAL})`,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "ternix-nixpkgs-eval-"));
      try {
        const env = {
          ...process.env,
          NIX_CONFIG: "experimental-features = nix-command flakes\nsubstituters =",
          NO_COLOR: "1",
        };
        const made = await run(join(NIXPKGS_EVAL, "make-world.sh"), [dir], { env });
        expect(made.exitCode, made.stderr).toBe(0);
        const fleet = join(dir, "fleet");
        const r = await runCli(["plan", "--no-build", "--json", "--restore-lock"], { cwd: fleet, env });
        expect(r.exitCode, r.stderr).toBe(0);
        const changes = versionChanges(JSON.parse(r.stdout) as PlanJson);
        const has = (host: string, change: string) =>
          expect(changes[host]?.changes, host).toContainEqual(change);
        for (const host of ["web", "desktop", "zfs", "monitor"]) {
          expect(changes[host]?.status).toBe("changed");
          has(host, "linux upgraded 5.4.53 -> 5.4.54");
        }
        has("web", "postgresql upgraded 12.3 -> 12.4");
        has("desktop", "nvidia-x11 upgraded 450.57-5.4.53 -> 450.57-5.4.54");
        has("zfs", "zfs-kernel upgraded 0.8.4-5.4.53 -> 0.8.4-5.4.54");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    600_000,
  );
  if (!haveNixpkgsEval) it.skip(`skipped: ${NIXPKGS_EVAL} (from make-world.sh) is absent`, () => {});
});
