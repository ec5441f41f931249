import { describe, expect, it } from "vitest";
import {
  emptyState,
  MAX_RECORDS,
  newestKnownGood,
  parseState,
  recordOf,
  serializeState,
  withoutDeleted,
  withRecord,
  type GenerationRecord,
  type GenerationStatus,
} from "./state.js";

const P = "/nix/var/nix/profiles/system";
const sp = (n: number) => `/nix/store/${String(n).padStart(32, "b")}-nixos-system-web`;
const rec = (
  generation: number,
  status: GenerationStatus,
  storePath = sp(generation),
  profile = P,
): GenerationRecord => ({
  profile,
  generation,
  storePath,
  host: "web",
  action: "switch",
  at: "2025-01-01T00:00:00.000Z",
  status,
  checks: { passed: status === "known-good", results: [] },
});

describe("state file", () => {
  it("round-trips and keeps unknown fields", () => {
    const state = withRecord(emptyState(), { ...rec(1, "known-good"), future: "field" });
    const parsed = parseState(serializeState(state));
    expect(parsed).toEqual({ ok: true, state });
  });

  it.each([
    ["not json", "not JSON"],
    ['{"schemaVersion":2,"generations":[]}', "schemaVersion"],
    ['{"schemaVersion":1,"generations":[{"generation":1}]}', "generations.0"],
  ])("rejects %j", (text, reason) => {
    const parsed = parseState(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it("replaces the record of the same generation", () => {
    let state = withRecord(emptyState(), rec(1, "failed"));
    state = withRecord(state, rec(1, "known-good"));
    expect(state.generations).toHaveLength(1);
    expect(recordOf(state, P, { number: 1, storePath: sp(1) })?.status).toBe("known-good");
  });

  it("a record for a reused number with another store path does not count", () => {
    const state = withRecord(emptyState(), rec(3, "known-good", sp(99)));
    expect(recordOf(state, P, { number: 3, storePath: sp(3) })).toBeUndefined();
    expect(newestKnownGood(state, P, [{ number: 3, storePath: sp(3) }])).toBeUndefined();
  });

  it("caps the number of records", () => {
    let state = emptyState();
    for (let i = 1; i <= MAX_RECORDS + 5; i++) state = withRecord(state, rec(i, "known-good"));
    expect(state.generations).toHaveLength(MAX_RECORDS);
    expect(state.generations[0]?.generation).toBe(6);
  });

  it("finds the newest existing known-good generation of the profile", () => {
    let state = emptyState();
    for (const r of [
      rec(1, "known-good"),
      rec(2, "known-good"),
      rec(3, "rolled-back"),
      rec(4, "known-good", sp(4), "/other"),
    ]) {
      state = withRecord(state, r);
    }
    const existing = [1, 2, 3, 4].map((n) => ({ number: n, storePath: sp(n) }));
    expect(newestKnownGood(state, P, existing)).toBe(2);
    expect(
      newestKnownGood(
        state,
        P,
        existing.filter((g) => g.number !== 2),
      ),
    ).toBe(1);
  });

  it("drops records of deleted generations of that profile only", () => {
    let state = emptyState();
    for (const r of [rec(1, "known-good"), rec(2, "failed"), rec(1, "known-good", sp(1), "/other")])
      state = withRecord(state, r);
    const next = withoutDeleted(state, P, [{ number: 2, storePath: sp(2) }]);
    expect(next.generations.map((r) => [r.profile, r.generation])).toEqual([
      [P, 2],
      ["/other", 1],
    ]);
  });
});
