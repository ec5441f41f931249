/**
 * `ternix status`'s verdict on one host, as rules: each rule is one concern (docs/status.md) and
 * says why it holds, or nothing. A host gets every finding that holds; its state is the most
 * severe of them, or `up-to-date` when none does. Pure.
 */
import type { HostProbe } from "./status-probe.js";
import { rebootReason } from "./reboot.js";

/** Most severe first: the order in which a host's state is chosen from its findings. */
export const HOST_STATES = [
  "unreachable",
  "checks-failing",
  "eval-failed",
  "drifted",
  "behind",
  "reboot-pending",
  "up-to-date",
] as const;
export type HostState = (typeof HOST_STATES)[number];

/** What the rules look at for one host. */
export interface HostFacts {
  /** The probe's result, or why there is none (ssh failed, output not understood). */
  probe: { ok: true; probe: HostProbe } | { ok: false; reason: string };
  /** What the flake (the checkout or `--ref`) evaluates the host's system to. */
  expected: { ok: true; outPath: string } | { ok: false; error: string };
}

export interface Finding {
  state: Exclude<HostState, "up-to-date">;
  /** One line: why. */
  reason: string;
}

interface StatusRule {
  state: Finding["state"];
  /** Why the state holds, or undefined when it does not. */
  check(facts: HostFacts): string | undefined;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The systems a generation starts: its toplevel and its specialisations. */
const systemsOf = (g: HostProbe["generations"][number]) => [g.storePath, ...(g.specialisations ?? [])];

/** Whether the running system is what the flake builds (or one of its specialisations). */
function runsExpected(probe: HostProbe, expected: string): boolean {
  if (probe.currentSystem === expected) return true;
  return probe.generations.some(
    (g) => g.storePath === expected && (g.specialisations ?? []).includes(probe.currentSystem),
  );
}

/** The systems Ternix recorded activating on the host (its state file), when it keeps one. */
function ternixSystems(probe: HostProbe): Set<string> | undefined {
  if (probe.state.kind !== "ok") return undefined;
  const s = probe.state.state;
  const paths = [
    ...s.generations.map((r) => r.storePath),
    ...(s.activations ?? []).flatMap((a) => [a.storePath, ...(a.active ? [a.active] : [])]),
    ...(s.upgrade?.deployed ? [s.upgrade.deployed.storePath] : []),
  ];
  return paths.length === 0 ? undefined : new Set(paths);
}

/**
 * Why the running system is drifted (not any generation this flake's tooling produced), or
 * undefined. Drifted means: it is not what the flake builds now, and either
 * - it is no generation of the system profile (toplevel or specialisation): activated by hand
 *   (`switch-to-configuration test`, `nixos-rebuild test`, a system copied from elsewhere); or
 * - the host keeps a Ternix state file and Ternix never recorded activating it there: a generation
 *   made around Ternix (a hand-run `nixos-rebuild switch`).
 * A running system Ternix put there, or a profile generation on a host without a state file, that
 * the flake has since moved past is `behind`, not drifted.
 */
export function driftReason(probe: HostProbe, expected: string): string | undefined {
  if (runsExpected(probe, expected)) return undefined;
  const running = probe.currentSystem;
  const generation = probe.generations.find((g) => systemsOf(g).includes(running));
  if (generation === undefined)
    return "the running system is no generation of the system profile (activated by hand?)";
  const recorded = ternixSystems(probe);
  if (recorded !== undefined && !recorded.has(running))
    return `generation ${generation.number} is running, and Ternix never activated it (made by hand?)`;
  return undefined;
}

export const STATUS_RULES: readonly StatusRule[] = [
  {
    state: "unreachable",
    check: (f) => (f.probe.ok ? undefined : f.probe.reason),
  },
  {
    state: "checks-failing",
    check: (f) => {
      const units = f.probe.ok ? f.probe.probe.failedUnits : undefined;
      if (!units || units.length === 0) return undefined;
      return `${plural(units.length, "failed unit")}: ${units.join(", ")}`;
    },
  },
  {
    state: "eval-failed",
    check: (f) =>
      f.expected.ok ? undefined : `the flake does not evaluate for this host: ${f.expected.error}`,
  },
  {
    state: "drifted",
    check: (f) => (f.probe.ok && f.expected.ok ? driftReason(f.probe.probe, f.expected.outPath) : undefined),
  },
  {
    state: "behind",
    check: (f) => {
      if (!f.probe.ok || !f.expected.ok) return undefined;
      const { probe } = f.probe;
      const expected = f.expected.outPath;
      if (runsExpected(probe, expected) || driftReason(probe, expected) !== undefined) return undefined;
      const built = probe.generations.find((g) => g.storePath === expected);
      return built
        ? `the flake's system is generation ${built.number}, but it is not running (activate it, or reboot into it)`
        : "the flake builds a system the host does not have yet";
    },
  },
  {
    state: "reboot-pending",
    check: (f) => {
      if (!f.probe.ok) return undefined;
      const { bootedBoot, currentBoot } = f.probe.probe;
      return rebootReason(bootedBoot, currentBoot)?.replace("the new system's", "the running system's");
    },
  },
];

export interface HostVerdict {
  state: HostState;
  /** Every finding that holds, most severe first. */
  findings: Finding[];
}

export function assessHost(facts: HostFacts): HostVerdict {
  const findings: Finding[] = [];
  for (const rule of STATUS_RULES) {
    const reason = rule.check(facts);
    if (reason !== undefined) findings.push({ state: rule.state, reason });
  }
  findings.sort((a, b) => HOST_STATES.indexOf(a.state) - HOST_STATES.indexOf(b.state));
  return { state: findings[0]?.state ?? "up-to-date", findings };
}

/** Exit codes of `ternix status` (README, docs/status.md). */
export const STATUS_EXIT = { ok: 0, attention: 3, failing: 1 } as const;

/**
 * 1 when a host is unreachable, has failed units or does not evaluate; else 3 when a host is
 * behind, drifted or pending a reboot; 0 when every host is up to date.
 */
export function statusExitCode(states: readonly HostState[]): number {
  const failing: readonly HostState[] = ["unreachable", "checks-failing", "eval-failed"];
  if (states.some((s) => failing.includes(s))) return STATUS_EXIT.failing;
  if (states.some((s) => s !== "up-to-date")) return STATUS_EXIT.attention;
  return STATUS_EXIT.ok;
}
