import { describe, expect, it } from "vitest";
import { assessHost, driftReason, statusExitCode, type HostFacts, type HostState } from "./host-status.js";
import type { HostProbe } from "./status-probe.js";
import type { SystemState } from "./state.js";

const sys = (c: string) => `/nix/store/${c.repeat(32)}-nixos-system-web`;
const OLD = sys("a");
const NEW = sys("b");
const HAND = sys("c");
const SPEC = sys("d");
const boot = (v: string) => ({ kernel: `/k-${v}`, initrd: `/i-${v}`, "kernel-modules": `/m-${v}` });

function probe(over: Partial<HostProbe> = {}): HostProbe {
  return {
    now: new Date(0),
    currentSystem: NEW,
    bootedSystem: NEW,
    currentBoot: boot("2"),
    bootedBoot: boot("2"),
    currentGeneration: 2,
    generations: [
      { number: 1, storePath: OLD, createdAt: new Date(0), specialisations: [] },
      { number: 2, storePath: NEW, createdAt: new Date(0), specialisations: [SPEC] },
    ],
    failedUnits: [],
    failedUnitsError: undefined,
    disk: undefined,
    state: { kind: "absent" },
    ...over,
  };
}

const stateWith = (...paths: string[]): HostProbe["state"] => ({
  kind: "ok",
  state: {
    schemaVersion: 1,
    generations: paths.map((storePath, i) => ({
      profile: "/nix/var/nix/profiles/system",
      generation: i + 1,
      storePath,
      host: "web",
      action: "switch",
      at: "2026-12-01T00:00:00Z",
      status: "known-good",
      checks: null,
    })),
  } satisfies SystemState,
});

const facts = (p: Partial<HostProbe> | string, expected: string | null = NEW): HostFacts => ({
  probe: typeof p === "string" ? { ok: false, reason: p } : { ok: true, probe: probe(p) },
  expected: expected === null ? { ok: false, error: "boom" } : { ok: true, outPath: expected },
});

describe("assessHost", () => {
  it.each<[string, HostFacts, HostState, string[]]>([
    ["runs what the flake builds", facts({}), "up-to-date", []],
    ["runs a specialisation of what the flake builds", facts({ currentSystem: SPEC }), "up-to-date", []],
    ["ssh failed", facts("ssh failed: Connection refused"), "unreachable", ["unreachable"]],
    ["the flake does not evaluate", facts({}, null), "eval-failed", ["eval-failed"]],
    ["a unit failed", facts({ failedUnits: ["nginx.service"] }), "checks-failing", ["checks-failing"]],
    ["systemctl could not say: not failing", facts({ failedUnits: undefined }), "up-to-date", []],
    [
      "runs an older generation, no state file",
      facts({ currentSystem: OLD, bootedSystem: OLD, currentGeneration: 1 }),
      "behind",
      ["behind"],
    ],
    ["the flake builds something the host does not have", facts({}, HAND), "behind", ["behind"]],
    [
      "runs a system that is no generation (activated by hand)",
      facts({ currentSystem: HAND }),
      "drifted",
      ["drifted"],
    ],
    [
      "runs a generation Ternix never recorded, where it keeps a state file",
      facts({ currentSystem: OLD, state: stateWith(NEW) }),
      "drifted",
      ["drifted"],
    ],
    [
      "runs an older generation Ternix recorded",
      facts({ currentSystem: OLD, state: stateWith(OLD, NEW) }),
      "behind",
      ["behind"],
    ],
    [
      "booted another kernel",
      facts({ bootedBoot: boot("1"), bootedSystem: OLD }),
      "reboot-pending",
      ["reboot-pending"],
    ],
    ["no booted system (a container): no reboot verdict", facts({ bootedBoot: undefined }), "up-to-date", []],
    [
      "several findings: the most severe is the state",
      facts({ currentSystem: OLD, bootedBoot: boot("1"), failedUnits: ["a.service"] }),
      "checks-failing",
      ["checks-failing", "behind", "reboot-pending"],
    ],
  ])("%s", (_, f, state, findings) => {
    const verdict = assessHost(f);
    expect(verdict.state).toBe(state);
    expect(verdict.findings.map((x) => x.state)).toEqual(findings);
  });

  it("says why", () => {
    expect(assessHost(facts({ failedUnits: ["a.service", "b.timer"] })).findings[0]?.reason).toBe(
      "2 failed units: a.service, b.timer",
    );
    expect(assessHost(facts({ bootedBoot: boot("1") })).findings[0]?.reason).toBe(
      "the booted system's kernel, initrd, kernel-modules differ from the running system's",
    );
    expect(assessHost(facts({ currentSystem: OLD })).findings[0]?.reason).toMatch(
      /generation 2, but it is not running/,
    );
    expect(driftReason(probe({ currentSystem: OLD, state: stateWith(NEW) }), NEW)).toMatch(
      /generation 1 is running, and Ternix never activated it/,
    );
  });
});

describe("statusExitCode", () => {
  it.each<[HostState[], number]>([
    [["up-to-date", "up-to-date"], 0],
    [[], 0],
    [["up-to-date", "behind"], 3],
    [["reboot-pending"], 3],
    [["drifted"], 3],
    [["behind", "unreachable"], 1],
    [["checks-failing"], 1],
    [["eval-failed", "up-to-date"], 1],
  ])("%j → %i", (states, code) => {
    expect(statusExitCode(states)).toBe(code);
  });
});
