/** Table tests per risk rule: each rule alone, on diffs built from package names and toplevel facts. */
import { describe, expect, it } from "vitest";
import { diffClosures } from "./diff.js";
import {
  bootloaderRule,
  driverRebuildRule,
  driverRule,
  firmwareRule,
  glibcRule,
  heavyBuildRule,
  initrdRule,
  kernelParamsRule,
  kernelRule,
  nixosReleaseRule,
  nixRule,
  nixStoreSchemaRule,
  isRiskKind,
  rebootTriggersRule,
  RISK_KINDS,
  RISK_RULES,
  riskContext,
  secretRule,
  systemdRule,
  type RiskRule,
} from "./risk.js";
import type { SecretFinding, SecretScan } from "./secrets.js";
import { fakeClosure, fakeStorePath, type FakePackage } from "./testing.js";
import type { SystemFacts } from "./model.js";

interface Case {
  before?: (string | FakePackage)[];
  after?: (string | FakePackage)[];
  facts?: [SystemFacts, SystemFacts];
  roots?: [string, string];
  /** Expected titles, in order; [] for no flag. */
  titles: string[];
}

function run(rule: RiskRule, c: Case): string[] {
  const [rb, ra] = c.roots ?? ["nixos-system-h-24.11.1", "nixos-system-h-24.11.2"];
  const diff = diffClosures(
    fakeClosure({ root: rb, packages: c.before ?? [], ...(c.facts ? { system: c.facts[0] } : {}) }),
    fakeClosure({ root: ra, packages: c.after ?? [], ...(c.facts ? { system: c.facts[1] } : {}) }),
  );
  return rule(riskContext(diff)).map((f) => f.title);
}

const k63 = `${fakeStorePath("linux-6.6.63")}/bzImage`;
const k64 = `${fakeStorePath("linux-6.6.64")}/bzImage`;
const iA = `${fakeStorePath("initrd-linux-6.6.63", "a")}/initrd`;
const iB = `${fakeStorePath("initrd-linux-6.6.63", "b")}/initrd`;

const table: [string, RiskRule, Case[]][] = [
  [
    "reboot-triggers",
    rebootTriggersRule,
    [
      { facts: [{ rebootTriggers: "a" }, { rebootTriggers: "b" }], titles: ["Reboot triggers changed"] },
      { facts: [{ rebootTriggers: "a" }, { rebootTriggers: "a" }], titles: [] },
      { facts: [{}, { rebootTriggers: "b" }], titles: [] },
    ],
  ],
  [
    "kernel",
    kernelRule,
    [
      { before: ["linux-6.6.63"], after: ["linux-6.6.64"], titles: ["Kernel: linux 6.6.63 -> 6.6.64"] },
      {
        before: ["linux_zen-6.12.1"],
        after: ["linux_zen-6.12.2"],
        titles: ["Kernel: linux_zen 6.12.1 -> 6.12.2"],
      },
      { facts: [{ kernel: k63 }, { kernel: k64 }], titles: ["Kernel 6.6.63 -> 6.6.64"] },
      // Facts win: the package group moved, the booted kernel did not.
      {
        before: ["linux-6.6.63"],
        after: ["linux-6.6.64"],
        facts: [{ kernel: k63 }, { kernel: k63 }],
        titles: [],
      },
      { before: ["curl-8.10"], after: ["curl-8.11"], titles: [] },
    ],
  ],
  [
    "initrd",
    initrdRule,
    [
      {
        facts: [
          { kernel: k63, initrd: iA },
          { kernel: k63, initrd: iB },
        ],
        titles: ["Initrd changed"],
      },
      {
        facts: [
          { kernel: k63, initrd: iA },
          { kernel: k64, initrd: iB },
        ],
        titles: [],
      },
      {
        before: [{ name: "initrd-linux-6.6.63", build: "a" }],
        after: [{ name: "initrd-linux-6.6.63", build: "b" }],
        titles: ["Initrd: initrd-linux rebuilt (6.6.63)"],
      },
    ],
  ],
  [
    "kernel-params",
    kernelParamsRule,
    [
      {
        facts: [{ kernelParams: "quiet loglevel=4" }, { kernelParams: "loglevel=4 mitigations=off" }],
        titles: ["Kernel parameters: +mitigations=off -quiet"],
      },
      { facts: [{ kernelParams: "a b" }, { kernelParams: "b a" }], titles: ["Kernel parameters reordered"] },
      {
        facts: [{ kernelParams: "init=/nix/store/a a" }, { kernelParams: "a init=/nix/store/b" }],
        titles: [],
      },
    ],
  ],
  [
    "driver",
    driverRule,
    [
      {
        before: ["linux-6.6.63", "nvidia-x11-550.135-6.6.63"],
        after: ["linux-6.6.64", "nvidia-x11-550.142-6.6.64"],
        titles: ["Driver change: nvidia-x11 550.135-6.6.63 -> 550.142-6.6.64"],
      },
      { after: ["nvidia-open-565.77"], titles: ["Driver change: nvidia-open added (565.77)"] },
      {
        before: ["linux-6.6.63", "zfs-kernel-2.2.7-6.6.63"],
        after: ["linux-6.6.64", "zfs-kernel-2.2.7-6.6.64"],
        titles: [],
      },
    ],
  ],
  [
    "driver-rebuild",
    driverRebuildRule,
    [
      {
        before: ["linux-6.6.63", "zfs-kernel-2.2.7-6.6.63"],
        after: ["linux-6.6.64", "zfs-kernel-2.2.7-6.6.64"],
        titles: ["Driver rebuilt: zfs-kernel 2.2.7-6.6.63 -> 2.2.7-6.6.64"],
      },
      { before: ["nvidia-x11-550.135"], after: ["nvidia-x11-550.142"], titles: [] },
    ],
  ],
  [
    "firmware",
    firmwareRule,
    [
      {
        before: ["linux-firmware-20241110"],
        after: ["linux-firmware-20241210"],
        titles: ["Firmware: linux-firmware 20241110 -> 20241210"],
      },
      {
        before: ["microcode-amd-20240910"],
        after: ["microcode-amd-20241112"],
        titles: ["Firmware: microcode-amd 20240910 -> 20241112"],
      },
      { before: [{ name: "firmware", build: "1" }], after: [{ name: "firmware", build: "2" }], titles: [] },
    ],
  ],
  [
    "bootloader",
    bootloaderRule,
    [
      { before: ["grub-2.12"], after: ["grub-2.12.1"], titles: ["Boot loader: grub 2.12 -> 2.12.1"] },
      {
        before: ["install-grub.sh"],
        after: ["systemd-boot"],
        titles: ["Boot loader: install-grub.sh removed (<none>); systemd-boot added (<none>)"],
      },
      {
        before: [{ name: "systemd-boot", build: "1" }],
        after: [{ name: "systemd-boot", build: "2" }],
        titles: [],
      },
    ],
  ],
  [
    "systemd",
    systemdRule,
    [
      { before: ["systemd-256.8"], after: ["systemd-256.10"], titles: ["systemd 256.8 -> 256.10"] },
      {
        before: [{ name: "systemd-256.8", build: "a" }],
        after: [{ name: "systemd-256.8", build: "b" }],
        titles: [],
      },
    ],
  ],
  [
    "glibc",
    glibcRule,
    [
      { before: ["glibc-2.40-36"], after: ["glibc-2.40-44"], titles: ["glibc 2.40-36 -> 2.40-44"] },
      { before: ["glibc-2.40-36"], after: ["glibc-2.40-36", "curl-1"], titles: [] },
    ],
  ],
  [
    "nix",
    nixRule,
    [
      { before: ["nix-2.18.9"], after: ["nix-2.24.10"], titles: ["Nix: nix 2.18.9 -> 2.24.10"] },
      { before: ["nix-2.24.9"], after: ["nix-2.24.10"], titles: [] },
      {
        before: ["nix-2.24.10"],
        after: ["lix-2.91.1"],
        titles: ["Nix implementation: nix removed (2.24.10); lix added (2.91.1)"],
      },
    ],
  ],
  [
    "nix-store-schema",
    nixStoreSchemaRule,
    [
      {
        before: ["nix-2.3.16"],
        after: ["nix-2.24.10"],
        titles: [
          "Nix store schema change: nix 2.3.16 -> nix 2.24.10 crosses the content-addressed derivation tables (db/ca-schema), created once the ca-derivations feature is enabled (Nix 2.4)",
        ],
      },
      {
        before: ["nix-1.11.16"],
        after: ["nix-2.3.16"],
        titles: ["Nix store schema change: nix 1.11.16 -> nix 2.3.16 crosses database schema 10 (Nix 2.0)"],
      },
      // Downgrades cross the same change, the other way.
      {
        before: ["nix-2.24.10"],
        after: ["nix-2.3.16"],
        titles: [
          "Nix store schema change: nix 2.24.10 -> nix 2.3.16 crosses the content-addressed derivation tables (db/ca-schema), created once the ca-derivations feature is enabled (Nix 2.4)",
        ],
      },
      // No schema change between 2.4 and today's 2.x, nor between CppNix 2.18+ and Lix.
      { before: ["nix-2.18.9"], after: ["nix-2.24.10"], titles: [] },
      { before: ["nix-2.24.10"], after: ["lix-2.91.1"], titles: [] },
      { before: ["nix-2.24.9"], after: ["nix-2.24.10"], titles: [] },
      { before: ["curl-8.10"], after: ["curl-8.11"], titles: [] },
    ],
  ],
  [
    "nixos-release",
    nixosReleaseRule,
    [
      { roots: ["nixos-system-h-24.05.1", "nixos-system-h-24.11.1"], titles: ["NixOS 24.05 -> 24.11"] },
      { roots: ["nixos-system-h-24.11.1", "nixos-system-h-24.11.9"], titles: [] },
      { facts: [{ nixosVersion: "24.11.1" }, { nixosVersion: "25.05.1" }], titles: ["NixOS 24.11 -> 25.05"] },
    ],
  ],
];

describe.each(table)("risk rule %s", (_id, rule, cases) => {
  it.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    expect(run(rule, c)).toEqual(c.titles);
  });
});

describe("risk rule heavy-build", () => {
  const base = diffClosures(
    fakeClosure({ root: "nixos-system-h-1", packages: [] }),
    fakeClosure({ root: "nixos-system-h-2", packages: [] }),
  );
  const drv = (name: string) => `${fakeStorePath(name)}.drv`;
  it.each([
    [
      [["linux-6.6.64", 20]],
      ["linux-6.6.64 is not in any binary cache: it will be compiled on this machine"],
    ],
    [
      [["nvidia-x11-550.142-6.6.64", 5]],
      ["nvidia-x11-550.142-6.6.64 is not in any binary cache: it will be compiled on this machine"],
    ],
    [[["my-app-1.0", 80]], ["my-app-1.0 is not in any binary cache: it will be compiled on this machine"]],
    [
      [
        ["my-app-1.0", 10],
        ["etc", 3],
      ],
      [],
    ],
    [
      [
        ["firefox-133.0", 9],
        ["gcc-14.2.0", 9],
      ],
      [
        "2 heavy builds are not in any binary cache: firefox-133.0, gcc-14.2.0 will be compiled on this machine",
      ],
    ],
  ] as [[string, number][], string[]][])("%j", (builds, titles) => {
    const cost = {
      toBuild: builds.map(([name, inputDrvs]) => ({ drvPath: drv(name), inputDrvs })),
      fetchPaths: 0,
      downloadBytes: 0,
      heavyThreshold: 50,
    };
    expect(heavyBuildRule(riskContext({ ...base, cost })).map((f) => f.title)).toEqual(titles);
  });
  it("flags nothing without a cost estimate", () => {
    expect(heavyBuildRule(riskContext(base))).toEqual([]);
  });
});

describe("risk rule secret", () => {
  const base = diffClosures(
    fakeClosure({ root: "nixos-system-h-1", packages: [] }),
    fakeClosure({ root: "nixos-system-h-2", packages: [] }),
  );
  const scan = (findings: SecretFinding[]): SecretScan => ({
    findings,
    newPaths: 3,
    pathsScanned: 3,
    pathsOverBudget: 0,
    filesScanned: 9,
    bytesScanned: 999,
    skippedBinary: 0,
    skippedTooLarge: 0,
    skippedOther: 0,
  });
  const app = fakeStorePath("deploy-config-1.0");
  const etc = fakeStorePath("etc");
  it.each([
    [[], []],
    [
      [{ storePath: app, file: "etc/id_ed25519", kind: "openssh-private-key" }],
      ["Secret in the store: 1 file (openssh-private-key)"],
    ],
    [
      [
        { storePath: app, file: "etc/id_ed25519", kind: "openssh-private-key" },
        { storePath: app, file: "etc/id_ed25519", kind: "github-token" },
        { storePath: etc, file: "", kind: "slack-token" },
      ],
      ["Secrets in the store: 2 files (openssh-private-key, github-token, slack-token)"],
    ],
  ] as [SecretFinding[], string[]][])("%j", (findings, titles) => {
    const flags = secretRule(riskContext({ ...base, secrets: scan(findings) }));
    expect(flags.map((f) => f.title)).toEqual(titles);
    // Names of the packages holding them, never anything of the files' contents.
    if (flags.length > 0)
      expect(flags[0]?.packages).toEqual(findings.length > 1 ? ["deploy-config", "etc"] : ["deploy-config"]);
  });
  it("flags nothing when nothing was scanned", () => {
    expect(secretRule(riskContext(base))).toEqual([]);
  });
});

describe("RISK_KINDS", () => {
  it("has one kind per rule, and every kind is a flag id some rule raises", () => {
    expect(RISK_RULES).toHaveLength(RISK_KINDS.length);
    const source = [
      rebootTriggersRule,
      kernelRule,
      initrdRule,
      kernelParamsRule,
      driverRule,
      driverRebuildRule,
      firmwareRule,
      bootloaderRule,
      systemdRule,
      glibcRule,
      nixRule,
      nixStoreSchemaRule,
      nixosReleaseRule,
      heavyBuildRule,
      secretRule,
    ];
    expect(new Set(RISK_RULES)).toEqual(new Set(source));
    expect(isRiskKind("secret")).toBe(true);
    expect(isRiskKind("secrets")).toBe(false);
  });
});
