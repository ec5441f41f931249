/**
 * `ternix upgrade`'s Prometheus metrics (docs/metrics.md) in the text exposition format, for
 * node-exporter's textfile collector. Serialised by prom-client's registry, so names, help, types,
 * label escaping and the format are the library's, not hand-written.
 */
import { Gauge, Registry } from "prom-client";
import { UpgradeResult, type UpgradeState } from "../system/state.js";

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export async function renderUpgradeMetrics(state: UpgradeState): Promise<string> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  const lastRun = gauge(
    "ternix_upgrade_last_run_timestamp_seconds",
    "When ternix upgrade last ran (Unix time).",
  );
  if (state.lastRun) lastRun.set(seconds(state.lastRun.at));
  const lastSuccess = gauge(
    "ternix_upgrade_last_success_timestamp_seconds",
    "When ternix upgrade last ended up to date or upgraded (Unix time); 0 if never.",
  );
  lastSuccess.set(state.lastSuccessAt ? seconds(state.lastSuccessAt) : 0);
  const result = gauge(
    "ternix_upgrade_result",
    "The last run's result: 1 for the result it had, 0 for the others.",
    ["result"],
  );
  for (const name of UpgradeResult.options)
    result.set({ result: name }, state.lastRun?.result === name ? 1 : 0);
  const deployed = gauge(
    "ternix_deployed_info",
    "The commit and system generation this host last deployed (value always 1).",
    ["commit", "generation"],
  );
  if (state.deployed) {
    deployed.set({ commit: state.deployed.commit, generation: String(state.deployed.generation ?? "") }, 1);
  }
  gauge("ternix_reboot_pending", "1 when the new system needs a reboot that has not happened yet.").set(
    state.rebootPending ? 1 : 0,
  );
  gauge("ternix_upgrade_quarantined_commits", "Commits quarantined because their checks failed.").set(
    state.quarantined.length,
  );
  gauge(
    "ternix_forge_report_failed",
    "1 when the last commit status for the forge (--report-to-forge) could not be posted; 0 otherwise.",
  ).set(state.forgeReport?.ok === false ? 1 : 0);
  return registry.metrics();
}
