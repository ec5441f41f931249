/** Running health checks after activation: the built-in failed-units check and `[[checks]]`. */
import { parseDuration, type CheckConfig } from "../../config/config.js";
import { formatArgv } from "../../errors.js";
import {
  DEFAULT_CHECK_TIMING,
  defaultCheckName,
  newlyFailedUnits,
  parseFailedUnits,
  type CheckResult,
  type CheckSpec,
} from "../../system/checks.js";
import type { Effects } from "../effects.js";
import type { SystemEffects } from "./system-effects.js";

export interface CheckDeps {
  effects: Effects;
  system: SystemEffects;
}

export function checkSpecsFromConfig(checks: readonly CheckConfig[]): CheckSpec[] {
  return checks.map((check): CheckSpec => {
    const timing = {
      timeoutMs: check.timeout === undefined ? DEFAULT_CHECK_TIMING.timeoutMs : parseDuration(check.timeout),
      retries: check.retries ?? DEFAULT_CHECK_TIMING.retries,
      intervalMs:
        check.interval === undefined ? DEFAULT_CHECK_TIMING.intervalMs : parseDuration(check.interval),
    };
    switch (check.type) {
      case "command":
        return {
          kind: "command",
          name: check.name ?? defaultCheckName({ kind: "command", command: check.command }),
          command: check.command,
          ...timing,
        };
      case "http":
        return {
          kind: "http",
          name: check.name ?? defaultCheckName({ kind: "http", url: check.url }),
          url: check.url,
          ...timing,
        };
      case "tcp":
        return {
          kind: "tcp",
          name: check.name ?? defaultCheckName({ kind: "tcp", host: check.host, port: check.port }),
          host: check.host,
          port: check.port,
          ...timing,
        };
    }
  });
}

export type FailedUnits = { ok: true; units: readonly string[] } | { ok: false; reason: string };

/** `systemctl --failed --plain --no-legend`; a systemctl that cannot answer (no systemd, in a container) is a reason, not an error. */
export async function readFailedUnits(systemctl: string, deps: CheckDeps): Promise<FailedUnits> {
  try {
    const result = await deps.effects.run(systemctl, ["--failed", "--plain", "--no-legend"], {
      env: deps.effects.env,
    });
    if (result.exitCode !== 0) {
      const why = (result.stderr.trim().split("\n")[0] ?? "").trim();
      return {
        ok: false,
        reason: `${systemctl} exited ${result.exitCode ?? result.signal}${why ? `: ${why}` : ""}`,
      };
    }
    return { ok: true, units: parseFailedUnits(result.stdout) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The built-in check: units failed after activation that had not failed before. */
export function failedUnitsCheck(before: FailedUnits, after: FailedUnits, durationMs: number): CheckResult {
  const name = "failed systemd units";
  if (!before.ok || !after.ok) {
    const reason = before.ok ? (after.ok ? "" : after.reason) : before.reason;
    return {
      name,
      kind: "systemd",
      status: "skipped",
      attempts: 0,
      detail: `cannot ask systemd: ${reason}`,
      durationMs,
    };
  }
  const units = newlyFailedUnits(before.units, after.units);
  const detail =
    units.length > 0
      ? `newly failed: ${units.join(", ")}`
      : after.units.length > 0
        ? `no new failures (already failed before: ${after.units.join(", ")})`
        : "no failed units";
  return {
    name,
    kind: "systemd",
    status: units.length > 0 ? "failed" : "passed",
    attempts: 1,
    detail,
    durationMs,
    units,
  };
}

/** Run one check with its retries; the result says how many attempts it took. */
export async function runCheck(spec: CheckSpec, deps: CheckDeps): Promise<CheckResult> {
  const started = deps.effects.now().getTime();
  let attempts = 0;
  let detail = "";
  for (;;) {
    attempts++;
    const outcome = await attempt(spec, deps);
    detail = outcome.detail;
    if (outcome.ok || attempts > spec.retries) {
      return {
        name: spec.name,
        kind: spec.kind,
        status: outcome.ok ? "passed" : "failed",
        attempts,
        detail,
        durationMs: deps.effects.now().getTime() - started,
      };
    }
    deps.effects.onEvent({
      type: "log",
      level: "debug",
      message: `check ${spec.name}: attempt ${attempts} failed (${detail}); retrying in ${spec.intervalMs} ms`,
    });
    await deps.system.sleep(spec.intervalMs);
  }
}

async function attempt(spec: CheckSpec, deps: CheckDeps): Promise<{ ok: boolean; detail: string }> {
  try {
    switch (spec.kind) {
      case "command": {
        const [command, ...args] = spec.command as [string, ...string[]];
        const result = await deps.effects.run(command, args, {
          env: deps.effects.env,
          signal: AbortSignal.timeout(spec.timeoutMs),
        });
        if (result.exitCode === 0) return { ok: true, detail: "exit 0" };
        if (result.exitCode === null)
          return { ok: false, detail: `no answer within ${spec.timeoutMs} ms (${formatArgv(spec.command)})` };
        const why = (result.stderr.trim().split("\n").pop() ?? "").trim();
        return { ok: false, detail: `exit ${result.exitCode}${why ? `: ${why}` : ""}` };
      }
      case "http": {
        const response = await deps.system.fetch(spec.url, {
          signal: AbortSignal.timeout(spec.timeoutMs),
          redirect: "follow",
        });
        await response.body?.cancel().catch(() => undefined);
        const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
        return { ok: response.status >= 200 && response.status < 300, detail: status };
      }
      case "tcp":
        await deps.system.connectTcp(spec.host, spec.port, spec.timeoutMs);
        return { ok: true, detail: "connected" };
    }
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return { ok: false, detail: `${error instanceof Error ? error.message : String(error)}${cause}` };
  }
}
