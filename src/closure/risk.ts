/**
 * Risk flags for switching from one closure to another, as a list of small pure rules
 * ({@link RISK_RULES}, one per row below; a new kind is a new rule with its own table tests in
 * risk-rules.test.ts). Facts NixOS records in the toplevel
 * (`kernel`, `initrd`, `kernel-params`, `boot.json`, `nixos-version`) win over guesses from package
 * names; names are the fallback when a side has no such facts.
 *
 * | id               | severity   | when                                                                   |
 * |------------------|------------|------------------------------------------------------------------------|
 * | reboot-triggers  | reboot     | both sides have `rebootTriggers` and they differ                        |
 * | kernel           | reboot     | kernel path differs (facts) / `linux` package changed (names)           |
 * | initrd           | reboot     | initrd differs while the kernel does not                                |
 * | kernel-params    | reboot     | kernel parameters differ (facts only)                                   |
 * | driver           | test-first | an out-of-tree kernel module's own version changed, or it was added/removed |
 * | driver-rebuild   | caution    | an out-of-tree module only followed a kernel change or was rebuilt      |
 * | firmware         | reboot     | a firmware or CPU microcode package's version changed (rebuilds ignored) |
 * | bootloader       | reboot     | a boot loader changed, or the boot loader installer was swapped         |
 * | systemd          | reboot     | systemd's version changed                                               |
 * | glibc            | reboot     | glibc's version changed                                                 |
 * | nix              | caution    | Nix/Lix major or minor version changed, or Nix <-> Lix                  |
 * | nix-store-schema | caution    | Nix moves across a store database schema change (e.g. 2.3 -> 2.24):     |
 * |                  |            | irreversible, the older Nix cannot open the store afterwards            |
 * | nixos-release    | caution    | the NixOS release (e.g. 24.05 -> 24.11) changed                         |
 * | heavy-build      | caution    | plan: a kernel, GPU driver, browser, toolchain… or any derivation with  |
 * |                  |            | many inputs is in no binary cache and will be compiled locally          |
 * | secret           | caution    | a new store path holds a private key or token (secrets.ts), which every |
 * |                  |            | user of the host can read                                               |
 */
import { storeSchemaChangesBetween, type NixRelease } from "../nix/store-schema.js";
import { parseStorePath } from "./store-name.js";
import { compareVersions, splitVersion } from "./version.js";
import type { BuildCost, ClosureDiff, PackageChange, RiskFlag, RiskSeverity, SystemFacts } from "./model.js";
import { SECRET_KINDS } from "./secrets.js";

export type RiskInput = Pick<ClosureDiff, "before" | "after" | "packages" | "secrets"> & {
  /** What building the after side costs here (plan only). */
  cost?: BuildCost | undefined;
};

/** Every risk id a rule can raise, for validating `--fail-on` (risk-rules.test.ts keeps it complete). */
export const RISK_KINDS = [
  "reboot-triggers",
  "kernel",
  "initrd",
  "kernel-params",
  "driver",
  "driver-rebuild",
  "firmware",
  "bootloader",
  "systemd",
  "glibc",
  "nix",
  "nix-store-schema",
  "nixos-release",
  "heavy-build",
  "secret",
] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export function isRiskKind(id: string): id is RiskKind {
  return (RISK_KINDS as readonly string[]).includes(id);
}

export interface RiskAssessment {
  /** Most severe first; flags of equal severity keep rule order. */
  risks: RiskFlag[];
  needsReboot: boolean;
}

const SEVERITY_ORDER: readonly RiskSeverity[] = ["reboot", "test-first", "caution", "info"];

/** Kernel packages: `linux` and the variant names nixpkgs gives some kernels. */
const KERNEL_RE = /^linux(?:[-_](?:rt|libre|zen|xanmod|lqx|hardened|cachyos|ck))?$/;

export function isKernelPname(pname: string): boolean {
  return KERNEL_RE.test(pname);
}
const INITRD_PNAMES = new Set(["initrd", "initrd-linux"]);

/**
 * Out-of-tree kernel modules known by name. Any package whose version ends in `-<kernel version>`
 * (nixpkgs names them `${pname}-${version}-${kernel.version}`) counts as one too.
 */
export const KERNEL_MODULE_PNAMES: ReadonlySet<string> = new Set([
  "nvidia-x11",
  "nvidia-open",
  "amdgpu-pro",
  "zfs-kernel",
  "virtualbox-modules",
  "virtualboxGuestAdditions",
  "vmware-modules",
  "v4l2loopback",
  "acpi-call",
  "akvcam",
  "apfs",
  "bbswitch",
  "broadcom-sta",
  "ddcci-driver",
  "evdi",
  "facetimehd",
  "it87",
  "kvmfr",
  "lkrg",
  "nct6687d",
  "openrazer",
  "r8125",
  "r8168",
  "rtl8812au",
  "rtl8821au",
  "rtl8821ce",
  "rtl88x2bu",
  "tp-smapi",
  "vhba",
  "xone",
  "xpadneo",
  "zenpower",
]);

const FIRMWARE_RE = /(?:^|-)firmware$|^microcode-(?:intel|amd)$|^(?:amd|intel)-ucode$/i;

/** Boot loaders whose binaries NixOS installs into the ESP or MBR on switch. */
const BOOTLOADER_PNAMES = new Set(["grub", "limine", "refind", "syslinux", "shim", "lanzaboote", "lzbt"]);
/** NixOS's boot loader installers; one appearing or disappearing means the boot loader was swapped. */
const BOOTLOADER_INSTALLER_PNAMES = new Set([
  "install-grub.sh",
  "install-grub.pl",
  "systemd-boot",
  "install-systemd-boot.sh",
  "extlinux-conf-builder.sh",
  "limine-install",
  "refind-install",
]);

/**
 * The bootspec v1 fields the risk rules read (RFC 125), checked by hand: this runs on every `diff`
 * and zod's import alone would cost more than the whole diff.
 */
function bootspecV1(json: unknown): { kernel: string; initrd?: string; kernelParams?: string[] } | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const v1: unknown = (json as Record<string, unknown>)["org.nixos.bootspec.v1"];
  if (typeof v1 !== "object" || v1 === null) return undefined;
  const { kernel, initrd, kernelParams } = v1 as Record<string, unknown>;
  if (typeof kernel !== "string") return undefined;
  if (initrd !== undefined && typeof initrd !== "string") return undefined;
  if (
    kernelParams !== undefined &&
    !(Array.isArray(kernelParams) && kernelParams.every((p) => typeof p === "string"))
  ) {
    return undefined;
  }
  return {
    kernel,
    ...(initrd === undefined ? {} : { initrd }),
    ...(kernelParams === undefined ? {} : { kernelParams: kernelParams }),
  };
}

interface BootFacts {
  kernel?: string;
  initrd?: string;
  kernelParams?: string[];
}

/** Kernel, initrd and parameters from `boot.json` where it parses, else from the toplevel's files. */
export function readBootFacts(system: SystemFacts | undefined): BootFacts | undefined {
  if (!system) return undefined;
  const facts: BootFacts = {};
  const v1 = bootspecV1(system.bootJson);
  const kernel = v1?.kernel ?? system.kernel;
  const initrd = v1?.initrd ?? system.initrd;
  const params = v1?.kernelParams ?? system.kernelParams?.split(/\s+/);
  if (kernel !== undefined) facts.kernel = kernel;
  if (initrd !== undefined) facts.initrd = initrd;
  // `init=` names the generation's own toplevel, so it differs between any two generations and says
  // nothing about the kernel; boot loaders add it themselves (bootspec keeps it in `init`).
  if (params !== undefined) facts.kernelParams = params.filter((p) => p !== "" && !p.startsWith("init="));
  return Object.keys(facts).length > 0 ? facts : undefined;
}

function versionOfPath(path: string | undefined): string {
  return (path !== undefined ? parseStorePath(path)?.version : undefined) ?? "";
}

function isVersionChange(p: PackageChange): boolean {
  return p.kind === "upgraded" || p.kind === "downgraded" || p.kind === "changed";
}

function showVersions(versions: readonly string[]): string {
  return versions.length === 0 ? "(none)" : versions.map((v) => (v === "" ? "<none>" : v)).join(", ");
}

/** `name 1.0 -> 1.1`, `name added (1.1)`, `name removed (1.0)`, `name rebuilt (1.0)`. */
export function describeChange(p: PackageChange): string {
  switch (p.kind) {
    case "added":
      return `${p.name} added (${showVersions(p.after.versions)})`;
    case "removed":
      return `${p.name} removed (${showVersions(p.before.versions)})`;
    case "rebuilt":
    case "unchanged":
      return `${p.name} rebuilt (${showVersions(p.after.versions)})`;
    case "upgraded":
    case "downgraded":
    case "changed":
      return `${p.name} ${showVersions(p.before.versions)} -> ${showVersions(p.after.versions)}`;
  }
}

/** `major.minor` of a version (`2.24.10` → `2.24`), or the whole version when it has fewer parts. */
function majorMinor(version: string): string {
  return splitVersion(version).slice(0, 2).join(".");
}

function stripKernelSuffix(version: string, kernelVersions: ReadonlySet<string>): string {
  for (const kv of kernelVersions) {
    if (kv !== "" && version.endsWith(`-${kv}`) && version.length > kv.length + 1) {
      return version.slice(0, -(kv.length + 1));
    }
  }
  return version;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What every rule may read: the changed packages and the facts both sides' toplevels record. */
export interface RiskContext {
  diff: RiskInput;
  /** Packages that are not `unchanged`. */
  changed: PackageChange[];
  byName: ReadonlyMap<string, PackageChange>;
  bootBefore: BootFacts | undefined;
  bootAfter: BootFacts | undefined;
  /** Changed kernel packages (`linux`, …). */
  kernelPackages: PackageChange[];
  /** Changed initrd packages. */
  initrdPackages: PackageChange[];
  /** Every kernel version either side mentions, for telling a driver's own version from its kernel's. */
  kernelVersions: ReadonlySet<string>;
}

/** One risk kind: a pure function from the diff to its flags (usually none or one). */
export type RiskRule = (ctx: RiskContext) => RiskFlag[];

export function riskContext(diff: RiskInput): RiskContext {
  const changed = diff.packages.filter((p) => p.kind !== "unchanged");
  const bootBefore = readBootFacts(diff.before.system);
  const bootAfter = readBootFacts(diff.after.system);
  const kernelVersions = new Set<string>();
  for (const v of [versionOfPath(bootBefore?.kernel), versionOfPath(bootAfter?.kernel)]) {
    if (v !== "") kernelVersions.add(v);
  }
  for (const v of [...diff.before.kernelVersions, ...diff.after.kernelVersions])
    if (v !== "") kernelVersions.add(v);
  return {
    diff,
    changed,
    byName: new Map(changed.map((p) => [p.name, p])),
    bootBefore,
    bootAfter,
    kernelPackages: changed.filter((p) => KERNEL_RE.test(p.name)),
    initrdPackages: changed.filter((p) => INITRD_PNAMES.has(p.name)),
    kernelVersions,
  };
}

/** NixOS's own reboot triggers differ. */
export const rebootTriggersRule: RiskRule = ({ diff }) => {
  const before = diff.before.system?.rebootTriggers;
  const after = diff.after.system?.rebootTriggers;
  if (before === undefined || after === undefined || before === after) return [];
  return [
    {
      id: "reboot-triggers",
      severity: "reboot",
      title: "Reboot triggers changed",
      reason: "The new generation's reboot triggers differ from the current one's; reboot to apply it fully.",
      packages: [],
      source: "system",
    },
  ];
};

/** The booted kernel changed (toplevel facts), or a kernel package did (names). */
export const kernelRule: RiskRule = ({ bootBefore, bootAfter, kernelPackages, initrdPackages }) => {
  const packages = [...kernelPackages, ...initrdPackages].map((p) => p.name);
  if (bootBefore?.kernel !== undefined && bootAfter?.kernel !== undefined) {
    if (bootBefore.kernel === bootAfter.kernel) return [];
    const from = versionOfPath(bootBefore.kernel);
    const to = versionOfPath(bootAfter.kernel);
    return [
      {
        id: "kernel",
        severity: "reboot",
        title: from === to ? `Kernel rebuilt (${to || "unknown version"})` : `Kernel ${from} -> ${to}`,
        reason: KERNEL_REASON,
        packages,
        source: "system",
      },
    ];
  }
  if (kernelPackages.length === 0) return [];
  return [
    {
      id: "kernel",
      severity: "reboot",
      title: `Kernel: ${kernelPackages.map(describeChange).join("; ")}`,
      reason: KERNEL_REASON,
      packages,
      source: "packages",
    },
  ];
};

/** The initrd changed while the kernel did not (a kernel change already covers its initrd). */
export const initrdRule: RiskRule = (ctx) => {
  if (kernelRule(ctx).length > 0) return [];
  const { bootBefore, bootAfter, initrdPackages } = ctx;
  const packages = initrdPackages.map((p) => p.name);
  if (bootBefore?.initrd !== undefined && bootAfter?.initrd !== undefined) {
    if (bootBefore.initrd === bootAfter.initrd) return [];
    return [
      {
        id: "initrd",
        severity: "reboot",
        title: "Initrd changed",
        reason: INITRD_REASON,
        packages,
        source: "system",
      },
    ];
  }
  if (initrdPackages.length === 0) return [];
  return [
    {
      id: "initrd",
      severity: "reboot",
      title: `Initrd: ${initrdPackages.map(describeChange).join("; ")}`,
      reason: INITRD_REASON,
      packages,
      source: "packages",
    },
  ];
};

/** Kernel parameters differ (toplevel facts only). */
export const kernelParamsRule: RiskRule = ({ bootBefore, bootAfter }) => {
  const before = bootBefore?.kernelParams;
  const after = bootAfter?.kernelParams;
  if (before === undefined || after === undefined || sameList(before, after)) return [];
  const beforeSet = new Set(before);
  const afterSet = new Set(after);
  const delta = [
    ...after.filter((p) => !beforeSet.has(p)).map((p) => `+${p}`),
    ...before.filter((p) => !afterSet.has(p)).map((p) => `-${p}`),
  ];
  return [
    {
      id: "kernel-params",
      severity: "reboot",
      title: delta.length > 0 ? `Kernel parameters: ${delta.join(" ")}` : "Kernel parameters reordered",
      reason: "Kernel parameters apply only from the next boot.",
      packages: [],
      source: "system",
    },
  ];
};

/**
 * Out-of-tree kernel modules that changed, split by whether their own version changed (or they came
 * or went) or they only followed the kernel.
 */
function classifyDrivers({ changed, kernelVersions }: RiskContext): {
  changes: PackageChange[];
  rebuilds: PackageChange[];
} {
  const changes: PackageChange[] = [];
  const rebuilds: PackageChange[] = [];
  for (const p of changed) {
    if (KERNEL_RE.test(p.name) || INITRD_PNAMES.has(p.name)) continue;
    const versions = [...p.before.versions, ...p.after.versions];
    const kernelSuffixed = versions.some((v) => stripKernelSuffix(v, kernelVersions) !== v);
    if (!KERNEL_MODULE_PNAMES.has(p.name) && !kernelSuffixed) continue;
    const own = (vs: readonly string[]) =>
      [...new Set(vs.map((v) => stripKernelSuffix(v, kernelVersions)))].sort();
    const ownChanged =
      p.kind === "added" || p.kind === "removed" || !sameList(own(p.before.versions), own(p.after.versions));
    (ownChanged ? changes : rebuilds).push(p);
  }
  return { changes, rebuilds };
}

/** An out-of-tree module's own version changed, or it was added or removed. */
export const driverRule: RiskRule = (ctx) => {
  const { changes } = classifyDrivers(ctx);
  if (changes.length === 0) return [];
  const zfs = changes.some((p) => p.name.startsWith("zfs"));
  return [
    {
      id: "driver",
      severity: "test-first",
      title: `Driver change: ${changes.map(describeChange).join("; ")}`,
      reason:
        "Out-of-tree kernel modules changed: test first (`ternix vm` boots the new system in a throwaway VM), keep the previous generation bootable." +
        (zfs ? " For ZFS, do not run `zpool upgrade` until the new generation has proven itself." : ""),
      packages: changes.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** An out-of-tree module was only rebuilt, e.g. for a new kernel. */
export const driverRebuildRule: RiskRule = (ctx) => {
  const { rebuilds } = classifyDrivers(ctx);
  if (rebuilds.length === 0) return [];
  return [
    {
      id: "driver-rebuild",
      severity: "caution",
      title: `Driver rebuilt: ${rebuilds.map(describeChange).join("; ")}`,
      reason:
        "Out-of-tree kernel modules were rebuilt (e.g. for a new kernel) without a new driver version; " +
        "check them after the reboot.",
      packages: rebuilds.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** Firmware or CPU microcode changed version (rebuilds ignored). */
export const firmwareRule: RiskRule = ({ changed }) => {
  const firmware = changed.filter((p) => FIRMWARE_RE.test(p.name) && p.kind !== "rebuilt");
  if (firmware.length === 0) return [];
  return [
    {
      id: "firmware",
      severity: "reboot",
      title: `Firmware: ${firmware.map(describeChange).join("; ")}`,
      reason:
        "Firmware and CPU microcode are loaded at boot or when a driver initialises; reboot to use them.",
      packages: firmware.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** A boot loader changed, or its installer was swapped. */
export const bootloaderRule: RiskRule = ({ changed }) => {
  const bootloader = changed.filter(
    (p) =>
      BOOTLOADER_PNAMES.has(p.name) ||
      (BOOTLOADER_INSTALLER_PNAMES.has(p.name) && (p.kind === "added" || p.kind === "removed")),
  );
  if (bootloader.length === 0) return [];
  return [
    {
      id: "bootloader",
      severity: "reboot",
      title: `Boot loader: ${bootloader.map(describeChange).join("; ")}`,
      reason:
        "The boot loader is reinstalled on switch; reboot while the previous generation is still in the " +
        "boot menu to confirm the machine still boots.",
      packages: bootloader.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** A flag when the named package's version changed. */
function versionChangeRule(name: string, reason: string): RiskRule {
  return ({ byName }) => {
    const p = byName.get(name);
    if (!p || !isVersionChange(p)) return [];
    return [
      {
        id: name,
        severity: "reboot",
        title: `${name} ${showVersions(p.before.versions)} -> ${showVersions(p.after.versions)}`,
        reason,
        packages: [name],
        source: "packages",
      },
    ];
  };
}

export const systemdRule: RiskRule = versionChangeRule(
  "systemd",
  "systemd re-executes itself on switch, but a reboot is recommended; with systemd-boot, " +
    "the boot loader is updated too.",
);

export const glibcRule: RiskRule = versionChangeRule(
  "glibc",
  "Running services keep the old glibc until they restart; a reboot is recommended.",
);

/** Nix or Lix changed major/minor version, or one replaced the other. */
export const nixRule: RiskRule = ({ byName }) => {
  const nixChanges = ["nix", "lix"]
    .map((name) => byName.get(name))
    .filter((p): p is PackageChange => p !== undefined && p.kind !== "rebuilt");
  const implementationSwitch =
    nixChanges.some((p) => p.kind === "added") && nixChanges.some((p) => p.kind === "removed");
  const minorBump = nixChanges.filter((p) => {
    if (!isVersionChange(p)) return false;
    const from = new Set(p.before.versions.map(majorMinor));
    return p.after.versions.some((v) => !from.has(majorMinor(v)));
  });
  if (!implementationSwitch && minorBump.length === 0) return [];
  const shown = implementationSwitch ? nixChanges : minorBump;
  return [
    {
      id: "nix",
      severity: "caution",
      title: `${implementationSwitch ? "Nix implementation" : "Nix"}: ${shown.map(describeChange).join("; ")}`,
      reason:
        "The store database may be migrated and an older Nix may not read it; rolling back the " +
        "system does not roll back the database.",
      packages: shown.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** The newest Nix or Lix on one side of the changed packages. */
function nixReleaseOf(changes: readonly PackageChange[], side: "before" | "after"): NixRelease | undefined {
  let newest: NixRelease | undefined;
  for (const p of changes) {
    const implementation = p.name === "lix" ? "lix" : "nix";
    for (const version of p[side].versions) {
      if (version === "") continue;
      if (newest === undefined || compareVersions(version, newest.version) > 0)
        newest = { implementation, version };
    }
  }
  return newest;
}

/**
 * Nix moves across a change of the store database (see src/nix/store-schema.ts): the new Nix
 * migrates the database when it first opens it, and rolling the system back does not undo that.
 */
export const nixStoreSchemaRule: RiskRule = ({ byName }) => {
  const changes = ["nix", "lix"]
    .map((name) => byName.get(name))
    .filter((p): p is PackageChange => p !== undefined && p.kind !== "rebuilt");
  const before = nixReleaseOf(changes, "before");
  const after = nixReleaseOf(changes, "after");
  if (before === undefined || after === undefined) return [];
  const crossed = storeSchemaChangesBetween(before, after);
  if (crossed.length === 0) return [];
  const up =
    compareVersions(
      before.implementation === "lix" ? "2.18" : before.version,
      after.implementation === "lix" ? "2.18" : after.version,
    ) < 0;
  const show = (r: NixRelease) => `${r.implementation} ${r.version}`;
  return [
    {
      id: "nix-store-schema",
      severity: "caution",
      title: `Nix store schema change: ${show(before)} -> ${show(after)} crosses ${crossed
        .map((c) => `${c.change} (Nix ${c.since})`)
        .join("; ")}`,
      reason: up
        ? "The new Nix upgrades the store database when it first opens it; that cannot be undone, and " +
          `${show(before)} cannot use the store afterwards (going back to the old system or channel is no way back).`
        : `${show(after)} is older than the Nix that migrated this store's database; it may refuse to open it.`,
      packages: changes.map((p) => p.name),
      source: "packages",
    },
  ];
};

/** The NixOS release (e.g. 24.05 -> 24.11) changed. */
export const nixosReleaseRule: RiskRule = ({ diff }) => {
  const releaseBefore = majorMinor(diff.before.system?.nixosVersion ?? nixosRootVersion(diff.before));
  const releaseAfter = majorMinor(diff.after.system?.nixosVersion ?? nixosRootVersion(diff.after));
  if (releaseBefore === "" || releaseAfter === "" || releaseBefore === releaseAfter) return [];
  const fromFacts =
    diff.before.system?.nixosVersion !== undefined && diff.after.system?.nixosVersion !== undefined;
  return [
    {
      id: "nixos-release",
      severity: "caution",
      title: `NixOS ${releaseBefore} -> ${releaseAfter}`,
      reason:
        "A release switch: read the release notes. Services may migrate their state on first start, " +
        "and a rollback does not undo that.",
      packages: [],
      source: fromFacts ? "system" : "packages",
    },
  ];
};

/** Packages whose local build takes long (kernels, GPU drivers, browsers, toolchains, office suites). */
const HEAVY_BUILD_RE =
  /^(?:nvidia-(?:x11|open)|zfs-kernel|firefox(?:-unwrapped)?|chromium(?:-unwrapped)?|thunderbird(?:-unwrapped)?|librewolf|electron|qtwebengine|webkitgtk|libreoffice|llvm|clang|gcc|rustc|ghc|nodejs|mesa|ceph|tensorflow|pytorch|python\d*[.-]?\d*-?torch)$/;

/** `nix build --dry-run` found heavy derivations that no substituter has: they compile here. */
export const heavyBuildRule: RiskRule = ({ diff }) => {
  const cost = diff.cost;
  if (!cost) return [];
  // One name per package: a kernel's `-modules` and `-modules-shrunk` are part of the kernel's build.
  const byPname = new Map<string, string>();
  for (const b of cost.toBuild) {
    const name = b.drvPath.replace(/^.*\/[0-9a-z]{32}-/, "").replace(/\.drv$/, "");
    const pname = parseStorePath(b.drvPath.replace(/\.drv$/, ""))?.pname ?? name;
    const heavy = KERNEL_RE.test(pname) || HEAVY_BUILD_RE.test(pname) || b.inputDrvs >= cost.heavyThreshold;
    const seen = byPname.get(pname);
    if (heavy && (seen === undefined || name.length < seen.length)) byPname.set(pname, name);
  }
  const names = [...byPname.values()].sort();
  if (names.length === 0) return [];
  return [
    {
      id: "heavy-build",
      severity: "caution",
      title:
        names.length === 1
          ? `${names[0]} is not in any binary cache: it will be compiled on this machine`
          : `${names.length} heavy builds are not in any binary cache: ${names.join(", ")} will be compiled on this machine`,
      reason:
        "No configured substituter has them, so the build runs here and can take long; push them to a " +
        "binary cache, or expect the wait.",
      packages: names,
      source: "packages",
    },
  ];
};

/**
 * A new store path holds a private key or token. The title names kinds and counts only; where
 * they are is in `diff.secrets.findings` (store path, file, kind), and what they are is nowhere.
 */
export const secretRule: RiskRule = ({ diff }) => {
  const findings = diff.secrets?.findings ?? [];
  if (findings.length === 0) return [];
  const kinds = SECRET_KINDS.filter((k) => findings.some((f) => f.kind === k));
  const files = new Set(findings.map((f) => `${f.storePath}/${f.file}`)).size;
  const names = [
    ...new Set(findings.map((f) => parseStorePath(f.storePath)?.pname ?? f.storePath.replace(/^.*\//, ""))),
  ].sort();
  return [
    {
      id: "secret",
      severity: "caution",
      title: `Secret${files === 1 ? "" : "s"} in the store: ${files} file${files === 1 ? "" : "s"} (${kinds.join(", ")})`,
      reason:
        "The Nix store is readable by every user of the host (and by anyone it is copied to): move the " +
        "secret out of the configuration (e.g. agenix or sops-nix) and rotate it.",
      packages: names,
      source: "packages",
    },
  ];
};

/** Every rule, in the order flags of equal severity are listed. */
export const RISK_RULES: readonly RiskRule[] = [
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

/** Run the rules over a diff; flags most severe first. */
export function assessRisks(diff: RiskInput, rules: readonly RiskRule[] = RISK_RULES): RiskAssessment {
  const ctx = riskContext(diff);
  const flags = rules.flatMap((rule) => rule(ctx));
  const risks = SEVERITY_ORDER.flatMap((s) => flags.filter((f) => f.severity === s));
  return { risks, needsReboot: risks.some((f) => f.severity === "reboot") };
}

/** The root's version when the root is a NixOS toplevel (`nixos-system-<host>-<version>`). */
function nixosRootVersion(side: RiskInput["before"]): string {
  return side.rootName.startsWith("nixos-system-") ? side.rootVersion : "";
}

const KERNEL_REASON =
  "The new kernel, its modules and initrd are used only after a reboot; until then, loading a module " +
  "the running kernel has not loaded yet can fail. Test first: `ternix vm`.";
const INITRD_REASON = "The initrd is used only at boot; reboot to run (and test) the new one.";
