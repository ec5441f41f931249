import { describe, expect, it } from "vitest";
import type { SecretScan } from "../closure/secrets.js";
import {
  channelsRule,
  diagnose,
  diskRule,
  DOCTOR_RULES,
  failedUnitsRule,
  flakeRule,
  generationsRule,
  journalRule,
  knownGoodRule,
  nixVersionsRule,
  parseChannelList,
  parseGcRoots,
  rebootRule,
  runningRule,
  secretsRule,
  storeSchemaRule,
  type DoctorFacts,
  type Verdict,
} from "./doctor.js";

const A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-1";
const B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-web-2";
const GiB = 1024 ** 3;
const boot = (kernel: string) => ({ kernel, initrd: "/i", "kernel-modules": "/m" });
const no = (reason = "nope") => ({ ok: false as const, reason });

function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    host: "web",
    currentSystemLink: "/run/current-system",
    bootedSystemLink: "/run/booted-system",
    running: B,
    booted: B,
    runningBoot: boot("/k2"),
    bootedBoot: boot("/k2"),
    profile: "/nix/var/nix/profiles/system",
    generations: [
      { number: 1, storePath: A },
      { number: 2, storePath: B },
    ],
    current: 2,
    flake: { ok: true, value: { dir: "/etc/nixos", outPath: B } },
    knownGood: { ok: true, value: { number: 2, storePath: B, inStore: true } },
    failedUnits: { ok: true, value: [] },
    journal: { ok: true, value: [] },
    disk: { ok: true, value: { path: "/nix/store", freeBytes: 50 * GiB, totalBytes: 100 * GiB } },
    store: { ok: true, value: { paths: 10, narBytes: 1024 } },
    gc: { ok: true, value: { keep: 5, generations: 2, deletable: [], paths: 0, bytes: 0 } },
    roots: { ok: true, value: { total: 1, transient: 0, top: [] } },
    nixVersions: { client: "Nix 2.24.15", clientVersion: "2.24.15", daemon: { ok: true, value: "2.24.15" } },
    storeSchema: { ok: true, value: { schema: "10", known: ["10"] } },
    channels: { ok: true, value: [] },
    usesFlake: true,
    secrets: no("no scanner"),
    ...over,
  };
}

describe("doctor rules", () => {
  it.each<[string, Partial<DoctorFacts>, Verdict, RegExp]>([
    ["the current generation runs", {}, "ok", /^running generation 2, the boot default$/],
    ["an older generation runs", { running: A }, "warn", /^running generation 1, but the boot default is 2$/],
    [
      "a system outside the profile runs",
      { running: "/nix/store/cccccccccccccccccccccccccccccccc-x" },
      "warn",
      /no generation/,
    ],
    ["nothing runs", { running: undefined }, "fail", /does not lead to a store path/],
    [
      "a specialisation of the current generation runs",
      { running: A, generations: [{ number: 2, storePath: B, specialisations: [A] }] },
      "ok",
      /running generation 2/,
    ],
  ])("running: %s", (_name, over, verdict, summary) => {
    const f = runningRule(facts(over));
    expect(f.verdict).toBe(verdict);
    expect(f.summary).toMatch(summary);
  });

  it.each<[string, Partial<DoctorFacts>, Verdict, RegExp]>([
    ["builds what runs", {}, "ok", /is what \/etc\/nixos builds for web/],
    [
      "builds something else",
      { flake: { ok: true, value: { dir: "/f", outPath: A } } },
      "warn",
      /another system/,
    ],
    [
      "does not evaluate",
      { flake: { ok: false, reason: "evaluating web's toplevel failed: boom", failed: true } },
      "fail",
      /^the flake's system for web: evaluating web's toplevel failed: boom$/,
    ],
    ["no flake", { flake: no("no flake found") }, "unavailable", /not available \(no flake found\)/],
  ])("flake: %s", (_name, over, verdict, summary) => {
    const f = flakeRule(facts(over));
    expect(f.verdict).toBe(verdict);
    expect(f.summary).toMatch(summary);
  });

  it.each<[string, Partial<DoctorFacts>, Verdict]>([
    ["same kernel", {}, "ok"],
    ["kernel differs", { bootedBoot: boot("/k1") }, "warn"],
    ["booted unknown", { booted: undefined, bootedBoot: undefined }, "unavailable"],
  ])("reboot: %s", (_name, over, verdict) => {
    expect(rebootRule(facts(over)).verdict).toBe(verdict);
  });

  it.each<[string, Partial<DoctorFacts>, Verdict]>([
    ["recorded and in the store", {}, "ok"],
    ["none recorded", { knownGood: { ok: true, value: undefined } }, "warn"],
    [
      "gone from the store",
      { knownGood: { ok: true, value: { number: 1, storePath: A, inStore: false } } },
      "fail",
    ],
    ["state unreadable", { knownGood: no("state.json is damaged") }, "unavailable"],
  ])("known good: %s", (_name, over, verdict) => {
    expect(knownGoodRule(facts(over)).verdict).toBe(verdict);
  });

  it.each<[string, Partial<DoctorFacts>, Verdict]>([
    ["none", {}, "ok"],
    ["one", { failedUnits: { ok: true, value: ["nginx.service"] } }, "fail"],
    ["no systemd", { failedUnits: no("System has not been booted with systemd") }, "unavailable"],
  ])("failed units: %s", (_name, over, verdict) => {
    expect(failedUnitsRule(facts(over)).verdict).toBe(verdict);
  });

  it("journal: shows only the last lines", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const f = journalRule(facts({ journal: { ok: true, value: lines } }));
    expect(f.verdict).toBe("warn");
    expect(f.details).toEqual(lines.slice(-10));
  });

  it.each<[number, number, Verdict]>([
    [50 * GiB, 100 * GiB, "ok"],
    [8 * GiB, 100 * GiB, "warn"], // under 10 %
    [4 * GiB, 10 * GiB, "warn"], // under 5 GiB
    [0.5 * GiB, 10 * GiB, "fail"],
  ])("disk: %d free of %d is %s", (freeBytes, totalBytes, verdict) => {
    const f = diskRule(facts({ disk: { ok: true, value: { path: "/nix/store", freeBytes, totalBytes } } }));
    expect(f.verdict).toBe(verdict);
  });

  it.each<[number, number[], Verdict, RegExp]>([
    [0, [], "ok", /would delete none/],
    [100, [1], "ok", /would delete 1 and free about 100 B/],
    [2 * GiB, [1, 2], "warn", /would delete 2 and free about 2\.0 GiB/],
  ])("generations: %d bytes", (bytes, deletable, verdict, summary) => {
    const f = generationsRule(
      facts({ gc: { ok: true, value: { keep: 1, generations: 4, deletable, paths: 3, bytes } } }),
    );
    expect(f.verdict).toBe(verdict);
    expect(f.summary).toMatch(summary);
  });

  it.each<[string, DoctorFacts["nixVersions"]["daemon"], Verdict]>([
    ["same", { ok: true, value: "2.24.15" }, "ok"],
    ["local store", { ok: true, value: undefined }, "ok"],
    ["daemon older", { ok: true, value: "2.18.1" }, "warn"],
    ["unknown", no(), "unavailable"],
  ])("nix versions: %s", (_name, daemon, verdict) => {
    const f = nixVersionsRule(
      facts({ nixVersions: { client: "Nix 2.24.15", clientVersion: "2.24.15", daemon } }),
    );
    expect(f.verdict).toBe(verdict);
  });

  it("store schema: an unknown (newer) schema warns", () => {
    expect(storeSchemaRule(facts()).verdict).toBe("ok");
    expect(
      storeSchemaRule(facts({ storeSchema: { ok: true, value: { schema: "11", known: ["10"] } } })).verdict,
    ).toBe("warn");
  });

  it.each<[string, Partial<DoctorFacts>, Verdict]>([
    ["flake, no channels", {}, "ok"],
    ["flake and channels", { channels: { ok: true, value: [{ name: "nixos", url: "u" }] } }, "warn"],
    [
      "channels only",
      { usesFlake: false, channels: { ok: true, value: [{ name: "nixos", url: "u" }] } },
      "ok",
    ],
    ["neither", { usesFlake: false }, "warn"],
    ["flake, no nix-channel", { channels: no() }, "ok"],
    ["no flake, no nix-channel", { usesFlake: false, channels: no() }, "unavailable"],
  ])("channels: %s", (_name, over, verdict) => {
    expect(channelsRule(facts(over)).verdict).toBe(verdict);
  });

  const scan = (over: Partial<SecretScan> = {}): SecretScan => ({
    findings: [],
    newPaths: 40,
    pathsScanned: 40,
    pathsOverBudget: 0,
    filesScanned: 120,
    bytesScanned: 4096,
    skippedBinary: 3,
    skippedTooLarge: 0,
    skippedOther: 2,
    ...over,
  });
  const K = "/nix/store/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk-deploy-keys-1.0";
  const T = "/nix/store/tttttttttttttttttttttttttttttttt-token";

  it.each<[string, Partial<DoctorFacts>, Verdict, string, string[]]>([
    ["no scanner", {}, "unavailable", "secrets in the running closure: not available (no scanner)", []],
    [
      "clean, all read",
      { secrets: { ok: true, value: scan() } },
      "ok",
      "no secrets found in the running system's closure (40 of 40 store paths, 120 text files read)",
      [],
    ],
    [
      "clean, limits hit",
      { secrets: { ok: true, value: scan({ pathsScanned: 30, pathsOverBudget: 10, skippedTooLarge: 1 }) } },
      "ok",
      "no secrets found in the running system's closure (30 of 40 store paths, 120 text files read)",
      [
        "not scanned: 10 of 40 store paths (the largest; over the per-host size limit); 1 file over the per-file size limit",
      ],
    ],
    [
      "one file",
      {
        secrets: {
          ok: true,
          value: scan({ findings: [{ storePath: T, file: "", kind: "github-token" }] }),
        },
      },
      "fail",
      "1 file in the running closure of web holds a secret (github-token), readable by every user",
      [`github-token  ${T}`],
    ],
    [
      "two files, two kinds, limits hit, no host name",
      {
        host: undefined,
        secrets: {
          ok: true,
          value: scan({
            findings: [
              { storePath: K, file: "etc/deploy.env", kind: "github-token" },
              { storePath: K, file: "etc/id_ed25519", kind: "openssh-private-key" },
            ],
            pathsOverBudget: 2,
            pathsScanned: 38,
          }),
        },
      },
      "fail",
      "2 files in the running closure hold a secret (openssh-private-key, github-token), readable by every user",
      [
        `github-token         ${K}/etc/deploy.env`,
        `openssh-private-key  ${K}/etc/id_ed25519`,
        "not scanned: 2 of 40 store paths (the largest; over the per-host size limit)",
      ],
    ],
  ])("secrets: %s", (_name, over, verdict, summary, details) => {
    const f = secretsRule(facts(over));
    expect(f).toMatchObject({ verdict, summary, details });
    if (verdict === "fail") {
      expect(f.action).toContain("agenix or sops-nix");
      expect(f.action).toContain("rotate");
    }
  });

  it("diagnose: one finding per rule, in triage order, ids unique", () => {
    const findings = diagnose(facts());
    expect(findings).toHaveLength(DOCTOR_RULES.length);
    expect(new Set(findings.map((f) => f.id)).size).toBe(findings.length);
    expect(findings.map((f) => f.section)).toEqual([
      "system",
      "system",
      "system",
      "system",
      "health",
      "health",
      "store",
      "store",
      "store",
      "store",
      "secrets",
      "nix",
      "nix",
      "nix",
    ]);
  });
});

describe("parsers", () => {
  it("parseGcRoots keeps LINK -> TARGET lines, runtime roots included", () => {
    expect(
      parseGcRoots(
        [
          "/nix/var/nix/profiles/system-1-link -> /nix/store/a-sys",
          "{temp:123} -> /nix/store/b-x",
          "/home/u/a -> b/result -> /nix/store/c-y",
          "{censored}",
          "",
        ].join("\n"),
      ),
    ).toEqual([
      { link: "/nix/var/nix/profiles/system-1-link", target: "/nix/store/a-sys" },
      { link: "{temp:123}", target: "/nix/store/b-x" },
      { link: "/home/u/a -> b/result", target: "/nix/store/c-y" },
    ]);
  });

  it("parseChannelList", () => {
    expect(
      parseChannelList("nixos https://nixos.org/channels/nixos-24.11\n\nhome-manager  https://x/y\n"),
    ).toEqual([
      { name: "nixos", url: "https://nixos.org/channels/nixos-24.11" },
      { name: "home-manager", url: "https://x/y" },
    ]);
  });
});
