import { describe, expect, it } from "vitest";
import { classifyVersionChange, diffClosures, isSelectionOnlyChange, selectionMarker } from "./diff.js";
import { fakeClosure, fakeStorePath, type FakePackage } from "./testing.js";
import type { ClosureInput } from "./model.js";

const ROOT_BEFORE = "nixos-system-web-24.11.20241201.1e3deb3";
const ROOT_AFTER = "nixos-system-web-24.11.20241215.a1b2c3d";

function pair(before: (string | FakePackage)[], after: (string | FakePackage)[]) {
  return diffClosures(
    fakeClosure({ root: ROOT_BEFORE, packages: before }),
    fakeClosure({ root: ROOT_AFTER, packages: after }),
  );
}

describe("classifyVersionChange", () => {
  it.each<[string[], string[], ReturnType<typeof classifyVersionChange>]>([
    [["1.0"], ["1.1"], "upgraded"],
    [["1.1"], ["1.0"], "downgraded"],
    [["1.0pre1"], ["1.0"], "upgraded"],
    [["9.9p1"], ["9.9p2"], "upgraded"],
    [["550.135-6.6.63"], ["550.142-6.6.64"], "upgraded"],
    [["2.40-44"], ["2.40-36"], "downgraded"],
    // Versions on both sides are ignored; the rest pair up in order.
    [["3.11.9", "3.12.7"], ["3.11.9", "3.12.8"], "upgraded"],
    [["1.0", "2.0"], ["1.1", "2.1"], "upgraded"],
    [["1.0", "2.0"], ["0.9", "1.9"], "downgraded"],
    [["1.0", "2.0"], ["0.9", "2.1"], "changed"],
    // Every new version higher (lower) than every old one, whatever the counts.
    [["1.0"], ["1.1", "1.2"], "upgraded"],
    [["1.0", "1.1"], ["1.2"], "upgraded"],
    [["1.1", "1.2"], ["1.0"], "downgraded"],
    // Unequal counts and no common direction: no clear order.
    [["1.0"], ["0.9", "1.1"], "changed"],
    // A version only added or only dropped.
    [["1.0"], ["1.0", "2.0"], "changed"],
    [["1.0", "2.0"], ["2.0"], "changed"],
    // Different strings that Nix orders equal.
    [["1.0"], ["1.00"], "changed"],
    [[""], ["1.0"], "upgraded"],
  ])("%j -> %j is %s", (before, after, kind) => {
    expect(classifyVersionChange(before, after)).toBe(kind);
  });
});

describe("selectionMarker", () => {
  it.each([
    [true, true, "*"],
    [false, true, "+"],
    [true, false, "-"],
    [false, false, "."],
  ] as const)("before %s, after %s -> %s", (before, after, marker) => {
    expect(selectionMarker(before, after)).toBe(marker);
  });
});

describe("diffClosures", () => {
  it("groups outputs under one package and compares the real version", () => {
    const diff = pair(
      ["glibc-2.40-36", "glibc-2.40-36-bin", "glibc-2.40-36-dev"],
      ["glibc-2.40-44", "glibc-2.40-44-bin"],
    );
    expect(diff.packages).toHaveLength(1);
    expect(diff.packages[0]).toMatchObject({
      name: "glibc",
      kind: "upgraded",
      before: { versions: ["2.40-36"] },
      after: { versions: ["2.40-44"] },
    });
    expect(diff.packages[0]?.before.paths).toHaveLength(3);
    expect(diff.packages[0]?.after.paths).toHaveLength(2);
  });

  it("classifies added, removed, rebuilt and leaves unchanged packages out", () => {
    const diff = pair(
      ["xz-5.6.3", "openssh-9.8p1", "old-tool-1.0", { name: "zlib-1.3.1", build: "a" }, "source"],
      ["xz-5.6.3", "openssh-9.9p1", "new-tool-2.0", { name: "zlib-1.3.1", build: "b" }, "source"],
    );
    expect(diff.packages.map((p) => [p.name, p.kind])).toEqual([
      ["new-tool", "added"],
      ["old-tool", "removed"],
      ["openssh", "upgraded"],
      ["zlib", "rebuilt"],
    ]);
    expect(diff.counts).toEqual({
      upgraded: 1,
      downgraded: 0,
      changed: 0,
      added: 1,
      removed: 1,
      rebuilt: 1,
      selectionChanged: 0,
    });
  });

  it("counts a package whose set of unversioned paths changed as rebuilt", () => {
    const diff = pair(
      [
        { name: "hook", build: "1" },
        { name: "hook", build: "2" },
      ],
      [{ name: "hook", build: "1" }],
    );
    expect(diff.packages).toMatchObject([{ name: "hook", kind: "rebuilt", before: { versions: [""] } }]);
  });

  it("marks selection per side, as nvd does", () => {
    const diff = pair(
      [
        { name: "firefox-132.0", selected: true },
        { name: "htop-3.3.0", selected: false },
        { name: "vim-9.1.0", selected: true },
        { name: "curl-8.10.1", selected: false },
        { name: "git-2.47.0", selected: true },
      ],
      [
        { name: "firefox-133.0", selected: true },
        { name: "htop-3.3.0", selected: true },
        { name: "vim-9.1.0", selected: false },
        { name: "curl-8.11.0", selected: false },
        { name: "bpytop-1.0.50", selected: true },
      ],
    );
    const rows = diff.packages.map((p) => [p.name, p.kind, p.selection]);
    expect(rows).toEqual(
      [
        ["bpytop", "added", "+"],
        ["curl", "upgraded", "."],
        ["firefox", "upgraded", "*"],
        ["git", "removed", "-"],
        ["htop", "unchanged", "+"],
        ["vim", "unchanged", "-"],
        ["system-path", "rebuilt", "."],
      ].sort((a, b) => ((a[0] ?? "") < (b[0] ?? "") ? -1 : 1)),
    );
    expect(diff.counts.selectionChanged).toBe(2);
    expect(diff.packages.filter(isSelectionOnlyChange).map((p) => p.name)).toEqual(["htop", "vim"]);
    expect(diff.before.selectedFrom).toBe("sw");
  });

  it("leaves the roots out of the package list but counts them in sizes", () => {
    const before = fakeClosure({ root: ROOT_BEFORE, packages: ["xz-5.6.3"], sw: false, rootNarSize: 1000 });
    const after = fakeClosure({ root: ROOT_AFTER, packages: ["xz-5.6.3"], sw: false, rootNarSize: 3000 });
    const diff = diffClosures(before, after);
    expect(diff.packages).toEqual([]);
    expect(diff.before).toMatchObject({
      rootName: "nixos-system-web",
      rootVersion: "24.11.20241201.1e3deb3",
    });
    expect(diff.after.rootVersion).toBe("24.11.20241215.a1b2c3d");
    expect(diff.sizes).toEqual({
      pathsBefore: 2,
      pathsAfter: 2,
      pathsAdded: 1,
      pathsRemoved: 1,
      narSizeBefore: 1000 + 8 * 1024,
      narSizeAfter: 3000 + 8 * 1024,
      narSizeDelta: 2000,
    });
  });

  it("sums sizes per package", () => {
    const diff = pair(
      [
        { name: "linux-6.6.63", narSize: 100 },
        { name: "linux-6.6.63-modules", narSize: 1000 },
      ],
      [
        { name: "linux-6.6.64", narSize: 120 },
        { name: "linux-6.6.64-modules", narSize: 1100 },
      ],
    );
    expect(diff.packages[0]).toMatchObject({
      name: "linux",
      before: { narSize: 1100 },
      after: { narSize: 1220 },
      sizeDelta: 120,
    });
  });

  it("uses system.swPath when given, and the roots' references unless both sides have sw", () => {
    const before = fakeClosure({
      root: ROOT_BEFORE,
      packages: [{ name: "vim-9.1.0", selected: true }],
      sw: false,
    });
    const after = fakeClosure({
      root: ROOT_AFTER,
      packages: [{ name: "vim-9.1.1", selected: true }],
      sw: false,
    });
    const diff = diffClosures(before, after);
    expect(diff.before.selectedFrom).toBe("root");
    expect(diff.packages).toMatchObject([{ name: "vim", kind: "upgraded", selection: "*" }]);

    const withSw = fakeClosure({ root: ROOT_AFTER, packages: [{ name: "vim-9.1.1", selected: true }] });
    const sw = withSw.paths.find((p) => p.path.endsWith("-system-path"))?.path;
    const rootInfo = withSw.paths.find((p) => p.path === withSw.root);
    if (rootInfo) rootInfo.references = rootInfo.references.filter((r) => r !== sw); // only the facts know sw
    const viaFacts = { ...withSw, system: { swPath: sw ?? "" } };
    // A mixed pair (only one side has sw) reads both roots' references, as nvd does.
    const mixed = diffClosures(before, viaFacts);
    expect(mixed.after).toMatchObject({ selectedFrom: "root", swPath: sw });
    expect(mixed.before.selectedFrom).toBe("root");
    expect(mixed.packages.find((p) => p.name === "vim")?.selection).toBe("*");
    const bothSw = diffClosures(
      fakeClosure({ root: ROOT_BEFORE, packages: [{ name: "vim-9.1.0", selected: true }] }),
      viaFacts,
    );
    expect(bothSw.after).toMatchObject({ selectedFrom: "sw", swPath: sw });
    expect(bothSw.before.selectedFrom).toBe("sw");
    expect(bothSw.packages.find((p) => p.name === "vim")?.selection).toBe("*");
  });

  it("ignores duplicate entries, non-store paths and derivations in the package list", () => {
    const before = fakeClosure({ root: ROOT_BEFORE, packages: ["xz-5.6.3"] });
    const after: ClosureInput = {
      root: before.root,
      paths: [
        ...before.paths,
        ...before.paths,
        { path: "/not/a/store/path", narSize: 5, references: [] },
        { path: fakeStorePath("xz-5.6.4.drv"), narSize: 7, references: [] },
      ],
    };
    const diff = diffClosures(before, after);
    expect(diff.packages).toEqual([]);
    expect(diff.sizes.pathsAfter).toBe(before.paths.length + 2);
    expect(diff.sizes.narSizeDelta).toBe(12);
  });

  it("orders packages by name and versions by Nix order", () => {
    const diff = pair(["b-1.9", "b-1.10", "a-1.0", "C-1.0"], ["b-1.11", "b-1.10", "a-1.1", "C-1.1"]);
    expect(diff.packages.map((p) => p.name)).toEqual(["C", "a", "b"]);
    expect(diff.packages[2]).toMatchObject({
      before: { versions: ["1.9", "1.10"] },
      after: { versions: ["1.10", "1.11"] },
    });
  });

  it("diffs two 3,000-path closures correctly", () => {
    const N = 3000;
    const before: FakePackage[] = [];
    const after: FakePackage[] = [];
    for (let i = 0; i < N; i++) {
      const pname = `pkg${String(i).padStart(4, "0")}`;
      before.push({ name: `${pname}-1.${i}`, selected: i % 10 === 0 });
      before.push({ name: `${pname}-1.${i}-dev` });
      if (i % 7 === 0) continue; // removed
      const version = i % 5 === 0 ? `1.${i + 1}` : `1.${i}`; // upgraded
      const build = i % 11 === 0 ? "rebuilt" : "";
      after.push({ name: `${pname}-${version}`, build, selected: i % 10 === 0 });
      after.push({ name: `${pname}-${version}-dev`, build });
    }
    for (let i = 0; i < 100; i++) after.push({ name: `newpkg${i}-0.1` });
    const diff = diffClosures(
      fakeClosure({ root: ROOT_BEFORE, packages: before }),
      fakeClosure({ root: ROOT_AFTER, packages: after }),
    );
    let removed = 0;
    let upgraded = 0;
    let rebuilt = 0;
    for (let i = 0; i < N; i++) {
      if (i % 7 === 0) removed++;
      else if (i % 5 === 0) upgraded++;
      else if (i % 11 === 0) rebuilt++;
    }
    expect(diff.sizes.pathsBefore).toBe(2 * N + 2);
    expect(diff.counts).toMatchObject({ removed, upgraded, added: 100, downgraded: 0, changed: 0 });
    expect(diff.counts.rebuilt).toBe(rebuilt + 1); // + system-path
    expect(diff.packages.map((p) => p.name)).toEqual([...diff.packages.map((p) => p.name)].sort());
  });
});

/**
 * Where nvd is right and Ternix follows it, and where Ternix keeps its own better rule. Each case
 * gives the marker Ternix prints (kind letter, then selection), with what `nvd diff` and
 * `nix store diff-closures` print for the same pair.
 */
describe("agreeing with nvd where nvd is right", () => {
  // "." for a selection-only change (kind unchanged); undefined: the package is not listed at all.
  const LETTER = {
    upgraded: "U",
    downgraded: "D",
    changed: "C",
    added: "A",
    removed: "R",
    rebuilt: "B",
    unchanged: ".",
  };
  const markerOf = (diff: ReturnType<typeof diffClosures>, name: string) => {
    const p = diff.packages.find((x) => x.name === name);
    return p ? `[${LETTER[p.kind]}${p.selection}]` : undefined;
  };
  const plain = (root: string, packages: string[] = []) => fakeClosure({ root, packages, sw: false });

  it.each<[string, () => ReturnType<typeof diffClosures>, string, string | undefined]>([
    [
      // nvd: [U.] foo 1.0 -> 1.1, 1.2 (every new version above every old one).
      // diff-closures: "foo: 1.0 → 1.1, 1.2" (it never says which way).
      "{1.0} -> {1.1, 1.2} is an upgrade",
      () => pair(["foo-1.0"], ["foo-1.1", "foo-1.2"]),
      "foo",
      "[U.]",
    ],
    [
      // nvd: [C.] (1.1 is not above 2.0); Ternix pairs the lines: 1.0 -> 1.1 and 2.0 -> 2.1.
      // diff-closures: "foo: 1.0, 2.0 → 1.1, 2.1".
      "{1.0, 2.0} -> {1.1, 2.1} is an upgrade, line by line",
      () => pair(["foo-1.0", "foo-2.0"], ["foo-1.1", "foo-2.1"]),
      "foo",
      "[U.]",
    ],
    [
      // nvd: [U.] git 2.47.0 -> 2.49.0 (the root is a package); diff-closures: "git: 2.47.0 → 2.49.0".
      // Not a NixOS system, so the root is not hidden, and not reported as removed.
      "two plain packages: the root is upgraded",
      () => diffClosures(plain("git-2.47.0", ["zlib-1.3.1"]), plain("git-2.49.0", ["zlib-1.3.1"])),
      "git",
      "[U.]",
    ],
    [
      // nvd compares numbers as Python ints: [U.]; diff-closures: "foo: 9999999999 → 10000000000".
      // Nix's own compareVersions would call it a downgrade (string2Int<int> overflows).
      "numbers past 2^31 compare as numbers",
      () => pair(["foo-9999999999"], ["foo-10000000000"]),
      "foo",
      "[U.]",
    ],
    [
      // A system (with sw) against a bare closure (no sw): nvd reads both roots' references, so
      // openssl, referenced by both roots, is no selection change and is not printed; neither
      // tool prints it (diff-closures has no selection at all). Per side it would be [.+] here.
      "a mixed pair reads both roots' references",
      () =>
        diffClosures(
          fakeClosure({
            root: ROOT_BEFORE,
            packages: [{ name: "vim-9.1.0", selected: true }, "openssl-3.3.2"],
          }),
          fakeClosure({
            root: "env-1.0",
            packages: [
              { name: "vim-9.1.1", selected: true },
              { name: "openssl-3.3.2", selected: true },
            ],
            sw: false,
          }),
        ),
      "openssl",
      undefined,
    ],
    [
      // The same mixed pair: vim is referenced by both roots. nvd: [U*]; diff-closures: "vim: 9.1.0 → 9.1.1".
      "a mixed pair: a package both roots reference is selected on both sides",
      () =>
        diffClosures(
          fakeClosure({
            root: ROOT_BEFORE,
            packages: [{ name: "vim-9.1.0", selected: true }, "openssl-3.3.2"],
          }),
          fakeClosure({ root: "env-1.0", packages: [{ name: "vim-9.1.1", selected: true }], sw: false }),
        ),
      "vim",
      "[U*]",
    ],
  ])("%s", (_, makeDiff, name, marker) => {
    expect(markerOf(makeDiff(), name)).toBe(marker);
  });

  it("still hides the root of a NixOS system, with or without sw", () => {
    const withoutSw = diffClosures(
      fakeClosure({ root: ROOT_BEFORE, packages: ["vim-9.1.0"], sw: false }),
      fakeClosure({ root: ROOT_AFTER, packages: ["vim-9.1.1"], sw: false }),
    );
    expect(withoutSw.packages.map((p) => p.name)).toEqual(["vim"]);
  });
});
