/**
 * Health checks after activation, as data: what to check (resolved from `[[checks]]` in
 * ternix.toml plus the built-in failed-units check) and what came out. Running them is in
 * src/app/machine/checks.ts.
 */

interface CheckTiming {
  /** Each attempt is abandoned after this long. */
  timeoutMs: number;
  /** Further attempts after a failed one (0: one attempt). */
  retries: number;
  /** Pause between attempts. */
  intervalMs: number;
}

export type CheckSpec = CheckTiming &
  (
    | { kind: "command"; name: string; command: string[] }
    | { kind: "http"; name: string; url: string }
    | { kind: "tcp"; name: string; host: string; port: number }
  );

/** `confirm`: deploy's dead man's switch disarmed over a new SSH connection. */
export type CheckKind = "activation" | "systemd" | "confirm" | CheckSpec["kind"];
export type CheckStatus = "passed" | "failed" | "skipped";

export interface CheckResult {
  name: string;
  kind: CheckKind;
  status: CheckStatus;
  /** Attempts made (0 for skipped checks). */
  attempts: number;
  /** One line on what was seen: an exit code, an HTTP status, the units that failed, an error. */
  detail: string;
  durationMs: number;
  /** For the systemd check: units that failed after activation and had not failed before. */
  units?: string[] | undefined;
}

export interface CheckReport {
  /** No check failed (skipped checks do not fail the report). */
  passed: boolean;
  results: CheckResult[];
}

export const DEFAULT_CHECK_TIMING: CheckTiming = { timeoutMs: 10_000, retries: 2, intervalMs: 2_000 };

export function checkReport(results: readonly CheckResult[]): CheckReport {
  return { passed: results.every((r) => r.status !== "failed"), results: [...results] };
}

/** The name a check gets when the config gives none. */
export function defaultCheckName(
  check:
    | { kind: "command"; command: readonly string[] }
    | { kind: "http"; url: string }
    | { kind: "tcp"; host: string; port: number },
): string {
  switch (check.kind) {
    case "command":
      return check.command.join(" ");
    case "http":
      return check.url;
    case "tcp": {
      const host = check.host.includes(":") ? `[${check.host}]` : check.host;
      return `tcp ${host}:${check.port}`;
    }
  }
}

/**
 * Unit names from `systemctl --failed --plain --no-legend`: one unit per line, the name first.
 * A leading `●` (printed without `--plain` on some versions) is skipped.
 */
export function parseFailedUnits(text: string): string[] {
  const units = new Set<string>();
  for (const line of text.split("\n")) {
    const fields = line
      .replace(/^[\s●*×]+/u, "")
      .trim()
      .split(/\s+/);
    const name = fields[0];
    if (name && /\.[a-z]+$/.test(name)) units.add(name);
  }
  return [...units].sort();
}

/** Units failed after activation that were not failed before it, sorted. */
export function newlyFailedUnits(before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  return [...new Set(after)].filter((u) => !was.has(u)).sort();
}
