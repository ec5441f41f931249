import { describe, expect, it } from "vitest";
import { parseStoreName, parseStorePath } from "./store-name.js";

const HASH = "0c7n4s5j3pq2x8w1mzg9rbyhfvkadl6i";

describe("parseStoreName", () => {
  // [name, pname, version, outputSuffix]
  it.each<[string, string, string, string?]>([
    // Plain name-version.
    ["xz-5.6.3", "xz", "5.6.3"],
    ["systemd-256.8", "systemd", "256.8"],
    ["grub-2.12", "grub", "2.12"],
    ["nix-2.24.10", "nix", "2.24.10"],
    ["lix-2.91.1", "lix", "2.91.1"],
    ["openssh-9.9p1", "openssh", "9.9p1"],
    ["bash-5.2p37", "bash", "5.2p37"],
    ["firefox-unwrapped-133.0", "firefox-unwrapped", "133.0"],
    ["firefox-133.0", "firefox", "133.0"],
    ["glibc-2.40-36", "glibc", "2.40-36"],
    ["initrd-linux-6.6.63", "initrd-linux", "6.6.63"],
    ["linux-6.6.63", "linux", "6.6.63"],
    ["util-linux-minimal-2.39.4", "util-linux-minimal", "2.39.4"],
    ["gtk+3-3.24.43", "gtk+3", "3.24.43"],
    ["xorg-server-21.1.14", "xorg-server", "21.1.14"],
    ["tzdata-2024b", "tzdata", "2024b"],
    ["iana-etc-20240318", "iana-etc", "20240318"],
    ["gnu-config-2024-01-01", "gnu-config", "2024-01-01"],
    ["nerdfonts-3.2.1", "nerdfonts", "3.2.1"],
    ["acl-2.3.2", "acl", "2.3.2"],
    // Interpreter-prefixed package names keep their prefix.
    ["python3.12-requests-2.32.3", "python3.12-requests", "2.32.3"],
    ["python3-3.12.7", "python3", "3.12.7"],
    ["perl5.40.0-URI-5.21", "perl5.40.0-URI", "5.21"],
    ["perl-5.40.0", "perl", "5.40.0"],
    // Kernel-suffixed versions stay whole.
    ["nvidia-x11-550.135-6.6.63", "nvidia-x11", "550.135-6.6.63"],
    ["zfs-kernel-2.2.7-6.6.63", "zfs-kernel", "2.2.7-6.6.63"],
    ["acpi-call-2020-04-07-5.8.16", "acpi-call", "2020-04-07-5.8.16"],
    ["v4l2loopback-0.13.2-6.6.63", "v4l2loopback", "0.13.2-6.6.63"],
    ["system76-acpi-module-1.0.1-5.4.87", "system76-acpi-module", "1.0.1-5.4.87"],
    // Output and variant suffixes are split off the version.
    ["glibc-2.40-36-bin", "glibc", "2.40-36", "bin"],
    ["gcc-13.3.0-lib", "gcc", "13.3.0", "lib"],
    ["util-linux-2.39.4-bin", "util-linux", "2.39.4", "bin"],
    ["systemd-256.8-man", "systemd", "256.8", "man"],
    ["openssl-3.3.2-dev", "openssl", "3.3.2", "dev"],
    ["linux-6.6.63-modules", "linux", "6.6.63", "modules"],
    ["linux-6.6.63-modules-shrunk", "linux", "6.6.63", "modules-shrunk"],
    ["linux-6.6.63-dev", "linux", "6.6.63", "dev"],
    ["linux-firmware-20241110-zstd", "linux-firmware", "20241110", "zstd"],
    ["linux-firmware-20241110-xz", "linux-firmware", "20241110", "xz"],
    ["nvidia-x11-550.135-6.6.63-bin", "nvidia-x11", "550.135-6.6.63", "bin"],
    ["ncurses-6.4.20221231-terminfo", "ncurses", "6.4.20221231", "terminfo"],
    ["bash-interactive-5.2p37-info", "bash-interactive", "5.2p37", "info"],
    ["python3.12-requests-2.32.3-dist", "python3.12-requests", "2.32.3", "dist"],
    ["celluloid-0.29-fish-completions", "celluloid", "0.29", "fish-completions"],
    ["libxml2-2.13.4-py", "libxml2", "2.13.4", "py"],
    ["gcc-13.3.0-lib64", "gcc", "13.3.0", "lib64"],
    // The NixOS toplevel: name and release version.
    ["nixos-system-web-24.11.20241201.1e3deb3", "nixos-system-web", "24.11.20241201.1e3deb3"],
    ["nixos-system-unnamed-20.09.git.6ad5c94ed93", "nixos-system-unnamed", "20.09.git.6ad5c94ed93"],
    // No version.
    ["source", "source", ""],
    ["hook", "hook", ""],
    ["etc", "etc", ""],
    ["etc-hosts", "etc-hosts", ""],
    ["etc-os-release", "etc-os-release", ""],
    ["system-path", "system-path", ""],
    ["unit-foo.service", "unit-foo.service", ""],
    ["unit-sshd.service", "unit-sshd.service", ""],
    ["unit--.slice", "unit--.slice", ""],
    ["X-Restart-Triggers-sshd", "X-Restart-Triggers-sshd", ""],
    ["kernel-modules", "kernel-modules", ""],
    ["firmware", "firmware", ""],
    ["install-grub.sh", "install-grub.sh", ""],
    ["systemd-boot", "systemd-boot", ""],
    ["50-coredump.conf", "50-coredump.conf", ""],
    // The first '-' followed by a digit splits, even inside what reads as a name.
    ["font-bh-100dpi-1.0.4", "font-bh", "100dpi-1.0.4"],
    ["dbus-1", "dbus", "1"],
  ])("%s", (name, pname, version, outputSuffix) => {
    const parsed = parseStoreName(name);
    expect(parsed).toEqual({ name, pname, version, ...(outputSuffix !== undefined ? { outputSuffix } : {}) });
  });
});

describe("parseStorePath", () => {
  it("parses a store path", () => {
    expect(parseStorePath(`/nix/store/${HASH}-glibc-2.40-36-bin`)).toEqual({
      path: `/nix/store/${HASH}-glibc-2.40-36-bin`,
      hash: HASH,
      name: "glibc-2.40-36-bin",
      pname: "glibc",
      version: "2.40-36",
      outputSuffix: "bin",
    });
  });

  it("reads the store path of a path inside it (a toplevel's kernel symlink)", () => {
    expect(parseStorePath(`/nix/store/${HASH}-linux-6.6.63/bzImage`)).toMatchObject({
      path: `/nix/store/${HASH}-linux-6.6.63`,
      pname: "linux",
      version: "6.6.63",
    });
  });

  it("accepts another store directory", () => {
    expect(parseStorePath(`/gnu/store/${HASH}-xz-5.6.3`, "/gnu/store")).toMatchObject({ pname: "xz" });
  });

  it.each([
    ["not in the store", "/usr/bin/env"],
    ["the store itself", "/nix/store"],
    ["the store dir with a slash", "/nix/store/"],
    ["a relative path", `${HASH}-xz-5.6.3`],
    ["a short hash", "/nix/store/abc-xz-5.6.3"],
    ["a hash with a letter outside Nix base-32", `/nix/store/${HASH.slice(0, 31)}e-xz-5.6.3`],
    ["no name", `/nix/store/${HASH}`],
    ["an empty name", `/nix/store/${HASH}-`],
    ["a name starting with a dot", `/nix/store/${HASH}-.hidden`],
    ["a name with a space", `/nix/store/${HASH}-foo bar`],
    ["a derivation", `/nix/store/${HASH}-xz-5.6.3.drv`],
    ["another store directory", `/gnu/store/${HASH}-xz-5.6.3`],
  ])("returns undefined for %s", (_what, path) => {
    expect(parseStorePath(path)).toBeUndefined();
  });
});
