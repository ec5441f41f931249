/**
 * What building the after side will cost, asked of Nix before the build starts: per host, the
 * derivations built here and the paths downloaded (`nix build --dry-run` on the host's .drv, which
 * evaluates nothing), then one `nix derivation show` of everything to be built for input counts.
 */
import type { BuildCost } from "../../closure/model.js";
import type { Nix } from "../../nix/nix.js";
import type { HostEval } from "./hosts.js";

/** Default `--heavy-build-inputs`: a local build with this many direct inputs counts as heavy. */
export const DEFAULT_HEAVY_BUILD_INPUTS = 50;

export async function estimateBuildCosts(
  nix: Nix,
  evals: ReadonlyMap<string, HostEval>,
  heavyThreshold: number,
): Promise<Map<string, BuildCost>> {
  const hosts = [...evals.values()].filter(
    (e): e is Extract<HostEval, { ok: true }> => e.ok && e.prebuilt !== true,
  );
  const dry = await Promise.all(
    hosts.map(async (e) => ({ host: e.host, r: await nix.dryRun([nix.drvInstallable(e.drvPath)]) })),
  );
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
