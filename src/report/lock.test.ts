import { describe, expect, it } from "vitest";
import { diffLocks } from "../lock/diff.js";
import { lockInputs } from "../lock/graph.js";
import { parseFlakeLock } from "../lock/parse.js";
import type { FlakeLock } from "../lock/schema.js";
import { assessInputs } from "../lock/staleness.js";
import { upstreamStatus, type InputRow } from "../lock/upstream.js";
import {
  escapeMarkdown,
  renderInputsText,
  renderLockDiffMarkdown,
  renderLockDiffText,
  toInputsJson,
  toLockDiffJson,
} from "./lock.js";
import { stripStyle } from "./style.js";

type Node = Record<string, unknown>;
type Inputs = Record<string, string | string[]>;

const unix = (iso: string) => Date.parse(iso) / 1000;

function github(owner: string, repo: string, rev: string, date: string, ref?: string, inputs?: Inputs): Node {
  return {
    ...(inputs ? { inputs } : {}),
    locked: {
      lastModified: unix(date),
      narHash: `sha256-${rev.slice(0, 43)}=`,
      owner,
      repo,
      rev,
      type: "github",
    },
    original: { owner, ...(ref ? { ref } : {}), repo, type: "github" },
  };
}

function lock(rootInputs: Inputs, nodes: Record<string, Node>): FlakeLock {
  return parseFlakeLock(
    JSON.stringify({ nodes: { root: { inputs: rootInputs }, ...nodes }, root: "root", version: 7 }),
    "flake.lock",
  );
}

const A = "5e4fbfb6b3de1aa2872b76d49fafc942626e2add";
const B = "d3f2baba8f425779026c6ec04021b2e927f61e31";
const C = "c1fee8d4a60b89cae12b288ba9dbc608ff298163";
const D = "80a4d7f13492d916e47d6195be23acae8001985a";
const E = "11707dc2f618dd54ca8739b309ec4fc024de578b";

const before = lock(
  { "flake-utils": "flake-utils", "home-manager": "home-manager", nixpkgs: "nixpkgs", stylix: "stylix" },
  {
    "flake-utils": github("numtide", "flake-utils", E, "2024-11-13T21:27:16Z", undefined, {
      systems: "systems",
    }),
    systems: github("nix-systems", "default", A, "2023-04-09T08:27:08Z"),
    "home-manager": github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", "release-24.11", {
      nixpkgs: ["nixpkgs"],
    }),
    nixpkgs: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-24.11"),
    stylix: github("danth", "stylix", B, "2024-12-10T10:00:00Z", "release-24.11", {
      nixpkgs: "nixpkgs_2",
      systems: "systems",
    }),
    nixpkgs_2: github("NixOS", "nixpkgs", D, "2024-11-28T23:59:00Z", "nixos-unstable"),
  },
);
const after = lock(
  { agenix: "agenix", "home-manager": "home-manager", nixpkgs: "nixpkgs", stylix: "stylix" },
  {
    agenix: github("ryantm", "agenix", E, "2024-08-10T12:45:04Z", undefined, { nixpkgs: ["nixpkgs"] }),
    "home-manager": github("nix-community", "home-manager", D, "2025-05-22T09:00:00Z", "release-25.05", {
      nixpkgs: ["nixpkgs"],
    }),
    nixpkgs: github("NixOS", "nixpkgs", B, "2025-05-20T10:00:00Z", "nixos-25.05"),
    stylix: github("danth", "stylix", B, "2024-12-10T10:00:00Z", "release-24.11", { nixpkgs: ["nixpkgs"] }),
  },
);
const diff = diffLocks(before, after);
const now = new Date("2025-01-10T06:00:00Z");

describe("renderLockDiffText", () => {
  it("shows each changed input with revs, dates, release jumps and compare links", () => {
    expect(renderLockDiffText(diff, { color: false })).toBe(
      [
        "agenix               added: github:ryantm/agenix @ 11707dc 2024-08-10",
        "agenix/nixpkgs       added: follows nixpkgs",
        "flake-utils          removed (was github:numtide/flake-utils @ 11707dc 2024-11-13)",
        "flake-utils/systems  removed (was github:nix-systems/default @ 5e4fbfb 2023-04-09)",
        "home-manager         c1fee8d → 80a4d7f  2024-12-01 → 2025-05-22 (+172 days)",
        "  RELEASE JUMP 24.11 → 25.05",
        "  ref: release-24.11 → release-25.05",
        `  compare: https://github.com/nix-community/home-manager/compare/${C}...${D}`,
        "nixpkgs              5e4fbfb → d3f2bab  2024-12-01 → 2025-05-20 (+170 days)",
        "  RELEASE JUMP 24.11 → 25.05",
        "  ref: nixos-24.11 → nixos-25.05",
        `  compare: https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
        "stylix/nixpkgs       now follows nixpkgs (was github:NixOS/nixpkgs/nixos-unstable @ 80a4d7f 2024-11-28)",
        "stylix/systems       removed (was github:nix-systems/default @ 5e4fbfb 2023-04-09)",
        "",
        "3 changed, 2 added, 3 removed, 2 unchanged.",
        "",
      ].join("\n"),
    );
  });

  it("colours only when asked, with the same text underneath", () => {
    const coloured = renderLockDiffText(diff, { color: true });
    expect(coloured).toContain("\u001b[");
    expect(stripStyle(coloured)).toBe(renderLockDiffText(diff, { color: false }));
    expect(renderLockDiffText(diff, { color: false })).not.toContain("\u001b");
  });

  it("marks a move back in time and a backwards release jump", () => {
    const text = renderLockDiffText(diffLocks(after, before), { color: false });
    expect(text).toContain("nixpkgs              d3f2bab → 5e4fbfb  2025-05-20 → 2024-12-01 (-170 days)");
    expect(text).toContain("  RELEASE JUMP 25.05 → 24.11 (BACKWARDS)");
  });

  it("says so when nothing changed", () => {
    expect(renderLockDiffText(diffLocks(before, before), { color: true })).toBe(
      "No changes to flake.lock.\n",
    );
  });

  it("shows content-only changes, source, type and follows-target changes", () => {
    const a = lock(
      { home: "home", local: "local", nixpkgs: "nixpkgs", unstable: "unstable" },
      {
        home: github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", "master", {
          nixpkgs: ["nixpkgs"],
        }),
        local: {
          locked: {
            lastModified: unix("2024-12-01T08:10:00Z"),
            narHash: "sha256-old",
            path: "/srv/flake",
            type: "path",
          },
          original: { path: "/srv/flake", type: "path" },
        },
        nixpkgs: github("alice", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
        unstable: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
      },
    );
    const b = lock(
      { home: "home", local: "local", nixpkgs: "nixpkgs", unstable: "unstable" },
      {
        home: github("nix-community", "home-manager", C, "2024-12-01T20:38:04Z", "master", {
          nixpkgs: ["unstable"],
        }),
        local: {
          locked: {
            lastModified: unix("2024-12-01T08:10:00Z"),
            narHash: "sha256-new",
            path: "/srv/flake",
            type: "path",
          },
          original: { path: "/srv/flake", type: "path" },
        },
        nixpkgs: {
          locked: {
            lastModified: unix("2024-12-01T08:10:00Z"),
            narHash: `sha256-${A.slice(0, 43)}=`,
            rev: A,
            type: "git",
            url: "https://github.com/NixOS/nixpkgs",
          },
          original: { ref: "nixos-unstable", type: "git", url: "https://github.com/NixOS/nixpkgs" },
        },
        unstable: github("NixOS", "nixpkgs", A, "2024-12-01T08:10:00Z", "nixos-unstable"),
      },
    );
    expect(renderLockDiffText(diffLocks(a, b), { color: false })).toBe(
      [
        "home/nixpkgs  follows nixpkgs → follows unstable",
        "local         content changed (new narHash)",
        "nixpkgs       5e4fbfb (same revision)",
        "  source: github:alice/nixpkgs → git+https://github.com/NixOS/nixpkgs",
        "  type: github → git",
        "",
        "3 changed, 0 added, 0 removed, 2 unchanged.",
        "",
      ].join("\n"),
    );
  });
});

describe("renderLockDiffMarkdown", () => {
  it("renders a table for PR bodies", () => {
    expect(renderLockDiffMarkdown(diff)).toBe(
      [
        "**⚠ Release jump 24.11 → 25.05** for home-manager.",
        "",
        "**⚠ Release jump 24.11 → 25.05** for nixpkgs.",
        "",
        "| Input | Change | Before | After | Notes |",
        "| --- | --- | --- | --- | --- |",
        "| **agenix** | added |  | `11707dc` 2024-08-10 | github:ryantm/agenix |",
        "| &nbsp;&nbsp;agenix/nixpkgs | added |  | follows nixpkgs |  |",
        "| **flake-utils** | removed | `11707dc` 2024-11-13 |  | github:numtide/flake-utils |",
        "| &nbsp;&nbsp;flake-utils/systems | removed | `5e4fbfb` 2023-04-09 |  | github:nix-systems/default |",
        `| **home-manager** | updated | \`c1fee8d\` 2024-12-01 | \`80a4d7f\` 2025-05-22 | +172 days; **release jump 24.11 → 25.05**; ref release-24.11 → release-25.05; [compare](https://github.com/nix-community/home-manager/compare/${C}...${D}) |`,
        `| **nixpkgs** | updated | \`5e4fbfb\` 2024-12-01 | \`d3f2bab\` 2025-05-20 | +170 days; **release jump 24.11 → 25.05**; ref nixos-24.11 → nixos-25.05; [compare](https://github.com/NixOS/nixpkgs/compare/${A}...${B}) |`,
        "| &nbsp;&nbsp;stylix/nixpkgs | follows | `80a4d7f` 2024-11-28 | follows nixpkgs |  |",
        "| &nbsp;&nbsp;stylix/systems | removed | `5e4fbfb` 2023-04-09 |  | github:nix-systems/default |",
        "",
        "3 changed, 2 added, 3 removed, 2 unchanged.",
        "",
      ].join("\n"),
    );
  });

  it("says so when nothing changed", () => {
    expect(renderLockDiffMarkdown(diffLocks(after, after))).toBe("No changes to `flake.lock`.\n");
  });

  it("escapes values from the lock so they cannot break the table or inject HTML", () => {
    const evil = (ref: string, rev: string) =>
      lock(
        { "x|y": "x" },
        {
          x: {
            locked: {
              lastModified: unix("2024-12-01T08:10:00Z"),
              narHash: "sha256-x",
              owner: "o`w",
              repo: "r<img src=x>",
              rev,
              type: "github",
            },
            original: { owner: "o`w", ref, repo: "r<img src=x>", type: "github" },
          },
        },
      );
    const md = renderLockDiffMarkdown(
      diffLocks(evil("a|b", "abc`def"), evil("<script>`x`</script>", "fff|000")),
    );
    const row = md.split("\n").find((l) => l.startsWith("| **x"));
    expect(row).toBeDefined();
    // Five cells: the only unescaped pipes are the column separators.
    expect(row?.replace(/\\\|/g, "").split("|").length).toBe(7);
    expect(md).not.toMatch(/<script>|<img/);
    expect(md).not.toMatch(/[^\\]`x`/);
    expect(row).toContain("ref a\\|b → &lt;script&gt;\\`x\\`&lt;/script&gt;");
    expect(row).toContain("abc\\`def");
  });

  it.each([
    ["a|b", "a\\|b"],
    ["<b>", "&lt;b&gt;"],
    ["`code`", "\\`code\\`"],
    ["[link](x)", "\\[link\\](x)"],
    ["two\nlines", "two lines"],
    ["back\\slash", "back\\\\slash"],
    ["nixpkgs_2 *x*", "nixpkgs\\_2 \\*x\\*"],
  ])("escapeMarkdown(%j)", (text, escaped) => {
    expect(escapeMarkdown(text)).toBe(escaped);
  });
});

describe("renderInputsText", () => {
  const verdicts = assessInputs(lockInputs(before), {}, now);

  it("shows one row per input, transitive ones indented, follows as arrows", () => {
    expect(renderInputsText(verdicts, { color: false, now })).toBe(
      [
        "INPUT                        TYPE    SOURCE                                           REF             REV      DATE        AGE   VERDICT",
        "flake-utils                  github  github:numtide/flake-utils                                       11707dc  2024-11-13  57d   -",
        "  systems                    github  github:nix-systems/default                                       5e4fbfb  2023-04-09  641d  - (same node as stylix/systems)",
        "home-manager                 github  github:nix-community/home-manager/release-24.11  release-24.11   c1fee8d  2024-12-01  39d   -",
        "  nixpkgs → follows nixpkgs",
        "nixpkgs                      github  github:NixOS/nixpkgs/nixos-24.11                 nixos-24.11     5e4fbfb  2024-12-01  39d   stale: 39 days old (policy: 30)",
        "stylix                       github  github:danth/stylix/release-24.11                release-24.11   d3f2bab  2024-12-10  30d   -",
        "  nixpkgs                    github  github:NixOS/nixpkgs/nixos-unstable              nixos-unstable  80a4d7f  2024-11-28  42d   -",
        "  systems                    github  github:nix-systems/default                                       5e4fbfb  2023-04-09  641d  - (same node as flake-utils/systems)",
        "",
        "Policy failed: 1 issue (checked 2025-01-10).",
        "",
      ].join("\n"),
    );
  });

  it("lists the supported branches when a branch is not supported, and passes cleanly", () => {
    const eol = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", A, "2025-01-09T08:10:00Z", "nixos-23.11") },
    );
    const text = renderInputsText(assessInputs(lockInputs(eol), {}, now), { color: false });
    expect(text).toContain("unsupported-branch: branch nixos-23.11 is not a supported Nixpkgs branch");
    expect(text).toContain(
      "Supported branches: nixos-unstable, nixos-unstable-small, nixpkgs-unstable, nixos-24.11, nixos-24.11-small, nixpkgs-24.11-darwin, nixos-24.05, nixos-24.05-small, nixpkgs-24.05-darwin",
    );
    const fresh = lock(
      { nixpkgs: "nixpkgs" },
      { nixpkgs: github("NixOS", "nixpkgs", A, "2025-01-09T08:10:00Z", "nixos-24.11") },
    );
    expect(renderInputsText(assessInputs(lockInputs(fresh), {}, now), { color: false })).toMatch(
      /ok\n\nPolicy passed\.\n$/,
    );
  });

  it("aligns columns on the visible text when coloured", () => {
    const coloured = renderInputsText(verdicts, { color: true, now });
    expect(coloured).toContain("\u001b[33mstale");
    expect(stripStyle(coloured)).toBe(renderInputsText(verdicts, { color: false, now }));
  });

  it("handles a flake without inputs", () => {
    expect(renderInputsText([], { color: false })).toBe("flake.lock has no inputs.\n");
  });

  it("adds how far behind upstream each input is with --upstream", () => {
    const text = renderInputsText(upstreamRows(), { color: false, now, upstream: true });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/AGE\s+UPSTREAM\s+VERDICT$/);
    expect(lines.find((l) => l.startsWith("nixpkgs "))).toMatch(/39d\s+d3f2bab \+170d\s+stale/);
    expect(lines.find((l) => l.startsWith("stylix "))).toMatch(/30d\s+up to date\s+-/);
    // flake-utils would be dropped by this "update": nothing to say about its upstream.
    expect(lines.find((l) => l.startsWith("flake-utils "))).toMatch(/57d\s+-\s+-$/);
    expect(text).toContain("2 of 3 behind upstream: home-manager, nixpkgs.");
    const coloured = renderInputsText(upstreamRows(), { color: true, now, upstream: true });
    expect(stripStyle(coloured)).toBe(text);
  });
});

/** The `before` lock's rows with upstream statuses as if `after` were what an update locks now. */
function upstreamRows(): InputRow[] {
  const byId = new Map(diff.inputs.map((d) => [d.id, d]));
  return assessInputs(lockInputs(before), {}, now).map((v) => ({
    ...v,
    upstream: upstreamStatus(v.input, byId.get(v.input.id)),
  }));
}

describe("JSON", () => {
  it("describes the lock diff with dates as ISO strings", () => {
    const json = toLockDiffJson(diff);
    expect(json).toMatchObject({ schemaVersion: 1, kind: "lock-diff", changed: true, counts: diff.counts });
    const nixpkgs = json.inputs.find((i) => i.id === "nixpkgs");
    expect(nixpkgs).toMatchObject({
      status: "changed",
      oldRev: A,
      newRev: B,
      oldLastModified: "2024-12-01T08:10:00.000Z",
      newLastModified: "2025-05-20T10:00:00.000Z",
      daysMoved: 170,
      releaseJump: { from: "24.11", to: "25.05", direction: "forward" },
      refChange: { from: "nixos-24.11", to: "nixos-25.05" },
      followsChange: null,
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
      before: { source: "github:NixOS/nixpkgs/nixos-24.11", lastModified: "2024-12-01T08:10:00.000Z" },
    });
    expect(json.inputs.find((i) => i.id === "stylix/nixpkgs")?.followsChange).toEqual({
      from: null,
      to: "nixpkgs",
    });
    expect(json.inputs.find((i) => i.id === "agenix")?.before).toBeNull();
    // Plain data: survives a JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("describes the inputs and verdicts", () => {
    const json = toInputsJson(assessInputs(lockInputs(before), {}, now), now);
    expect(json).toMatchObject({
      schemaVersion: 1,
      kind: "inputs",
      now: "2025-01-10T06:00:00.000Z",
      policyPassed: false,
    });
    expect(json.inputs.map((i) => i.id)).toEqual([
      "flake-utils",
      "flake-utils/systems",
      "home-manager",
      "home-manager/nixpkgs",
      "nixpkgs",
      "stylix",
      "stylix/nixpkgs",
      "stylix/systems",
    ]);
    expect(json.inputs.find((i) => i.id === "nixpkgs")).toMatchObject({
      verdict: "stale",
      issues: [
        { kind: "stale", reason: "39 days old (policy: 30)", maxAgeDays: 30, supportedBranches: null },
      ],
      ageDays: 39,
      nixpkgsLike: true,
      checked: true,
      lastModified: "2024-12-01T08:10:00.000Z",
    });
    expect(json.inputs.find((i) => i.id === "home-manager/nixpkgs")).toMatchObject({
      follows: ["nixpkgs"],
      followsTarget: "nixpkgs",
    });
    expect(toInputsJson([]).now).toBeNull();
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.upstreamChecked).toBe(false);
    expect(json.inputs.every((i) => i.upstream === null)).toBe(true);
  });

  it("describes the upstream status with --upstream", () => {
    const json = toInputsJson(upstreamRows(), now, { upstreamChecked: true });
    expect(json.upstreamChecked).toBe(true);
    expect(json.inputs.find((i) => i.id === "nixpkgs")?.upstream).toEqual({
      upToDate: false,
      rev: B,
      lastModified: "2025-05-20T10:00:00.000Z",
      daysBehind: 170,
      commitsBehind: null,
      compareUrl: `https://github.com/NixOS/nixpkgs/compare/${A}...${B}`,
    });
    expect(json.inputs.find((i) => i.id === "stylix")?.upstream).toMatchObject({
      upToDate: true,
      daysBehind: 0,
    });
    expect(json.inputs.find((i) => i.id === "home-manager/nixpkgs")?.upstream).toBeNull();
  });
});

describe("names with control characters from a third-party flake", () => {
  const evil = "evil\u001b]0;owned\u0007\u001b[2J";
  // eslint-disable-next-line no-control-regex
  const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
  const escaped = "evil\\u001b]0;owned\\u0007\\u001b[2J";
  const old = lock({ [evil]: "n" }, { n: github("NixOS", "nixpkgs", A, "2024-12-01", "nixos-24.11") });
  const moved = lock({ [evil]: "n" }, { n: github("NixOS", "nixpkgs", B, "2024-12-15", "nixos-24.11") });

  it.each([true, false])("reach the terminal escaped in inputs and lock-diff text (colour %s)", (color) => {
    const now = new Date("2025-01-09T00:00:00Z");
    const texts = [
      renderInputsText(assessInputs(lockInputs(moved), {}, now), { color, now }),
      renderLockDiffText(diffLocks(old, moved), { color }),
    ];
    for (const text of texts) {
      expect(stripStyle(text)).not.toMatch(raw);
      expect(text).toContain(escaped);
    }
  });

  it("are kept as they are in JSON (JSON escapes them) and escaped in Markdown", () => {
    expect(toLockDiffJson(diffLocks(old, moved)).inputs[0]?.id).toBe(evil);
    expect(renderLockDiffMarkdown(diffLocks(old, moved))).not.toMatch(raw);
  });
});
