/**
 * `plan --no-build`: every host's package changes from evaluation alone. Both sides are evaluated
 * (writing their .drv files, which is what evaluation costs anyway), then the derivation closures of
 * every moved host are read in ONE `nix derivation show --recursive` and diffed as predicted
 * run-time closures (see closure/drv-closure.ts for the approximation and its limits).
 */
import { previewDiff } from "../../closure/drv-closure.js";
import type { Nix } from "../../nix/nix.js";
import type { AppEvent } from "../effects.js";
import { evalToplevels, type HostBuild, type HostEval } from "./hosts.js";
import type { HostPlan } from "./plan-model.js";

export interface PreviewOptions {
  jobs?: number | undefined;
  onEvent: (event: AppEvent) => void;
  /** Put a side's lock in place before it is evaluated. */
  useLock: (side: "before" | "after") => Promise<void>;
  timed: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

function asBuild(e: HostEval | undefined, host: string): HostBuild {
  if (!e) return { host, ok: false, stage: "eval", error: "not evaluated" };
  return e.ok
    ? { host, ok: true, drvPath: e.drvPath, toplevel: e.outPath }
    : { host, ok: false, stage: "eval", error: e.error, logTail: e.detail };
}

export async function previewHosts(
  nix: Nix,
  flakeDir: string,
  hosts: readonly string[],
  options: PreviewOptions,
): Promise<HostPlan[]> {
  const evalSide = async (side: "before" | "after") => {
    await options.useLock(side);
    options.onEvent({
      type: "phase",
      message: `Evaluating ${hosts.length} host${hosts.length === 1 ? "" : "s"} (${side})…`,
    });
    return options.timed(side === "before" ? "evalBefore" : "evalAfter", () =>
      evalToplevels(nix, flakeDir, hosts, { jobs: options.jobs, onEvent: options.onEvent, side }),
    );
  };
  const before = await evalSide("before");
  const after = await evalSide("after");
  const builds = hosts.map((host) => ({
    host,
    b: asBuild(before.get(host), host),
    a: asBuild(after.get(host), host),
  }));
  const moved = builds.filter(({ b, a }) => b.ok && a.ok && b.drvPath !== a.drvPath);
  options.onEvent({ type: "phase", message: "Comparing derivation closures…" });
  const graph = await options.timed("derivations", () =>
    nix.derivationClosure(moved.flatMap(({ b, a }) => [b.drvPath, a.drvPath] as string[])),
  );
  return options.timed("diff", () =>
    Promise.resolve(
      builds.map(({ host, b, a }): HostPlan => {
        if (b.ok && a.ok) {
          if (b.drvPath === a.drvPath) return { host, status: "unchanged", before: b, after: a };
          const preview = previewDiff(b.drvPath, a.drvPath, graph);
          if (!preview)
            throw new Error(`internal: ${host}'s derivations are missing from nix derivation show`);
          return {
            host,
            status: "changed",
            before: b,
            after: a,
            diff: preview.diff,
            buildTimeChanges: preview.buildTimeChanges,
          };
        }
        if (b.ok) return { host, status: "broken", before: b, after: a };
        if (a.ok) return { host, status: "fixed", before: b, after: a };
        return { host, status: "failing", before: b, after: a };
      }),
    ),
  );
}
