import type { LockedInput } from "./graph.js";
import { nixosReleasesAt } from "./release.js";
import { ageInDays } from "./time.js";

/**
 * A lock health policy in the spirit of DeterminateSystems/flake-checker: Nixpkgs inputs should track
 * a supported branch, come from the upstream owner and be at most `maxAgeDays` old.
 */
export interface StalenessPolicy {
  /** An input is stale when it is more than this many days old (flake-checker: 30). */
  maxAgeDays: number;
  /** Allowed Nixpkgs branches; `"auto"` computes them from the date (see `supportedBranchesAt`). */
  supportedBranches: readonly string[] | "auto";
  /**
   * Owners a Nixpkgs input may come from, compared case-insensitively. An entry with a `:` names a
   * source instead (`github:alice/nixpkgs`, `git+https://git.example.org/mirrors/nixpkgs`,
   * `path:/srv/nixpkgs`): it allows the input whose location (its source without ref, rev or query)
   * is that source or lies under it. Mirrors and local checkouts have no owner, so without such an
   * entry they could never pass.
   */
  allowedOwners: readonly string[];
  /** Which inputs get the branch and owner checks (and, by default, the age check). */
  nixpkgsLike: (input: LockedInput) => boolean;
  /** Apply the age limit to every input, not only Nixpkgs-like ones (default false). */
  maxAgeForAll: boolean;
  /**
   * Check transitive inputs too (default false). flake-checker checks the root's inputs only: a
   * dependency's own nixpkgs is its authors' choice, and listing each one would bury the real problems.
   */
  checkTransitive: boolean;
  /**
   * Direct inputs pinned with `ternix pin` (marked in flake.nix). A pin holds an old revision or
   * another release on purpose: it skips the age and branch checks, keeps the owner check.
   */
  pinned: ReadonlySet<string>;
}

export const defaultStalenessPolicy: StalenessPolicy = {
  maxAgeDays: 30,
  supportedBranches: "auto",
  allowedOwners: ["NixOS"],
  nixpkgsLike: isNixpkgsLike,
  maxAgeForAll: false,
  checkTransitive: false,
  pinned: new Set(),
};

/** A github/gitlab/git/tarball input whose repository is `nixpkgs`, or any input named `nixpkgs`. */
export function isNixpkgsLike(input: LockedInput): boolean {
  if (input.name === "nixpkgs") return true;
  const forgeType = ["github", "gitlab", "git", "tarball"].includes(input.type);
  return forgeType && input.repo?.toLowerCase() === "nixpkgs";
}

/**
 * Nixpkgs branches that receive updates at `now`: the unstable channels plus, for the two newest
 * stable releases (`nixosReleasesAt`), `nixos-YY.MM`, `nixos-YY.MM-small` and `nixpkgs-YY.MM-darwin`.
 */
export function supportedBranchesAt(now: Date): string[] {
  const stable = nixosReleasesAt(now, 2).flatMap((r) => [
    `nixos-${r}`,
    `nixos-${r}-small`,
    `nixpkgs-${r}-darwin`,
  ]);
  return ["nixos-unstable", "nixos-unstable-small", "nixpkgs-unstable", ...stable];
}

export type IssueKind = "stale" | "unsupported-branch" | "non-upstream";
export type VerdictKind = "ok" | IssueKind;

export interface InputIssue {
  kind: IssueKind;
  /** For people: `42 days old (policy: 30)`. */
  reason: string;
  /** For `stale`: the policy's limit. */
  maxAgeDays?: number;
  /** For `unsupported-branch`: the branches the policy accepts. */
  supportedBranches?: readonly string[];
}

export interface InputVerdict {
  input: LockedInput;
  /** The first issue's kind, or `ok`. */
  verdict: VerdictKind;
  issues: InputIssue[];
  /** Whole days since lastModified; undefined when the lock records no date. */
  ageDays?: number;
  nixpkgsLike: boolean;
  /** Whether any policy check applied (false for follows inputs and inputs outside the policy's scope). */
  checked: boolean;
  /** A pin made with `ternix pin` (see `StalenessPolicy.pinned`). */
  pinned: boolean;
}

/**
 * Judge every input against the policy (missing policy fields take `defaultStalenessPolicy`'s).
 * All inputs get their age; the checks apply to direct Nixpkgs-like inputs (see the policy's
 * switches). A follows input is judged where its target is listed, so it never carries issues.
 */
export function assessInputs(
  inputs: readonly LockedInput[],
  policy: Partial<StalenessPolicy>,
  now: Date,
): InputVerdict[] {
  const p: StalenessPolicy = { ...defaultStalenessPolicy, ...policy };
  const branches = p.supportedBranches === "auto" ? supportedBranchesAt(now) : p.supportedBranches;
  const owners = new Set(p.allowedOwners.filter((o) => !o.includes(":")).map((o) => o.toLowerCase()));
  const sources = p.allowedOwners.filter((o) => o.includes(":"));

  return inputs.map((input): InputVerdict => {
    const ageDays = input.lastModified === undefined ? undefined : ageInDays(input.lastModified, now);
    const nixpkgsLike = p.nixpkgsLike(input);
    const inScope = input.follows === undefined && (input.direct || p.checkTransitive);
    const checkNixpkgs = inScope && nixpkgsLike;
    const pinned = input.direct && p.pinned.has(input.id);
    const checkAge = inScope && !pinned && (nixpkgsLike || p.maxAgeForAll);
    const issues: InputIssue[] = [];

    if (checkAge && ageDays !== undefined && ageDays > p.maxAgeDays) {
      issues.push({
        kind: "stale",
        reason: `${ageDays} days old (policy: ${p.maxAgeDays})`,
        maxAgeDays: p.maxAgeDays,
      });
    }
    if (checkNixpkgs && !pinned && input.ref !== undefined && !branches.includes(input.ref)) {
      issues.push({
        kind: "unsupported-branch",
        reason: `branch ${input.ref} is not a supported Nixpkgs branch`,
        supportedBranches: branches,
      });
    }
    const ownerAllowed = input.owner !== undefined && owners.has(input.owner.toLowerCase());
    if (checkNixpkgs && !ownerAllowed && !sourceAllowed(input, sources)) {
      const allowed = p.allowedOwners.join(", ");
      issues.push({
        kind: "non-upstream",
        reason:
          input.owner === undefined
            ? `${input.source} is not from an allowed owner (${allowed})`
            : `owner ${input.owner} is not an allowed owner (${allowed})`,
      });
    }
    return {
      input,
      verdict: issues[0]?.kind ?? "ok",
      issues,
      ...(ageDays === undefined ? {} : { ageDays }),
      nixpkgsLike,
      checked: checkAge || checkNixpkgs,
      pinned,
    };
  });
}

/** Whether the input's location is one of the allowed sources or lies under one (`…/mirrors/` + `nixpkgs`). */
function sourceAllowed(input: LockedInput, sources: readonly string[]): boolean {
  const location = input.location.split("?")[0] ?? "";
  return sources.some((source) => {
    const base = source.replace(/\/+$/, "");
    return location === base || location.startsWith(`${base}/`);
  });
}

/** The policy passes when no input has an issue. */
export function policyPassed(verdicts: readonly InputVerdict[]): boolean {
  return verdicts.every((v) => v.issues.length === 0);
}
