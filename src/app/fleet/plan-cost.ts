/**
 * What building the after side will cost, asked of Nix before the build starts: per host, the
 * derivations built here and the paths downloaded (`nix build --dry-run` on the host's .drv, which
 * evaluates nothing), then one `nix derivation show` of everything to be built for input counts.
 */
import { availableParallelism } from "node:os";
import type { BuildCost } from "../../closure/model.js";
import type { DryRun } from "../../nix/dry-run.js";
import type { Nix } from "../../nix/nix.js";
import type { HostEval } from "./hosts.js";

/** Default `--heavy-build-inputs`: a local build with this many direct inputs counts as heavy. */
export const DEFAULT_HEAVY_BUILD_INPUTS = 50;

/**
 * What building each evaluated host would do (prebuilt hosts need nothing): one dry run per host,
 * a few at a time (mostly waiting on substituters' answers, so at least 4 whatever the cores).
 */
export async function dryRunHosts(nix: Nix, evals: Iterable<HostEval>): Promise<Map<string, DryRun>> {
  const hosts = [...evals].filter((e): e is Extract<HostEval, { ok: true }> => e.ok && e.prebuilt !== true);
  const answers: DryRun[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < hosts.length; i = next++) {
      const e = hosts[i] as Extract<HostEval, { ok: true }>;
      answers[i] = await nix.dryRun([nix.drvInstallable(e.drvPath)]);
    }
  };
  const workers = Math.min(hosts.length, Math.max(4, availableParallelism()));
  await Promise.all(Array.from({ length: workers }, worker));
  return new Map(hosts.map((e, i) => [e.host, answers[i] as DryRun]));
}

export async function estimateBuildCosts(
  nix: Nix,
  evals: ReadonlyMap<string, HostEval>,
  heavyThreshold: number,
  dryRuns?: ReadonlyMap<string, DryRun>,
): Promise<Map<string, BuildCost>> {
  const dry = [...(dryRuns ?? (await dryRunHosts(nix, evals.values())))].map(([host, r]) => ({ host, r }));
  const drvs = await nix.derivations([...new Set(dry.flatMap((d) => d.r.toBuild))]);
  return new Map(
    dry.map(({ host, r }) => [
      host,
      {
        toBuild: r.toBuild.map((drvPath) => ({
          drvPath,
          inputDrvs: Object.keys(drvs.get(drvPath)?.inputDrvs ?? {}).length,
        })),
        fetchPaths: r.toFetch.length,
        downloadBytes: r.downloadBytes,
        heavyThreshold,
      },
    ]),
  );
}
