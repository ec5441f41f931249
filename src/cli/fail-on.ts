/** `--fail-on KIND…` of plan, diff and build: exit 5 when a risk of one of these kinds is raised. */
import { InvalidArgumentError, Option } from "commander";
import type { ClosureDiff } from "../closure/model.js";
import { isRiskKind, RISK_KINDS, type RiskKind } from "../closure/risk.js";

/** A commander parser: each value is one kind or a comma-separated list; unknown kinds are refused. */
export function parseFailOn(value: string, previous: RiskKind[] = []): RiskKind[] {
  const kinds = value
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (kinds.length === 0) throw new InvalidArgumentError("--fail-on takes risk kinds, e.g. secret driver.");
  for (const k of kinds) {
    if (!isRiskKind(k)) {
      // The value is the user's own text: shown quoted, control characters and all escaped.
      throw new InvalidArgumentError(
        `unknown risk kind ${JSON.stringify(k)}; --fail-on takes: ${RISK_KINDS.join(", ")}.`,
      );
    }
  }
  return [...new Set([...previous, ...(kinds as RiskKind[])])];
}

export const failOnOption = (what: string) =>
  new Option(
    "--fail-on <kind...>",
    `exit 5 when ${what} carries a risk of one of these kinds (e.g. secret driver; comma-separated works too)`,
  ).argParser(parseFailOn);

/** The kinds of `failOn` that the diff's risks include. */
export function failOnHits(diff: Pick<ClosureDiff, "risks"> | undefined, failOn: readonly RiskKind[] = []) {
  return failOn.filter((kind) => diff?.risks.some((r) => r.id === kind));
}
