import { describe, expect, it } from "vitest";
import { expectGolden } from "../../test/helpers/golden.js";
import { diffClosures } from "../closure/diff.js";
import { assessRisks } from "../closure/risk.js";
import type { SecretFinding, SecretScan } from "../closure/secrets.js";
import { fakeClosure, fakeStorePath, type FakePackage } from "../closure/testing.js";
import {
  closureSizeLine,
  formatSize,
  notSystemNote,
  renderClosureDiffMarkdown,
  renderClosureDiffText,
  toClosureDiffJson,
} from "./closure.js";
import { stripStyle } from "./style.js";

const MiB = 1024 * 1024;

/** A NixOS 24.11 point update: kernel, GPU driver, glibc, systemd, Nix, a few user packages. */
function typicalUpdate() {
  const common: FakePackage[] = [{ name: "xz-5.6.3" }, { name: "bash-5.2p37" }, { name: "coreutils-9.5" }];
  const before: FakePackage[] = [
    ...common,
    { name: "linux-6.6.63", narSize: 12 * MiB },
    { name: "linux-6.6.63-modules", narSize: 95 * MiB },
    { name: "linux-6.6.63-modules-shrunk", narSize: 4 * MiB },
    { name: "initrd-linux-6.6.63", narSize: 20 * MiB },
    { name: "nvidia-x11-550.135-6.6.63", narSize: 80 * MiB },
    { name: "nvidia-x11-550.135-6.6.63-bin", narSize: 2 * MiB },
    { name: "zfs-kernel-2.2.7-6.6.63", narSize: 6 * MiB },
    { name: "linux-firmware-20241110-zstd", narSize: 420 * MiB },
    { name: "firefox-132.0", selected: true },
    { name: "firefox-unwrapped-132.0", narSize: 250 * MiB },
    { name: "glibc-2.40-36", narSize: 30 * MiB },
    { name: "glibc-2.40-36-bin", narSize: 3 * MiB },
    { name: "systemd-256.8", narSize: 28 * MiB },
    { name: "openssh-9.8p1", selected: true },
    { name: "htop-3.3.0" },
    { name: "git-2.47.0", selected: true, narSize: 60 * MiB },
    { name: "python3-3.11.9" },
    { name: "python3-3.12.7" },
    { name: "nodejs-20.18.0" },
    { name: "libfoo-2.0" },
    { name: "perl5.40.0-Foo_Bar-1.0" },
    { name: "nix-2.18.9", narSize: 25 * MiB },
    { name: "tzdata-2024a" },
    { name: "hook", build: "1" },
    { name: "etc", build: "1" },
    { name: "unit-sshd.service", build: "1" },
    { name: "X-Restart-Triggers-sshd", build: "1" },
  ];
  const after: FakePackage[] = [
    ...common,
    { name: "linux-6.6.64", narSize: 12 * MiB + 4096 },
    { name: "linux-6.6.64-modules", narSize: 95 * MiB + 65536 },
    { name: "linux-6.6.64-modules-shrunk", narSize: 4 * MiB },
    { name: "initrd-linux-6.6.64", narSize: 20 * MiB + 1000 },
    { name: "nvidia-x11-550.142-6.6.64", narSize: 81 * MiB },
    { name: "nvidia-x11-550.142-6.6.64-bin", narSize: 2 * MiB },
    { name: "zfs-kernel-2.2.7-6.6.64", narSize: 6 * MiB },
    { name: "linux-firmware-20241210-zstd", narSize: 431 * MiB },
    { name: "firefox-133.0", selected: true },
    { name: "firefox-unwrapped-133.0", narSize: 252 * MiB },
    { name: "glibc-2.40-44", narSize: 30 * MiB + 20480 },
    { name: "glibc-2.40-44-bin", narSize: 3 * MiB },
    { name: "systemd-256.10", narSize: 28 * MiB + 300000 },
    { name: "openssh-9.9p1", selected: true },
    { name: "htop-3.3.0", selected: true },
    { name: "bpytop-1.0.50", selected: true },
    { name: "unit-nginx.service" },
    { name: "python3-3.11.9" },
    { name: "python3-3.12.8" },
    { name: "nodejs-20.18.1" },
    { name: "nodejs-22.11.0" },
    { name: "libfoo-1.9" },
    { name: "perl5.40.0-Foo_Bar-1.1" },
    { name: "nix-2.24.10", narSize: 27 * MiB },
    { name: "tzdata-2024b" },
    { name: "hook", build: "2" },
    { name: "etc", build: "2" },
    { name: "unit-sshd.service", build: "2" },
    { name: "X-Restart-Triggers-sshd", build: "2" },
  ];
  return diffClosures(
    fakeClosure({
      root: "nixos-system-web-24.11.20241201.1e3deb3",
      packages: before,
      system: {
        kernel: `${fakeStorePath("linux-6.6.63")}/bzImage`,
        initrd: `${fakeStorePath("initrd-linux-6.6.63")}/initrd`,
        kernelParams: "loglevel=4 nvidia-drm.modeset=1",
        nixosVersion: "24.11.20241201.1e3deb3",
      },
    }),
    fakeClosure({
      root: "nixos-system-web-24.11.20241215.a1b2c3d",
      packages: after,
      system: {
        kernel: `${fakeStorePath("linux-6.6.64")}/bzImage`,
        initrd: `${fakeStorePath("initrd-linux-6.6.64")}/initrd`,
        kernelParams: "loglevel=4 nvidia-drm.modeset=1",
        nixosVersion: "24.11.20241215.a1b2c3d",
      },
    }),
  );
}

function noChange() {
  const packages = ["xz-5.6.3", { name: "vim-9.1.0", selected: true }];
  const closure = fakeClosure({ root: "nixos-system-web-24.11.20241201.1e3deb3", packages });
  return diffClosures(closure, closure);
}

describe("formatSize", () => {
  it.each<[number, boolean, string]>([
    [0, true, "+0B"],
    [1000, true, "+1,000B"],
    [-1000, true, "-1,000B"],
    [1023, true, "+1,023B"],
    [1024, true, "+1.0KiB"],
    [51405, true, "+50.2KiB"],
    [-3 * 1024 * MiB, true, "-3.0GiB"],
    [1.5 * MiB, false, "1.5MiB"],
    [1023.96 * 1024, true, "+1,024.0KiB"],
    [5 * 1024 * 1024 * MiB, false, "5.0TiB"],
  ])("%d (signed %s) -> %s", (bytes, signed, text) => {
    expect(formatSize(bytes, signed)).toBe(text);
  });
});

describe("renderClosureDiffText", () => {
  it("renders a typical update like nvd, risks first", async () => {
    await expectGolden("closure/typical.txt", renderClosureDiffText(typicalUpdate()));
  });

  it("renders an empty diff", async () => {
    await expectGolden("closure/no-change.txt", renderClosureDiffText(noChange()));
  });

  it("can leave out header and sizes, and list rebuilt packages", () => {
    const text = renderClosureDiffText(typicalUpdate(), { header: false, sizes: false, listRebuilt: true });
    expect(text).not.toContain("<<<");
    expect(text).toContain("[U*]  #01  firefox             132.0 -> 133.0\n");
    expect(text).toContain(
      "Rebuilt with unchanged versions: 5 packages.\n  X-Restart-Triggers-sshd, etc, hook, system-path, unit-sshd.service\n",
    );
  });

  it("colours only with color: true, without changing the text", () => {
    const diff = typicalUpdate();
    const plain = renderClosureDiffText(diff);
    const coloured = renderClosureDiffText(diff, { color: true });
    expect(plain).not.toContain("\u001b[");
    expect(coloured).toContain("\u001b[");
    expect(stripStyle(coloured)).toBe(plain);
  });

  it("ends with nvd's closure size line", () => {
    const diff = typicalUpdate();
    expect(renderClosureDiffText(diff).trimEnd().split("\n").at(-1)).toBe(closureSizeLine(diff));
    expect(closureSizeLine(diff)).toMatch(
      /^Closure size: \d+ -> \d+ \(\d+ paths added, \d+ paths removed, delta [+-]?\d+, disk usage [+-][\d,.]+[KMGT]?i?B\)\.$/,
    );
  });
});

describe("notSystemNote", () => {
  const plain = (root: string, packages: string[]) => fakeClosure({ root, packages, sw: false });

  it("says when a side is not a NixOS system, in text and Markdown", () => {
    const diff = diffClosures(
      plain("curl-8.11.0", ["openssl-3.3.2"]),
      plain("curl-8.11.1", ["openssl-3.3.3"]),
    );
    expect(notSystemNote(diff)).toMatch(/^Neither side is a NixOS system /);
    expect(renderClosureDiffText(diff).split("\n")[2]).toBe(`Note: ${notSystemNote(diff)}`);
    expect(renderClosureDiffMarkdown(diff)).toContain(`_Note: ${notSystemNote(diff)}_`);
  });

  it("names the one side that is not a system, and says nothing for two systems", () => {
    const system = fakeClosure({ root: "nixos-system-web-24.11.20241201.1e3deb3", packages: ["xz-5.6.3"] });
    expect(notSystemNote(diffClosures(system, plain("xz-5.6.3", [])))).toMatch(/^The new side is not /);
    expect(notSystemNote(diffClosures(plain("xz-5.6.3", []), system))).toMatch(/^The old side is not /);
    expect(notSystemNote(typicalUpdate())).toBeUndefined();
    expect(notSystemNote(noChange())).toBeUndefined();
  });
});

describe("renderClosureDiffMarkdown", () => {
  it("renders a typical update for a pull request", async () => {
    await expectGolden("closure/typical.md", renderClosureDiffMarkdown(typicalUpdate()));
  });

  it("renders an empty diff", async () => {
    await expectGolden("closure/no-change.md", renderClosureDiffMarkdown(noChange()));
  });

  it("escapes Markdown in package names", () => {
    const md = renderClosureDiffMarkdown(typicalUpdate());
    expect(md).toContain("perl5.40.0-Foo\\_Bar");
    expect(md).not.toMatch(/Foo_Bar/);
    expect(md).toContain("&lt;none&gt;");
  });

  it("caps the list of rebuilt names", () => {
    const md = renderClosureDiffMarkdown(typicalUpdate(), { maxRebuiltNames: 2, sizes: false });
    expect(md).toContain("X-Restart-Triggers-sshd, etc, … and 3 more");
    expect(md).toContain("|  | # | Package | Versions |");
  });
});

describe("toClosureDiffJson", () => {
  it("is a plain, versioned object", async () => {
    const json = toClosureDiffJson(typicalUpdate());
    expect(json).toMatchObject({ schemaVersion: 1, kind: "closure-diff" });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.rebuilt.map((r) => r.name)).toEqual([
      "X-Restart-Triggers-sshd",
      "etc",
      "hook",
      "system-path",
      "unit-sshd.service",
    ]);
    expect(json.packages.find((p) => p.name === "htop")).toMatchObject({ kind: "unchanged", selection: "+" });
    expect(json.summary).toMatchObject({
      needsReboot: true,
      // nodejs {20.18.0} -> {20.18.1, 22.11.0}: every new version is higher, an upgrade.
      upgraded: 15,
      downgraded: 1,
      changed: 0,
      added: 2,
      removed: 1,
      rebuilt: 5,
    });
    await expectGolden("closure/typical.json", `${JSON.stringify(json, null, 2)}\n`);
  });
});

describe("secret scan in the reports", () => {
  const base = diffClosures(
    fakeClosure({ root: "nixos-system-h-1", packages: [] }),
    fakeClosure({ root: "nixos-system-h-2", packages: [] }),
  );
  const app = fakeStorePath("deploy-keys-1.0");
  const scan = (findings: SecretFinding[], extra: Partial<SecretScan> = {}): SecretScan => ({
    findings,
    newPaths: 4,
    pathsScanned: 4,
    pathsOverBudget: 0,
    filesScanned: 6,
    bytesScanned: 600,
    skippedBinary: 1,
    skippedTooLarge: 0,
    skippedOther: 0,
    ...extra,
  });
  const withScan = (s: SecretScan) => {
    const d = { ...base, secrets: s };
    return { ...d, ...assessRisks(d) };
  };
  const findings: SecretFinding[] = [
    { storePath: app, file: "etc/id_ed25519", kind: "openssh-private-key" },
    { storePath: app, file: "odd `name`\u001b[31m", kind: "github-token" },
    { storePath: fakeStorePath("token.env"), file: "", kind: "slack-token" },
  ];

  it("text: the flag, then where each secret is; file names made printable", () => {
    const text = renderClosureDiffText(withScan(scan(findings)));
    expect(text).toContain("Secrets in the store: 3 files (openssh-private-key, github-token, slack-token)");
    expect(text).toContain(
      [
        "Secrets in the store (readable by every user):",
        `  openssh-private-key  ${app}/etc/id_ed25519`,
        `  github-token         ${app}/odd \`name\`\\u001b[31m`,
        `  slack-token          ${fakeStorePath("token.env")}`,
      ].join("\n"),
    );
    expect(text).not.toContain("\u001b");
  });

  it("Markdown: a list with code spans that hold any file name", () => {
    const md = renderClosureDiffMarkdown(withScan(scan(findings)));
    expect(md).toContain("**Secrets in the store** (readable by every user)");
    expect(md).toContain(`- openssh-private-key: \`${app}/etc/id_ed25519\``);
    expect(md).toContain(`- github-token: \`\`${app}/odd \`name\`\\u001b[31m\`\``);
  });

  it("says when the scan left paths or files out, and nothing when it found nothing", () => {
    const partial = scan([], { pathsOverBudget: 2, skippedTooLarge: 3 });
    const note =
      "Secret scan incomplete: 2 of 4 new store paths not scanned (per-host size limit); 3 files over the per-file size limit skipped.";
    expect(renderClosureDiffText(withScan(partial))).toContain(note);
    expect(renderClosureDiffMarkdown(withScan(partial))).toContain(`_${note}_`);
    const clean = renderClosureDiffText(withScan(scan([])));
    expect(clean).not.toContain("Secret");
    expect(clean).toBe(renderClosureDiffText(base));
  });

  it("JSON: findings and counts, null when not scanned", () => {
    expect(toClosureDiffJson(base).secrets).toBeNull();
    const json = toClosureDiffJson(withScan(scan(findings.slice(0, 1))));
    expect(json.secrets).toEqual({ ...scan(findings.slice(0, 1)) });
    expect(json.risks.map((r) => r.id)).toContain("secret");
  });
});
