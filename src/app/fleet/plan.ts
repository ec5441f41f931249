/**
 * `ternix plan`: what a lock update changes on every host. Both locks are known before anything is
 * built (the update runs first, then the old lock is swapped back in), so an unchanged lock costs no
 * build at all; each side is evaluated in a few parallel batches and built in one `nix build`.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffClosures } from "../../closure/diff.js";
import type { StorePathInfo } from "../../closure/model.js";
import { assessRisks, type RiskKind } from "../../closure/risk.js";
import { DEFAULT_SECRET_SCAN_LIMITS, type SecretScan, type SecretScanLimits } from "../../closure/secrets.js";
import { compareLinkHosts, type Config } from "../../config/config.js";
import { InputError } from "../../errors.js";
import type { Git } from "../../git/git.js";
import { diffLocks } from "../../lock/diff.js";
import { parseFlakeLock } from "../../lock/parse.js";
import type { Nix } from "../../nix/nix.js";
import { ensureFileContent } from "../../proc/files.js";
import { loadClosures } from "../closure-load.js";
import type { Effects } from "../effects.js";
import { scanHostsForSecrets } from "../store-scan.js";
import { readLockText, type FlakeLocation } from "../flake.js";
import {
  buildToplevels,
  discoverHosts,
  evalToplevels,
  evalToplevelsReusing,
  parseExcludePattern,
  selectHosts,
  type HostBuild,
} from "./hosts.js";
import { pushSystems, planManifest, requireManifestSource } from "./plan-cache.js";
import { DEFAULT_HEAVY_BUILD_INPUTS, dryRunHosts, estimateBuildCosts } from "./plan-cost.js";
import { previewHosts } from "./plan-preview.js";
import { checkInputNames } from "./update.js";
import { riskGate, type HostPlan, type HostStatus, type PlanOutcome, type PlanResult } from "./plan-model.js";
export * from "./plan-model.js";

export interface PlanRequest {
  flake: FlakeLocation;
  config: Config;
  inputs: readonly string[];
  skipUpdate: boolean;
  /**
   * The lock the update is compared with, instead of the working tree's (pr passes the base
   * branch's), so the report shows what merging changes even when the working tree's lock was
   * already updated. Ignored with skipUpdate, which compares with HEAD's.
   */
  baseline?: string | undefined;
  hosts?: readonly string[] | undefined;
  exclude?: string | undefined;
  keepResults?: string | undefined;
  restoreLock: boolean;
  /** Concurrent evaluations per side (default: cores). */
  jobs?: number | undefined;
  /** A local build with this many direct inputs is a heavy-build risk (plan-cost.ts). */
  heavyBuildInputs?: number | undefined;
  /** Evaluate only: diff derivation closures instead of building (plan-preview.ts). */
  noBuild?: boolean | undefined;
  /** Copy every built after-system to this store (a binary cache), in one `nix copy` (plan-cache.ts). */
  pushTo?: string | undefined;
  /** Sign the pushed closures with the secret key in this file (absolute path; never read by Ternix). */
  signKey?: string | undefined;
  /** Return the host manifest of the after-systems (`result.manifest`; manifest.ts). */
  manifest?: boolean | undefined;
  /** Size limits of the secret scan of new store paths (default DEFAULT_SECRET_SCAN_LIMITS). */
  secretScanLimits?: Partial<SecretScanLimits> | undefined;
  /** Risk kinds that make the plan fail (exit 5) when any host carries one (`--fail-on`). */
  failOn?: readonly RiskKind[] | undefined;
}

export interface PlanDeps {
  nix: Nix;
  git: Git;
  effects: Effects;
  /**
   * Hands the finished result over (e.g. writes the report file) while the original lock can still
   * be put back: if it throws, the lock is restored and the error passes on.
   */
  deliver?: ((result: PlanResult) => Promise<void>) | undefined;
}

export async function plan(request: PlanRequest, deps: PlanDeps): Promise<PlanResult> {
  const { flake, config } = request;
  const { nix, effects } = deps;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      timings[name] = Math.round(performance.now() - start);
    }
  };
  const phase = (message: string) => effects.onEvent({ type: "phase", message });

  const originalText = await readLockText(flake);
  const original = parseFlakeLock(originalText, flake.lockPath);
  checkInputNames(original, request.inputs);
  const exclude = request.exclude ?? config.hosts.exclude;
  // A bad pattern is a usage error before anything runs.
  if (exclude) parseExcludePattern(exclude);
  if (request.manifest) requireManifestSource(flake);

  // Whatever happens, the user's lock ends as the plan says, or as it was.
  const restoreOriginal = () => ensureFileContent(flake.lockPath, originalText);
  const unregisterRestore = effects.cleanup.add(restoreOriginal);
  const rootDir = await mkdtemp(join(tmpdir(), "ternix-plan-"));
  const unregisterRoots = effects.cleanup.add(() => rm(rootDir, { recursive: true, force: true }));
  const setLock = (text: string) => ensureFileContent(flake.lockPath, text);

  try {
    // Hosts come from the flake itself, not its inputs: find them first, so a typo in --hosts fails
    // before anything is updated or built.
    const all = await timed("discover", () => discoverHosts(nix, flake.dir));
    const { selected, skipped } = selectHosts(all, {
      include: request.hosts ?? config.hosts.include,
      exclude,
    });
    if (selected.length === 0) {
      throw new InputError("no hosts left to plan after filtering.", {
        hint: `Hosts: ${all.map((h) => JSON.stringify(h)).join(", ")}; check --hosts/--exclude or ternix.toml [hosts].`,
      });
    }
    let beforeText: string;
    let afterText: string;
    if (request.skipUpdate) {
      if (flake.gitRoot === undefined || flake.lockPathInRepo === undefined) {
        throw new InputError(
          "--skip-update compares with the lock at HEAD, but the flake is not in a git repository.",
          {
            hint: "Run without --skip-update, or commit the flake to git.",
          },
        );
      }
      const head = await deps.git.showFile(flake.gitRoot, "HEAD", flake.lockPathInRepo);
      if (head === undefined) {
        throw new InputError(
          "flake.lock is not committed at HEAD, so --skip-update has nothing to compare with.",
          {
            hint: "Commit flake.lock first, or run without --skip-update.",
          },
        );
      }
      beforeText = head;
      afterText = originalText;
    } else {
      phase(
        request.inputs.length > 0 ? `Updating ${request.inputs.join(", ")}…` : "Updating all flake inputs…",
      );
      await timed("update", () => nix.flakeUpdate(flake.dir, request.inputs, flake.dir));
      beforeText = request.baseline ?? originalText;
      afterText = await readLockText(flake);
    }
    const lockDiff = diffLocks(
      parseFlakeLock(beforeText, `${flake.lockPath} (before)`),
      parseFlakeLock(afterText, flake.lockPath),
      { forgeHosts: compareLinkHosts(config) },
    );
    const base = {
      flakeDir: flake.dir,
      mode: request.skipUpdate ? ("skip-update" as const) : ("update" as const),
      basis: request.noBuild ? ("derivations" as const) : ("build" as const),
      inputs: [...request.inputs],
      lockDiff,
      timings,
    };
    if (!lockDiff.changed) {
      await restoreOriginal();
      return {
        ...base,
        outcome: "lock-unchanged",
        hosts: [],
        skippedHosts: skipped,
        lockState: "untouched",
        ...(request.failOn ? { gate: riskGate([], request.failOn) } : {}),
      };
    }

    const events = effects.onEvent;
    const scanSecrets = secretScanner(
      effects,
      { ...DEFAULT_SECRET_SCAN_LIMITS, ...request.secretScanLimits },
      timed,
    );
    const hosts = request.noBuild
      ? await previewHosts(nix, flake.dir, selected, {
          jobs: request.jobs,
          onEvent: events,
          useLock: (side) => setLock(side === "before" ? beforeText : afterText),
          timed,
        })
      : await buildAndDiff();
    async function buildAndDiff(): Promise<HostPlan[]> {
      await setLock(beforeText);
      // The "before" lock is the one the fleet runs: its systems usually exist already, and then
      // need neither .drv files nor a build (evalToplevelsReusing). The "after" side is usually new.
      phase(`Building ${selected.length} host${selected.length === 1 ? "" : "s"} with the current lock…`);
      const beforeEval = await timed("evalBefore", () =>
        evalToplevelsReusing(nix, flake.dir, selected, {
          jobs: request.jobs,
          onEvent: events,
          side: "before",
        }),
      );
      const before = await timed("buildBefore", () =>
        buildToplevels(nix, beforeEval, {
          rootDir: join(rootDir, "before"),
          onEvent: events,
          side: "before",
        }),
      );

      await setLock(afterText);
      phase(`Building ${selected.length} host${selected.length === 1 ? "" : "s"} with the updated lock…`);
      const afterEval = await timed("evalAfter", () =>
        evalToplevels(nix, flake.dir, selected, { jobs: request.jobs, onEvent: events, side: "after" }),
      );
      // One dry run per host serves both the cost estimate and the build's progress per host.
      const { dryRuns, costs } = await timed("dryRun", async () => {
        const dryRuns = await dryRunHosts(nix, afterEval.values());
        const threshold = request.heavyBuildInputs ?? DEFAULT_HEAVY_BUILD_INPUTS;
        return { dryRuns, costs: await estimateBuildCosts(nix, afterEval, threshold, dryRuns) };
      });
      const after = await timed("buildAfter", () =>
        buildToplevels(nix, afterEval, {
          rootDir: join(rootDir, "after"),
          onEvent: events,
          side: "after",
          dryRuns,
        }),
      );

      // Only hosts whose toplevel moved need their closures; one query per side.
      const moved = selected.filter((h) => {
        const b = before.get(h);
        const a = after.get(h);
        return b?.ok && a?.ok && b.toplevel !== a.toplevel;
      });
      phase("Comparing closures…");
      const hosts = await timed("diff", async () => {
        // One closure query for every moved host, both sides: they share most of their paths.
        const closures = await loadClosures(
          nix,
          moved.flatMap((h) => [okToplevel(before.get(h)), okToplevel(after.get(h))]),
          effects.closureCache,
        );
        const closureOf = (root: string) => closures.get(root) ?? { root, paths: [] };
        const secrets = await scanSecrets(
          moved.map((host) => ({
            host,
            before: closureOf(okToplevel(before.get(host))).paths,
            after: closureOf(okToplevel(after.get(host))).paths,
          })),
        );
        return selected.map((host): HostPlan => {
          const b = before.get(host) as HostBuild;
          const a = after.get(host) as HostBuild;
          if (b.ok && a.ok) {
            if (b.toplevel === a.toplevel) return { host, status: "unchanged", before: b, after: a };
            const diff = diffClosures(closureOf(b.toplevel), closureOf(a.toplevel));
            const cost = costs.get(host);
            const scan = secrets?.get(host);
            const withExtras = { ...diff, ...(scan ? { secrets: scan } : {}) };
            return {
              host,
              status: "changed",
              before: b,
              after: a,
              diff: cost || scan ? { ...withExtras, ...assessRisks({ ...withExtras, cost }) } : diff,
              cost,
            };
          }
          if (b.ok) return { host, status: "broken", before: b, after: a };
          if (a.ok) return { host, status: "fixed", before: b, after: a };
          return { host, status: "failing", before: b, after: a };
        });
      });
      return hosts;
    }
    for (const h of hosts)
      if (h.status === "changed" || h.status === "unchanged")
        events({ type: "host", host: h.host, state: h.status });

    if (request.keepResults !== undefined) await keepResults(nix, request.keepResults, hosts);
    const cache =
      request.pushTo === undefined
        ? undefined
        : await timed("push", () =>
            pushSystems(nix, hosts, {
              storeUri: request.pushTo ?? "",
              signKey: request.signKey,
              onEvent: events,
            }),
          );
    const manifest = request.manifest
      ? await timed("manifest", () =>
          planManifest({ git: deps.git, env: effects.env }, flake, afterText, hosts),
        )
      : undefined;

    const lockState: PlanResult["lockState"] = request.skipUpdate
      ? "untouched"
      : request.restoreLock
        ? "restored"
        : "updated";
    const outcome: PlanOutcome = hosts.some((h) => h.status === "broken")
      ? "host-broken"
      : hosts.some((h) => h.status === "changed" || h.status === "fixed")
        ? "changed"
        : "no-host-changed";
    const ordered = orderHosts(hosts);
    const result: PlanResult = {
      ...base,
      outcome,
      hosts: ordered,
      skippedHosts: skipped,
      lockState,
      ...(cache === undefined ? {} : { cache }),
      ...(manifest === undefined ? {} : { manifest }),
      ...(request.failOn ? { gate: riskGate(ordered, request.failOn) } : {}),
    };
    await deps.deliver?.(result);
    if (lockState !== "updated") await restoreOriginal();
    unregisterRestore();
    return result;
  } catch (error) {
    unregisterRestore();
    await restoreOriginal();
    throw error;
  } finally {
    unregisterRoots();
    await rm(rootDir, { recursive: true, force: true });
  }
}

/** The secret scan of every moved host's new store paths, when the store can be read here. */
function secretScanner(
  effects: Effects,
  limits: SecretScanLimits,
  timed: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
) {
  return async (
    hosts: { host: string; before: StorePathInfo[]; after: StorePathInfo[] }[],
  ): Promise<Map<string, SecretScan> | undefined> => {
    const scanner = effects.scanStore;
    if (!scanner || hosts.length === 0) return undefined;
    effects.onEvent({ type: "phase", message: "Scanning new store paths for secrets…" });
    return timed("secretScan", () => scanHostsForSecrets(scanner, hosts, limits));
  };
}

function okToplevel(build: HostBuild | undefined): string {
  if (!build?.ok) throw new Error("internal: expected a built host");
  return build.toplevel;
}

const statusOrder: Record<HostStatus, number> = { broken: 0, changed: 1, fixed: 2, failing: 3, unchanged: 4 };

/** Broken hosts first (what a reviewer must see), then changed, then the rest; by name within each. */
export function orderHosts(hosts: HostPlan[]): HostPlan[] {
  return [...hosts].sort(
    (a, b) => statusOrder[a.status] - statusOrder[b.status] || a.host.localeCompare(b.host),
  );
}

/** Longest host part of a file name: with `.before`/`.after` it stays well inside NAME_MAX (255 bytes). */
const HOST_FILE_NAME_MAX = 200;

/**
 * A file name for a host: anything outside [A-Za-z0-9._-] percent-encoded, no leading dot. A name
 * too long for the file system keeps its first part and ends in `~` and a hash of the whole name
 * (`~` is otherwise encoded, so shortened names never collide with plain ones).
 */
export function hostFileName(host: string): string {
  const encoded = percentEncodeName(host);
  if (encoded.length <= HOST_FILE_NAME_MAX) return encoded;
  const hash = createHash("sha256").update(host).digest("hex").slice(0, 16);
  // Cut before a partial %XX escape.
  const head = encoded.slice(0, HOST_FILE_NAME_MAX - hash.length - 1).replace(/%[0-9A-F]?$/, "");
  return `${head}~${hash}`;
}

function percentEncodeName(host: string): string {
  const encoded = Array.from(new TextEncoder().encode(host))
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9_-]/.test(ch) || (ch === "." && byte !== 0)
        ? ch
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
  return encoded.startsWith(".") ? `%2E${encoded.slice(1)}` : encoded;
}

/** Named GC roots `<dir>/<host>.before` and `.after` for every built toplevel. */
async function keepResults(nix: Nix, dir: string, hosts: readonly HostPlan[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const h of hosts) {
    for (const [side, build] of [
      ["before", h.before],
      ["after", h.after],
    ] as const) {
      if (!build.ok) continue;
      const link = join(dir, `${hostFileName(h.host)}.${side}`);
      await rm(link, { force: true });
      await nix.nixStore(`keeping the result for ${h.host} failed`, [
        "--realise",
        build.toplevel,
        "--add-root",
        link,
        "--indirect",
      ]);
    }
  }
}
