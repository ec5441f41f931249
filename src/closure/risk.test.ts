import { describe, expect, it } from "vitest";
import { diffClosures } from "./diff.js";
import { assessRisks, readBootFacts } from "./risk.js";
import { fakeClosure, fakeStorePath, type FakePackage } from "./testing.js";
import type { SystemFacts } from "./model.js";

const ROOT_BEFORE = "nixos-system-web-24.11.20241201.1e3deb3";
const ROOT_AFTER = "nixos-system-web-24.11.20241215.a1b2c3d";
const BASE = ["bash-5.2p37", "coreutils-9.5", "xz-5.6.3"];

function risks(
  before: (string | FakePackage)[],
  after: (string | FakePackage)[],
  facts: { before?: SystemFacts; after?: SystemFacts; roots?: [string, string] } = {},
) {
  const [rootBefore, rootAfter] = facts.roots ?? [ROOT_BEFORE, ROOT_AFTER];
  const diff = diffClosures(
    fakeClosure({
      root: rootBefore,
      packages: [...BASE, ...before],
      ...(facts.before ? { system: facts.before } : {}),
    }),
    fakeClosure({
      root: rootAfter,
      packages: [...BASE, ...after],
      ...(facts.after ? { system: facts.after } : {}),
    }),
  );
  return diff;
}

function ids(diff: ReturnType<typeof risks>): string[] {
  return diff.risks.map((r) => `${r.severity}:${r.id}`);
}

describe("assessRisks from package names", () => {
  it("flags nothing for an ordinary update", () => {
    const diff = risks(["firefox-132.0", "curl-8.10.1"], ["firefox-133.0", "curl-8.11.0"]);
    expect(diff.risks).toEqual([]);
    expect(diff.needsReboot).toBe(false);
  });

  it("flags a kernel update with its modules and initrd as one reboot", () => {
    const diff = risks(
      ["linux-6.6.63", "linux-6.6.63-modules", "linux-6.6.63-modules-shrunk", "initrd-linux-6.6.63"],
      ["linux-6.6.64", "linux-6.6.64-modules", "linux-6.6.64-modules-shrunk", "initrd-linux-6.6.64"],
    );
    expect(ids(diff)).toEqual(["reboot:kernel"]);
    expect(diff.risks[0]).toMatchObject({
      title: "Kernel: linux 6.6.63 -> 6.6.64",
      packages: ["linux", "initrd-linux"],
      source: "packages",
    });
    expect(diff.needsReboot).toBe(true);
  });

  it("flags an initrd change without a kernel change", () => {
    const diff = risks(
      [{ name: "initrd-linux-6.6.63", build: "a" }],
      [{ name: "initrd-linux-6.6.63", build: "b" }],
    );
    expect(ids(diff)).toEqual(["reboot:initrd"]);
    expect(diff.risks[0]?.title).toBe("Initrd: initrd-linux rebuilt (6.6.63)");
  });

  it("flags a driver version change as test-first and a kernel-only module rebuild as caution", () => {
    const diff = risks(
      [
        "linux-6.6.63",
        "nvidia-x11-550.135-6.6.63",
        "nvidia-x11-550.135-6.6.63-bin",
        "zfs-kernel-2.2.7-6.6.63",
      ],
      [
        "linux-6.6.64",
        "nvidia-x11-550.142-6.6.64",
        "nvidia-x11-550.142-6.6.64-bin",
        "zfs-kernel-2.2.7-6.6.64",
      ],
    );
    expect(ids(diff)).toEqual(["reboot:kernel", "test-first:driver", "caution:driver-rebuild"]);
    expect(diff.risks[1]).toMatchObject({
      title: "Driver change: nvidia-x11 550.135-6.6.63 -> 550.142-6.6.64",
      packages: ["nvidia-x11"],
    });
    expect(diff.risks[1]?.reason).toContain("keep the previous generation bootable");
    expect(diff.risks[2]?.packages).toEqual(["zfs-kernel"]);
  });

  it("recognises out-of-tree modules by their kernel-suffixed version", () => {
    const diff = risks(
      ["linux-6.6.63", "system76-acpi-module-1.0.1-6.6.63", "x86_energy_perf_policy-6.6.63"],
      ["linux-6.6.63", "system76-acpi-module-1.0.2-6.6.63", "x86_energy_perf_policy-6.6.63"],
    );
    expect(ids(diff)).toEqual(["test-first:driver"]);
  });

  it("adds a ZFS note to a ZFS driver change", () => {
    const diff = risks(
      ["linux-6.6.63", "zfs-kernel-2.2.6-6.6.63"],
      ["linux-6.6.63", "zfs-kernel-2.2.7-6.6.63"],
    );
    expect(diff.risks[0]?.reason).toContain("zpool upgrade");
  });

  it("flags a newly added GPU driver", () => {
    const diff = risks([], ["nvidia-open-565.77"]);
    expect(ids(diff)).toEqual(["test-first:driver"]);
    expect(diff.risks[0]?.title).toBe("Driver change: nvidia-open added (565.77)");
  });

  it.each([
    ["linux-firmware-20241110-zstd", "linux-firmware-20241210-zstd"],
    ["sof-firmware-2024.09", "sof-firmware-2024.09.2"],
    ["microcode-intel-20240910", "microcode-intel-20241112"],
  ])("flags firmware %s -> %s", (from, to) => {
    expect(ids(risks([from], [to]))).toEqual(["reboot:firmware"]);
  });

  it("ignores firmware that was only rebuilt", () => {
    expect(ids(risks([{ name: "firmware", build: "1" }], [{ name: "firmware", build: "2" }]))).toEqual([]);
  });

  it("flags boot loader updates and a boot loader swap", () => {
    expect(ids(risks(["grub-2.12"], ["grub-2.12.1"]))).toEqual(["reboot:bootloader"]);
    expect(ids(risks(["install-grub.sh"], ["systemd-boot"]))).toEqual(["reboot:bootloader"]);
    expect(
      ids(risks([{ name: "systemd-boot", build: "1" }], [{ name: "systemd-boot", build: "2" }])),
    ).toEqual([]);
  });

  it("flags systemd and glibc version changes, not their rebuilds", () => {
    expect(ids(risks(["systemd-256.8"], ["systemd-256.10"]))).toEqual(["reboot:systemd"]);
    expect(
      ids(risks(["glibc-2.40-36", "glibc-2.40-36-bin"], ["glibc-2.40-44", "glibc-2.40-44-bin"])),
    ).toEqual(["reboot:glibc"]);
    expect(
      ids(risks([{ name: "systemd-256.8", build: "a" }], [{ name: "systemd-256.8", build: "b" }])),
    ).toEqual([]);
  });

  it("flags Nix minor and major updates and a Nix/Lix switch, not patch releases", () => {
    expect(ids(risks(["nix-2.18.9"], ["nix-2.24.10"]))).toEqual(["caution:nix"]);
    expect(ids(risks(["nix-2.24.9"], ["nix-2.24.10"]))).toEqual([]);
    expect(ids(risks(["lix-2.90.0"], ["lix-2.91.1"]))).toEqual(["caution:nix"]);
    const swap = risks(["nix-2.24.10"], ["lix-2.91.1"]);
    expect(ids(swap)).toEqual(["caution:nix"]);
    expect(swap.risks[0]?.title).toBe("Nix implementation: nix removed (2.24.10); lix added (2.91.1)");
    expect(swap.risks[0]?.reason).toContain("an older Nix may not read it");
  });

  it("flags a NixOS release switch from the root names", () => {
    const diff = risks([], [], {
      roots: ["nixos-system-web-24.05.20241201.1e3deb3", "nixos-system-web-24.11.20241215.a1b2c3d"],
    });
    expect(ids(diff)).toEqual(["caution:nixos-release"]);
    expect(diff.risks[0]?.title).toBe("NixOS 24.05 -> 24.11");
  });

  it("orders flags by severity", () => {
    const diff = risks(
      ["nix-2.18.9", "nvidia-x11-550.135", "linux-6.6.63"],
      ["nix-2.24.10", "nvidia-x11-550.142", "linux-6.6.64"],
    );
    expect(ids(diff)).toEqual(["reboot:kernel", "test-first:driver", "caution:nix"]);
  });
});

describe("assessRisks from NixOS's toplevel facts", () => {
  const kernel63 = `${fakeStorePath("linux-6.6.63")}/bzImage`;
  const kernel64 = `${fakeStorePath("linux-6.6.64")}/bzImage`;
  const initrdA = `${fakeStorePath("initrd-linux-6.6.63", "a")}/initrd`;
  const initrdB = `${fakeStorePath("initrd-linux-6.6.63", "b")}/initrd`;

  it("prefers the toplevel's kernel over package names", () => {
    // The kernel package group changed (a dev output), but the booted kernel is the same.
    const same = risks(
      ["linux-6.6.63", { name: "linux-6.6.63-dev", build: "a" }],
      ["linux-6.6.63", { name: "linux-6.6.63-dev", build: "b" }],
      {
        before: { kernel: kernel63, initrd: initrdA },
        after: { kernel: kernel63, initrd: initrdA },
      },
    );
    expect(same.risks).toEqual([]);

    const changed = risks([], [], {
      before: { kernel: kernel63, initrd: initrdA },
      after: { kernel: kernel64, initrd: initrdB },
    });
    expect(changed.risks).toMatchObject([
      { id: "kernel", title: "Kernel 6.6.63 -> 6.6.64", source: "system" },
    ]);
  });

  it("flags an initrd change and kernel parameter changes", () => {
    const diff = risks([], [], {
      before: { kernel: kernel63, initrd: initrdA, kernelParams: "loglevel=4 quiet" },
      after: { kernel: kernel63, initrd: initrdB, kernelParams: "loglevel=4  mitigations=off\n" },
    });
    expect(diff.risks).toMatchObject([
      { id: "initrd", severity: "reboot", source: "system" },
      { id: "kernel-params", title: "Kernel parameters: +mitigations=off -quiet" },
    ]);
  });

  it("reads boot.json (bootspec v1) before the toplevel's files", () => {
    const bootJson = (kernel: string, params: string[]) => ({
      "org.nixos.bootspec.v1": {
        kernel,
        initrd: initrdA,
        kernelParams: params,
        init: "/nix/store/x",
        label: "NixOS",
      },
    });
    expect(readBootFacts({ kernel: kernel64, bootJson: bootJson(kernel63, ["quiet"]) })).toEqual({
      kernel: kernel63,
      initrd: initrdA,
      kernelParams: ["quiet"],
    });
    expect(readBootFacts({ kernel: kernel64, bootJson: { something: "else" } })).toEqual({
      kernel: kernel64,
    });
    expect(readBootFacts({})).toBeUndefined();
    const diff = risks([], [], {
      before: { bootJson: bootJson(kernel63, ["quiet"]) },
      after: { bootJson: bootJson(kernel64, ["quiet"]) },
    });
    expect(ids(diff)).toEqual(["reboot:kernel"]);
  });

  it("flags changed reboot triggers", () => {
    const diff = risks([], [], { before: { rebootTriggers: "a" }, after: { rebootTriggers: "b" } });
    expect(ids(diff)).toEqual(["reboot:reboot-triggers"]);
  });

  it("reads the NixOS release from nixos-version", () => {
    const diff = risks([], [], {
      before: { nixosVersion: "24.05.20241201.1e3deb3" },
      after: { nixosVersion: "24.11.20241215.a1b2c3d" },
    });
    expect(diff.risks).toMatchObject([{ id: "nixos-release", source: "system" }]);
  });

  it("is a pure function of the diff", () => {
    const diff = risks(["linux-6.6.63"], ["linux-6.6.64"]);
    expect(assessRisks(diff)).toEqual({ risks: diff.risks, needsReboot: diff.needsReboot });
  });
});
