import { describe, expect, it } from "vitest";
import { emptyUpgradeState } from "../system/state.js";
import { renderUpgradeMetrics } from "./metrics.js";

describe("renderUpgradeMetrics", () => {
  it("never ran: zeros, no deployed info, one-hot all zero", async () => {
    const text = await renderUpgradeMetrics(emptyUpgradeState());
    expect(text).toMatch(/^ternix_upgrade_last_success_timestamp_seconds 0$/m);
    expect(text).not.toMatch(/^ternix_deployed_info\{/m);
    expect(text.match(/^ternix_upgrade_result\{result="[a-z_]+"\} 0$/gm)).toHaveLength(6);
    expect(text).toMatch(/^ternix_reboot_pending 0$/m);
    expect(text).toMatch(/^ternix_forge_report_failed 0$/m);
  });

  it("ternix_forge_report_failed follows the last report", async () => {
    const report = { at: "t", commit: "c", context: "ternix/host/h", state: "success" as const };
    const failed = await renderUpgradeMetrics({
      ...emptyUpgradeState(),
      forgeReport: { ...report, ok: false, error: "500" },
    });
    expect(failed).toMatch(/^ternix_forge_report_failed 1$/m);
    const ok = await renderUpgradeMetrics({
      ...emptyUpgradeState(),
      forgeReport: { ...report, ok: true, error: null },
    });
    expect(ok).toMatch(/^ternix_forge_report_failed 0$/m);
  });

  it("a run: timestamps in seconds, the result one-hot, labels escaped by the library", async () => {
    const text = await renderUpgradeMetrics({
      ...emptyUpgradeState(),
      lastRun: { at: "2025-01-31T05:00:12.500Z", result: "checks_failed", commit: "abc", message: "m" },
      lastSuccessAt: "2025-01-30T05:00:00.000Z",
      deployed: { commit: 'we"ird\\', storePath: "/nix/store/x", generation: 7, at: "t", checked: true },
      quarantined: [{ commit: "abc", at: "t", reason: "r" }],
      rebootPending: { since: "t", storePath: "/nix/store/x", reason: "kernel" },
    });
    expect(text).toMatch(/^ternix_upgrade_last_run_timestamp_seconds 1738299612$/m);
    expect(text).toMatch(/^ternix_upgrade_last_success_timestamp_seconds 1738213200$/m);
    expect(text).toContain('ternix_upgrade_result{result="checks_failed"} 1');
    expect(text).toContain('ternix_upgrade_result{result="upgraded"} 0');
    expect(text).toContain(String.raw`ternix_deployed_info{commit="we\"ird\\",generation="7"} 1`);
    expect(text).toMatch(/^ternix_reboot_pending 1$/m);
    expect(text).toMatch(/^ternix_upgrade_quarantined_commits 1$/m);
  });
});
