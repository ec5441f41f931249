/**
 * The secret scan's effect on real files in a temporary "store": what it reads, skips and never
 * follows. Samples are built at run time (no key-like text in the repository).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileStoreScanner,
  scanHostsForSecrets,
  storeReadPrefix,
  type StorePathScanner,
} from "./store-scan.js";

const TOKEN = `ghp_${"aB3dE6gH9k".repeat(3)}Zz12Yy`;
const AGE = `AGE-SECRET-KEY-1${"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).slice(0, 58)}`;
let root: string;
let outside: string;
const store = (name: string) => `/nix/store/${"a".repeat(32)}-${name}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "ternix-store-scan-"));
  outside = await mkdtemp(join(tmpdir(), "ternix-store-scan-outside-"));
  await writeFile(join(outside, "secret.env"), `TOKEN=${TOKEN}\n`);
  const app = join(root, store("app-1.0"));
  await mkdir(join(app, "etc", "deep"), { recursive: true });
  await mkdir(join(app, "bin"), { recursive: true });
  await writeFile(join(app, "etc", "deep", "token.env"), `GITHUB_TOKEN=${TOKEN}\n`);
  await writeFile(join(app, "etc", "readme"), "nothing here\n");
  await writeFile(join(app, "bin", "app"), Buffer.concat([Buffer.from("\x7fELF\0"), Buffer.from(TOKEN)]));
  await writeFile(join(app, "etc", "big.txt"), `${"x".repeat(2000)}${TOKEN}`);
  // Links out of the path, to a file and to a directory: never followed.
  await symlink(join(outside, "secret.env"), join(app, "etc", "linked.env"));
  await symlink(outside, join(app, "etc", "linked-dir"));
  await writeFile(join(root, store("age-key")), `${AGE}\n`);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe("fileStoreScanner", () => {
  it("reads text files, skips binary and large ones, follows no symlink", async () => {
    const scan = await fileStoreScanner(root, 1000)(store("app-1.0"));
    expect(scan).toEqual({
      findings: [{ file: "etc/deep/token.env", kind: "github-token" }],
      filesScanned: 2,
      bytesScanned: `GITHUB_TOKEN=${TOKEN}\n`.length + "nothing here\n".length,
      skippedBinary: 1,
      skippedTooLarge: 1,
      skippedOther: 2,
    });
  });

  it("scans a store path that is itself a file, and counts a missing one as unreadable", async () => {
    const scanner = fileStoreScanner(root, 1000);
    expect((await scanner(store("age-key"))).findings).toEqual([{ file: "", kind: "age-secret-key" }]);
    const missing = await scanner(store("gone"));
    expect(missing.findings).toEqual([]);
    expect(missing.skippedOther).toBe(1);
  });
});

describe("fileStoreScanner on a text file longer than the sniffed prefix", () => {
  it("reads the whole file, so a secret at its end is found", async () => {
    const name = store("long-1.0");
    await mkdir(join(root, name), { recursive: true });
    await writeFile(join(root, name, "config.js"), `${"// padding\n".repeat(2000)}const t = "${TOKEN}";\n`);
    const scan = await fileStoreScanner(root, 100_000)(name);
    expect(scan.findings).toEqual([{ file: "config.js", kind: "github-token" }]);
    expect(scan.bytesScanned).toBe(2000 * 11 + `const t = "${TOKEN}";\n`.length);
  });
});

describe("scanHostsForSecrets", () => {
  it("reads each path once for all hosts, and only new paths within the budget", async () => {
    const calls: string[] = [];
    const real = fileStoreScanner(root, 10_000);
    const counting: StorePathScanner = (p) => {
      calls.push(p);
      return real(p);
    };
    const info = (name: string, narSize: number) => ({ path: store(name), narSize, references: [] });
    const scans = await scanHostsForSecrets(
      counting,
      [
        {
          host: "a",
          before: [info("old", 1)],
          after: [info("old", 1), info("app-1.0", 100), info("age-key", 10)],
        },
        { host: "b", before: [], after: [info("app-1.0", 100), info("age-key", 10)] },
        { host: "c", before: [], after: [info("app-1.0", 100), info("age-key", 10)] },
      ],
      { maxFileBytes: 10_000, maxHostBytes: 50 },
    );
    // app-1.0 is over every host's budget; age-key is read once.
    expect(calls).toEqual([store("age-key")]);
    expect(scans.get("a")).toMatchObject({
      newPaths: 2,
      pathsScanned: 1,
      pathsOverBudget: 1,
      findings: [{ storePath: store("age-key"), file: "", kind: "age-secret-key" }],
    });
    expect(scans.get("c")?.findings).toHaveLength(1);
  });
});

describe("storeReadPrefix", () => {
  it.each([
    ["auto", ""],
    ["daemon", ""],
    ["local", ""],
    ["local?root=/tmp/chroot", "/tmp/chroot"],
    ["/tmp/chroot/", "/tmp/chroot"],
    ["local?real=/mnt/nix/store", "/mnt"],
    ["local?store=/other/store", undefined],
    ["daemon?root=/x", undefined],
    ["unix:///run/other.sock", undefined],
    ["ssh://builder", undefined],
    ["https://cache.nixos.org", undefined],
  ])("%s", (uri, prefix) => {
    expect(storeReadPrefix(uri)).toBe(prefix);
  });
});
