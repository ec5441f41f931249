/**
 * The state file (`<state dir>/state.json`): what Ternix recorded about each system generation it
 * activated: the check results and whether the generation is known good. `gc` never deletes the
 * newest known-good generation. Parsed with a schema; written atomically by src/app/machine/state-file.ts.
 */
import { z } from "zod";

export const STATE_SCHEMA_VERSION = 1;
/** Records kept per state file; the oldest go first (gc also drops records of deleted generations). */
export const MAX_RECORDS = 500;

const CheckResultSchema = z.object({
  name: z.string(),
  kind: z.enum(["activation", "systemd", "confirm", "command", "http", "tcp"]),
  status: z.enum(["passed", "failed", "skipped"]),
  attempts: z.number().int().min(0),
  detail: z.string(),
  durationMs: z.number().min(0),
  units: z.array(z.string()).optional(),
});

const CheckReportSchema = z.object({
  passed: z.boolean(),
  results: z.array(CheckResultSchema),
});

/**
 * - `known-good`: activated with `switch` and every check passed.
 * - `rolled-back`: activated with `switch`, a check failed, and Ternix went back to the previous generation.
 * - `failed`: activated with `switch`, a check failed, and it was left active (`--no-rollback`).
 * - `unchecked`: made the boot default with `boot`; not activated, so not checked.
 */
export const GenerationStatus = z.enum(["known-good", "rolled-back", "failed", "unchecked"]);
export type GenerationStatus = z.infer<typeof GenerationStatus>;

export const GenerationRecord = z.looseObject({
  profile: z.string(),
  generation: z.number().int().positive(),
  storePath: z.string(),
  host: z.string().nullable(),
  action: z.enum(["switch", "boot"]),
  /** ISO 8601 time the record was made. */
  at: z.string(),
  status: GenerationStatus,
  checks: CheckReportSchema.nullable(),
});
export type GenerationRecord = z.infer<typeof GenerationRecord>;

/**
 * One activation run of the engine (switch, test, boot, rollback, upgrade), also those that added
 * no generation: a failed phase 1 leaves the profile alone, an interrupt restores it.
 * - `known-good`: checks passed, added to the profile and made the boot default.
 * - `tested`: checks passed, active, boot default unchanged (`test`).
 * - `boot-default`: made the boot default without activating (unchecked).
 * - `rolled-back`: a check failed; the previous system was re-activated, profile untouched.
 * - `checks-failed`: a check failed and the new system was left active (`--no-rollback`, or nothing to go back to).
 * - `interrupted`: SIGINT/SIGTERM during activation or checks; what `restored` says was put back.
 */
export const ActivationOutcome = z.enum([
  "known-good",
  "tested",
  "boot-default",
  "rolled-back",
  "checks-failed",
  "interrupted",
]);
export type ActivationOutcome = z.infer<typeof ActivationOutcome>;

export const ActivationRecord = z.looseObject({
  at: z.string(),
  /** The front door: switch, test, boot, rollback, upgrade. */
  command: z.string(),
  host: z.string().nullable(),
  storePath: z.string(),
  outcome: ActivationOutcome,
  /** The system active afterwards, when known. */
  active: z.string().nullable(),
  /** The profile's generation afterwards (the boot default), when there is a profile. */
  bootGeneration: z.number().int().positive().nullable(),
  checks: CheckReportSchema.nullable(),
  /** What happened, in words (e.g. how an interrupt was handled). */
  detail: z.string().optional(),
});
export type ActivationRecord = z.infer<typeof ActivationRecord>;

export const QuarantinedCommit = z.looseObject({
  commit: z.string(),
  at: z.string(),
  reason: z.string(),
});
export type QuarantinedCommit = z.infer<typeof QuarantinedCommit>;

export const UpgradeResult = z.enum([
  "up_to_date",
  "upgraded",
  "checks_failed",
  "refused",
  "quarantined",
  "error",
]);
export type UpgradeResult = z.infer<typeof UpgradeResult>;

/** What `ternix upgrade` keeps between runs (docs/upgrade.md). */
export const UpgradeState = z.looseObject({
  lastRun: z
    .looseObject({
      at: z.string(),
      result: UpgradeResult,
      commit: z.string().nullable(),
      message: z.string(),
    })
    .nullable(),
  lastSuccessAt: z.string().nullable(),
  /** The last commit this host deployed (the base of the fast-forward rule). */
  deployed: z
    .looseObject({
      commit: z.string(),
      storePath: z.string(),
      generation: z.number().int().positive().nullable(),
      at: z.string(),
      checked: z.boolean(),
    })
    .nullable(),
  quarantined: z.array(QuarantinedCommit),
  /** Set when the new system needs a reboot that has not happened (no --allow-reboot, outside the window). */
  rebootPending: z.looseObject({ since: z.string(), storePath: z.string(), reason: z.string() }).nullable(),
});
export type UpgradeState = z.infer<typeof UpgradeState>;

export function emptyUpgradeState(): UpgradeState {
  return { lastRun: null, lastSuccessAt: null, deployed: null, quarantined: [], rebootPending: null };
}

export const SystemState = z.looseObject({
  schemaVersion: z.literal(STATE_SCHEMA_VERSION),
  generations: z.array(GenerationRecord),
  /** Newest last; absent in files written before activation runs were recorded. */
  activations: z.array(ActivationRecord).optional(),
  upgrade: UpgradeState.optional(),
});
export type SystemState = z.infer<typeof SystemState>;

export function emptyState(): SystemState {
  return { schemaVersion: STATE_SCHEMA_VERSION, generations: [] };
}

export type StateParse = { ok: true; state: SystemState } | { ok: false; reason: string };

export function parseState(text: string): StateParse {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const result = SystemState.safeParse(data);
  if (result.success) return { ok: true, state: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(top level)";
  return { ok: false, reason: `${where}: ${issue?.message ?? "invalid"}` };
}

export function serializeState(state: SystemState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

const sameGeneration = (r: GenerationRecord, profile: string, generation: number, storePath: string) =>
  r.profile === profile && r.generation === generation && r.storePath === storePath;

/** The state with `record` replacing any record of the same generation, oldest records dropped past the cap. */
export function withRecord(state: SystemState, record: GenerationRecord): SystemState {
  const others = state.generations.filter(
    (r) => !sameGeneration(r, record.profile, record.generation, record.storePath),
  );
  const generations = [...others, record].slice(-MAX_RECORDS);
  return { ...state, generations };
}

/** Activation records kept; the oldest go first. */
export const MAX_ACTIVATIONS = 100;

export function withActivation(state: SystemState, record: ActivationRecord): SystemState {
  return { ...state, activations: [...(state.activations ?? []), record].slice(-MAX_ACTIVATIONS) };
}

/** The record of a generation; a record for the same number with another store path does not count. */
export function recordOf(
  state: SystemState,
  profile: string,
  generation: { number: number; storePath: string },
): GenerationRecord | undefined {
  return state.generations.findLast((r) =>
    sameGeneration(r, profile, generation.number, generation.storePath),
  );
}

/** The newest existing generation recorded as known good. */
export function newestKnownGood(
  state: SystemState,
  profile: string,
  generations: readonly { number: number; storePath: string }[],
): number | undefined {
  let best: number | undefined;
  for (const g of generations) {
    if (recordOf(state, profile, g)?.status === "known-good" && (best === undefined || g.number > best))
      best = g.number;
  }
  return best;
}

/** Drop this profile's records whose generation no longer exists. */
export function withoutDeleted(
  state: SystemState,
  profile: string,
  existing: readonly { number: number; storePath: string }[],
): SystemState {
  const generations = state.generations.filter(
    (r) => r.profile !== profile || existing.some((g) => sameGeneration(r, profile, g.number, g.storePath)),
  );
  return { ...state, generations };
}
