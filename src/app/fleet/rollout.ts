/**
 * Staged rollout rules (docs/rollout.md), pure: which wave a promotion reads, and what each host's
 * commit statuses say about the candidate commit. Rules as data: one small rule per host state.
 */
import type { Config } from "../../config/config.js";
import { parseDuration } from "../../config/config.js";
import { UsageError } from "../../errors.js";
import type { CommitStatus } from "../../forge/types.js";
import { hostStatusContext } from "../machine/forge-report.js";

export type HostState = "ok" | "baking" | "failed" | "error" | "pending" | "missing";

export interface HostVerdict {
  host: string;
  state: HostState;
  /** The commit the deciding report is on. */
  commit: string | undefined;
  /** When the deciding report was posted (for `ok`/`baking`: the first success). */
  reportedAt: string | undefined;
  /** `baking`: when the bake time is over. */
  readyAt: string | undefined;
  description: string | undefined;
}

export interface CommitReports {
  commit: string;
  statuses: readonly CommitStatus[];
}

export interface HostRuleInput {
  host: string;
  /** The candidate's statuses. */
  candidate: CommitReports;
  /** Statuses of its descendants on the source branch (a success there vouches for the candidate). */
  descendants: readonly CommitReports[];
  nowMs: number;
  minAgeMs: number;
}

type HostRule = (input: HostRuleInput, mine: (c: CommitReports) => CommitStatus[]) => HostVerdict | undefined;

const verdict = (
  host: string,
  state: HostState,
  on: { commit: string; status: CommitStatus } | undefined,
) => ({
  host,
  state,
  commit: on?.commit,
  reportedAt: on?.status.createdAt,
  readyAt: undefined,
  description: on?.status.description,
});

const newest = (list: { commit: string; status: CommitStatus }[]) =>
  [...list].sort((a, b) => Date.parse(b.status.createdAt) - Date.parse(a.status.createdAt))[0];

/** In order; the first rule that speaks decides. */
export const HOST_RULES: readonly HostRule[] = [
  // A failure on the candidate itself: the canary failed (its checks failed, or it is quarantined).
  (input, mine) => {
    const failures = mine(input.candidate).filter((s) => s.state === "failure");
    const last = newest(failures.map((status) => ({ commit: input.candidate.commit, status })));
    return last && verdict(input.host, "failed", last);
  },
  // A success on the candidate or a descendant: ok once the first one is min-age old.
  (input, mine) => {
    const successes = [input.candidate, ...input.descendants].flatMap((c) =>
      mine(c)
        .filter((s) => s.state === "success")
        .map((status) => ({ commit: c.commit, status })),
    );
    const first = [...successes].sort(
      (a, b) => Date.parse(a.status.createdAt) - Date.parse(b.status.createdAt),
    )[0];
    if (first === undefined) return undefined;
    const readyMs = Date.parse(first.status.createdAt) + input.minAgeMs;
    return readyMs <= input.nowMs
      ? verdict(input.host, "ok", first)
      : { ...verdict(input.host, "baking", first), readyAt: new Date(readyMs).toISOString() };
  },
  // Otherwise the newest report says why not yet: it could not build, or it is still pending.
  (input, mine) => {
    const all = [input.candidate, ...input.descendants].flatMap((c) =>
      mine(c).map((status) => ({ commit: c.commit, status })),
    );
    const last = newest(all);
    if (last === undefined) return verdict(input.host, "missing", undefined);
    return verdict(input.host, last.status.state === "error" ? "error" : "pending", last);
  },
];

export function judgeHost(input: HostRuleInput): HostVerdict {
  const context = hostStatusContext(input.host);
  const mine = (c: CommitReports) => c.statuses.filter((s) => s.context === context);
  for (const rule of HOST_RULES) {
    const v = rule(input, mine);
    if (v !== undefined) return v;
  }
  return verdict(input.host, "missing", undefined);
}

export type PromoteDecision = "ready" | "not-yet" | "canary-failed";

export function decide(verdicts: readonly HostVerdict[]): PromoteDecision {
  if (verdicts.some((v) => v.state === "failed")) return "canary-failed";
  return verdicts.every((v) => v.state === "ok") ? "ready" : "not-yet";
}

export interface WavePlan {
  /** The branch (or commit) whose head is promoted. */
  from: string;
  /** The branch whose descendants of the candidate count (the previous wave's branch). */
  sourceBranch: string;
  hosts: string[];
  minAge: string | undefined;
  minAgeMs: number;
}

/**
 * `ternix promote --to BRANCH`: the previous wave in `[[rollout.waves]]` (the one before BRANCH)
 * gives the source branch, the hosts whose reports count and the bake time; flags override each.
 */
export function planPromotion(
  config: Config,
  to: string,
  flags: { from?: string | undefined; hosts?: readonly string[] | undefined; minAge?: string | undefined },
): WavePlan {
  const waves = config.rollout.waves;
  const index = waves.findIndex((w) => w.branch === to);
  const previous = index > 0 ? waves[index - 1] : undefined;
  if (index === 0) {
    throw new UsageError(`${to} is the first wave in [[rollout.waves]]; nothing is promoted to it.`, {
      hint: "Its hosts follow it directly (merges land there); promote to a later wave's branch.",
    });
  }
  // --from BRANCH replaces the source branch; --from COMMIT picks a commit on it.
  const fromBranch = flags.from !== undefined && !isCommitId(flags.from) ? flags.from : undefined;
  const sourceBranch = fromBranch ?? previous?.branch ?? "main";
  const from = flags.from ?? sourceBranch;
  if (from === to) throw new UsageError(`--from and --to are both ${JSON.stringify(to)}.`);
  const hosts = selectHosts(flags.hosts ?? previous?.hosts ?? [], config);
  if (hosts.length === 0) {
    throw new UsageError(`no hosts to wait for before promoting to ${to}.`, {
      hint: `Pass --hosts HOST… (the canaries), or list ${to} after a wave with hosts in [[rollout.waves]] in ternix.toml.`,
    });
  }
  const minAge = flags.minAge ?? previous?.["min-age"];
  return { from, sourceBranch, hosts, minAge, minAgeMs: minAge === undefined ? 0 : parseDuration(minAge) };
}

export function isCommitId(ref: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(ref);
}

/**
 * Host names as given; `@TAG` selects the hosts whose `[deploy.hosts."NAME"] tags` carry it (promote
 * and `status --from-forge` do not evaluate the flake, so tags come from ternix.toml alone).
 * Duplicates are dropped.
 */
export function selectHosts(names: readonly string[], config: Config): string[] {
  const out: string[] = [];
  const add = (host: string) => {
    if (!out.includes(host)) out.push(host);
  };
  for (const name of names) {
    if (!name.startsWith("@")) {
      add(name);
      continue;
    }
    const tag = name.slice(1);
    const tagged = Object.entries(config.deploy.hosts)
      .filter(([, host]) => host.tags.includes(tag))
      .map(([host]) => host);
    if (tagged.length === 0) {
      throw new UsageError(`no host has the tag ${JSON.stringify(name)}.`, {
        hint: 'Tags come from ternix.toml: [deploy.hosts."NAME"] tags = ["…"].',
      });
    }
    tagged.forEach(add);
  }
  return out;
}
