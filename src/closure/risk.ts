/**
 * Risk flags for switching from one closure to another. Facts NixOS records in the toplevel
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
 * | nixos-release    | caution    | the NixOS release (e.g. 24.05 -> 24.11) changed                         |
 */
import { parseStorePath } from "./store-name.js";
import { splitVersion } from "./version.js";
import type { ClosureDiff, PackageChange, RiskFlag, RiskSeverity, SystemFacts } from "./model.js";

export type RiskInput = Pick<ClosureDiff, "before" | "after" | "packages">;

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

export function assessRisks(diff: RiskInput): RiskAssessment {
  const flags: RiskFlag[] = [];
  const add = (flag: RiskFlag): void => {
    flags.push(flag);
  };
  const changed = diff.packages.filter((p) => p.kind !== "unchanged");
  const byName = new Map(changed.map((p) => [p.name, p]));

  // --- NixOS's own reboot triggers, kernel, initrd, kernel parameters -------------------------
  const triggersBefore = diff.before.system?.rebootTriggers;
  const triggersAfter = diff.after.system?.rebootTriggers;
  if (triggersBefore !== undefined && triggersAfter !== undefined && triggersBefore !== triggersAfter) {
    add({
      id: "reboot-triggers",
      severity: "reboot",
      title: "Reboot triggers changed",
      reason: "The new generation's reboot triggers differ from the current one's; reboot to apply it fully.",
      packages: [],
      source: "system",
    });
  }

  const bootBefore = readBootFacts(diff.before.system);
  const bootAfter = readBootFacts(diff.after.system);
  const kernelPackages = changed.filter((p) => KERNEL_RE.test(p.name));
  const initrdPackages = changed.filter((p) => INITRD_PNAMES.has(p.name));
  const kernelVersions = new Set<string>();
  for (const v of [versionOfPath(bootBefore?.kernel), versionOfPath(bootAfter?.kernel)]) {
    if (v !== "") kernelVersions.add(v);
  }
  for (const v of [...diff.before.kernelVersions, ...diff.after.kernelVersions])
    if (v !== "") kernelVersions.add(v);

  let kernelChanged = false;
  if (bootBefore?.kernel !== undefined && bootAfter?.kernel !== undefined) {
    if (bootBefore.kernel !== bootAfter.kernel) {
      kernelChanged = true;
      const from = versionOfPath(bootBefore.kernel);
      const to = versionOfPath(bootAfter.kernel);
      add({
        id: "kernel",
        severity: "reboot",
        title: from === to ? `Kernel rebuilt (${to || "unknown version"})` : `Kernel ${from} -> ${to}`,
        reason: KERNEL_REASON,
        packages: [...kernelPackages, ...initrdPackages].map((p) => p.name),
        source: "system",
      });
    }
  } else if (kernelPackages.length > 0) {
    kernelChanged = true;
    add({
      id: "kernel",
      severity: "reboot",
      title: `Kernel: ${kernelPackages.map(describeChange).join("; ")}`,
      reason: KERNEL_REASON,
      packages: [...kernelPackages, ...initrdPackages].map((p) => p.name),
      source: "packages",
    });
  }

  if (!kernelChanged) {
    if (bootBefore?.initrd !== undefined && bootAfter?.initrd !== undefined) {
      if (bootBefore.initrd !== bootAfter.initrd) {
        add({
          id: "initrd",
          severity: "reboot",
          title: "Initrd changed",
          reason: INITRD_REASON,
          packages: initrdPackages.map((p) => p.name),
          source: "system",
        });
      }
    } else if (initrdPackages.length > 0) {
      add({
        id: "initrd",
        severity: "reboot",
        title: `Initrd: ${initrdPackages.map(describeChange).join("; ")}`,
        reason: INITRD_REASON,
        packages: initrdPackages.map((p) => p.name),
        source: "packages",
      });
    }
  }

  if (
    bootBefore?.kernelParams !== undefined &&
    bootAfter?.kernelParams !== undefined &&
    !sameList(bootBefore.kernelParams, bootAfter.kernelParams)
  ) {
    const beforeSet = new Set(bootBefore.kernelParams);
    const afterSet = new Set(bootAfter.kernelParams);
    const added = bootAfter.kernelParams.filter((p) => !beforeSet.has(p)).map((p) => `+${p}`);
    const removed = bootBefore.kernelParams.filter((p) => !afterSet.has(p)).map((p) => `-${p}`);
    const delta = [...added, ...removed];
    add({
      id: "kernel-params",
      severity: "reboot",
      title: delta.length > 0 ? `Kernel parameters: ${delta.join(" ")}` : "Kernel parameters reordered",
      reason: "Kernel parameters apply only from the next boot.",
      packages: [],
      source: "system",
    });
  }

  // --- Out-of-tree kernel modules ---------------------------------------------------------------
  const driverChanges: PackageChange[] = [];
  const driverRebuilds: PackageChange[] = [];
  for (const p of changed) {
    if (KERNEL_RE.test(p.name) || INITRD_PNAMES.has(p.name)) continue;
    const versions = [...p.before.versions, ...p.after.versions];
    const kernelSuffixed = versions.some((v) => stripKernelSuffix(v, kernelVersions) !== v);
    if (!KERNEL_MODULE_PNAMES.has(p.name) && !kernelSuffixed) continue;
    const own = (vs: readonly string[]) =>
      [...new Set(vs.map((v) => stripKernelSuffix(v, kernelVersions)))].sort();
    const ownChanged =
      p.kind === "added" || p.kind === "removed" || !sameList(own(p.before.versions), own(p.after.versions));
    (ownChanged ? driverChanges : driverRebuilds).push(p);
  }
  if (driverChanges.length > 0) {
    const zfs = driverChanges.some((p) => p.name.startsWith("zfs"));
    add({
      id: "driver",
      severity: "test-first",
      title: `Driver change: ${driverChanges.map(describeChange).join("; ")}`,
      reason:
        "Out-of-tree kernel modules changed: test first, keep the previous generation bootable." +
        (zfs ? " For ZFS, do not run `zpool upgrade` until the new generation has proven itself." : ""),
      packages: driverChanges.map((p) => p.name),
      source: "packages",
    });
  }
  if (driverRebuilds.length > 0) {
    add({
      id: "driver-rebuild",
      severity: "caution",
      title: `Driver rebuilt: ${driverRebuilds.map(describeChange).join("; ")}`,
      reason:
        "Out-of-tree kernel modules were rebuilt (e.g. for a new kernel) without a new driver version; " +
        "check them after the reboot.",
      packages: driverRebuilds.map((p) => p.name),
      source: "packages",
    });
  }

  // --- Firmware, boot loader ----------------------------------------------------------------------
  const firmware = changed.filter((p) => FIRMWARE_RE.test(p.name) && p.kind !== "rebuilt");
  if (firmware.length > 0) {
    add({
      id: "firmware",
      severity: "reboot",
      title: `Firmware: ${firmware.map(describeChange).join("; ")}`,
      reason:
        "Firmware and CPU microcode are loaded at boot or when a driver initialises; reboot to use them.",
      packages: firmware.map((p) => p.name),
      source: "packages",
    });
  }

  const bootloader = changed.filter(
    (p) =>
      BOOTLOADER_PNAMES.has(p.name) ||
      (BOOTLOADER_INSTALLER_PNAMES.has(p.name) && (p.kind === "added" || p.kind === "removed")),
  );
  if (bootloader.length > 0) {
    add({
      id: "bootloader",
      severity: "reboot",
      title: `Boot loader: ${bootloader.map(describeChange).join("; ")}`,
      reason:
        "The boot loader is reinstalled on switch; reboot while the previous generation is still in the " +
        "boot menu to confirm the machine still boots.",
      packages: bootloader.map((p) => p.name),
      source: "packages",
    });
  }

  // --- systemd, glibc -----------------------------------------------------------------------------
  const systemd = byName.get("systemd");
  if (systemd && isVersionChange(systemd)) {
    add({
      id: "systemd",
      severity: "reboot",
      title: `systemd ${showVersions(systemd.before.versions)} -> ${showVersions(systemd.after.versions)}`,
      reason:
        "systemd re-executes itself on switch, but a reboot is recommended; with systemd-boot, " +
        "the boot loader is updated too.",
      packages: ["systemd"],
      source: "packages",
    });
  }
  const glibc = byName.get("glibc");
  if (glibc && isVersionChange(glibc)) {
    add({
      id: "glibc",
      severity: "reboot",
      title: `glibc ${showVersions(glibc.before.versions)} -> ${showVersions(glibc.after.versions)}`,
      reason: "Running services keep the old glibc until they restart; a reboot is recommended.",
      packages: ["glibc"],
      source: "packages",
    });
  }

  // --- Nix / Lix ----------------------------------------------------------------------------------
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
  if (implementationSwitch || minorBump.length > 0) {
    const shown = implementationSwitch ? nixChanges : minorBump;
    add({
      id: "nix",
      severity: "caution",
      title: `${implementationSwitch ? "Nix implementation" : "Nix"}: ${shown.map(describeChange).join("; ")}`,
      reason:
        "The store database may be migrated and an older Nix may not read it; rolling back the " +
        "system does not roll back the database.",
      packages: shown.map((p) => p.name),
      source: "packages",
    });
  }

  // --- NixOS release ------------------------------------------------------------------------------
  const releaseBefore = majorMinor(diff.before.system?.nixosVersion ?? nixosRootVersion(diff.before));
  const releaseAfter = majorMinor(diff.after.system?.nixosVersion ?? nixosRootVersion(diff.after));
  if (releaseBefore !== "" && releaseAfter !== "" && releaseBefore !== releaseAfter) {
    const fromFacts =
      diff.before.system?.nixosVersion !== undefined && diff.after.system?.nixosVersion !== undefined;
    add({
      id: "nixos-release",
      severity: "caution",
      title: `NixOS ${releaseBefore} -> ${releaseAfter}`,
      reason:
        "A release switch: read the release notes. Services may migrate their state on first start, " +
        "and a rollback does not undo that.",
      packages: [],
      source: fromFacts ? "system" : "packages",
    });
  }

  const risks = SEVERITY_ORDER.flatMap((s) => flags.filter((f) => f.severity === s));
  return { risks, needsReboot: risks.some((f) => f.severity === "reboot") };
}

/** The root's version when the root is a NixOS toplevel (`nixos-system-<host>-<version>`). */
function nixosRootVersion(side: RiskInput["before"]): string {
  return side.rootName.startsWith("nixos-system-") ? side.rootVersion : "";
}

const KERNEL_REASON =
  "The new kernel, its modules and initrd are used only after a reboot; until then, loading a module " +
  "the running kernel has not loaded yet can fail.";
const INITRD_REASON = "The initrd is used only at boot; reboot to run (and test) the new one.";
