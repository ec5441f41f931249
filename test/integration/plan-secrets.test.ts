/**
 * Secrets that would land in the store, end to end: the built binary, real Nix and git. Host
 * `vault` adds a package holding a (synthetic) OpenSSH private key and GitHub token once nixpkgs
 * moves to 24.11-b (its config picks it by curl's version, as a real config may follow an input);
 * `web` changes without any secret. plan, diff and build flag it, name where it is, never print
 * any part of it, and `--fail-on secret` exits 5.
 */
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { expectNoSecret, SECRET_PACKAGE } from "../helpers/synthetic-secrets.js";
import { advanceNixpkgs, buildHosts, createWorld, updateFleetLock, type World } from "../helpers/world.js";

const VAULT_CONFIG = `environment.systemPackages =
    if pkgs.curl.version == "8.11.0" then [ ] else [
      ${SECRET_PACKAGE}
    ];`;

let w: World;
let tmp: string;
const ternix = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { cwd: w.fleetDir, env: { ...w.env, NO_COLOR: "1", ...env } });

beforeAll(async () => {
  w = await createWorld({
    hosts: [
      { name: "vault", extraConfig: VAULT_CONFIG },
      { name: "web", openssh: true, packages: ["curl"] },
    ],
  });
  await advanceNixpkgs(w, "24.11-b");
  tmp = await mkdtemp(join(tmpdir(), "ternix-secrets-"));
}, 180_000);
afterAll(async () => {
  await w.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

interface Finding {
  storePath: string;
  file: string;
  kind: string;
}
interface PlanJson {
  outcome: string;
  exitCode: number;
  failOn: { kinds: string[]; hits: { host: string; kind: string }[] } | null;
  hosts: {
    host: string;
    status: string;
    diff: {
      risks: { id: string; title: string; packages: string[] }[];
      secrets: { findings: Finding[]; newPaths: number; pathsScanned: number; skippedBinary: number } | null;
    } | null;
  }[];
}

describe("plan: secrets in new store paths", () => {
  it("flags the host, names path, file and kind in JSON, and never the secret", async () => {
    const r = await ternix(["plan", "--restore-lock", "--json", "--verbose"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expectNoSecret(r);
    const json = JSON.parse(r.stdout) as PlanJson;
    expect(json.failOn).toBeNull();
    const vault = json.hosts.find((h) => h.host === "vault");
    const web = json.hosts.find((h) => h.host === "web");
    expect(vault?.status).toBe("changed");
    const secret = vault?.diff?.risks.find((x) => x.id === "secret");
    expect(secret?.title).toBe("Secrets in the store: 2 files (openssh-private-key, github-token)");
    expect(secret?.packages).toEqual(["deploy-keys"]);
    const findings = vault?.diff?.secrets?.findings ?? [];
    expect(
      findings.map((f) => [f.storePath.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""), f.file, f.kind]),
    ).toEqual([
      ["deploy-keys-1.0", "etc/deploy.env", "github-token"],
      ["deploy-keys-1.0", "etc/id_ed25519", "openssh-private-key"],
    ]);
    expect(vault?.diff?.secrets?.skippedBinary).toBeGreaterThanOrEqual(1);
    // Every new path of the changed toplevel was read (the fixture's are tiny).
    expect(vault?.diff?.secrets?.pathsScanned).toBe(vault?.diff?.secrets?.newPaths);
    // web changed too, was scanned, and holds nothing.
    expect(web?.status).toBe("changed");
    expect(web?.diff?.secrets?.findings).toEqual([]);
    expect(web?.diff?.secrets?.pathsScanned).toBeGreaterThan(0);
    expect(web?.diff?.risks.map((x) => x.id)).not.toContain("secret");
  }, 300_000);

  it("text and Markdown (the PR body) list where, not what", async () => {
    const text = await ternix(["plan", "--restore-lock"]);
    expect(text.exitCode, text.stderr).toBe(0);
    expectNoSecret(text);
    expect(text.stdout).toMatch(/^vault\s+changed\s+.*secret: caution/m);
    expect(text.stdout).toContain("Secrets in the store (readable by every user):");
    expect(text.stdout).toMatch(
      /^ {2}openssh-private-key {2}\/nix\/store\/[a-z0-9]{32}-deploy-keys-1\.0\/etc\/id_ed25519$/m,
    );
    expect(text.stdout).toMatch(
      /^ {2}github-token {9}\/nix\/store\/[a-z0-9]{32}-deploy-keys-1\.0\/etc\/deploy\.env$/m,
    );

    const md = await ternix(["plan", "--restore-lock", "--format", "markdown"]);
    expect(md.exitCode, md.stderr).toBe(0);
    expectNoSecret(md);
    expect(md.stdout).toContain("⚠ secret: caution");
    expect(md.stdout).toMatch(
      /^- openssh-private-key: `\/nix\/store\/[a-z0-9]{32}-deploy-keys-1\.0\/etc\/id_ed25519`$/m,
    );
  }, 300_000);

  it("--fail-on secret exits 5 with the report; other kinds and no flag exit as before", async () => {
    const failed = await ternix(["plan", "--restore-lock", "--fail-on", "secret", "driver", "--json"]);
    expect(failed.exitCode, failed.stderr).toBe(5);
    expectNoSecret(failed);
    const json = JSON.parse(failed.stdout) as PlanJson;
    expect(json.exitCode).toBe(5);
    expect(json.failOn).toEqual({ kinds: ["secret", "driver"], hits: [{ host: "vault", kind: "secret" }] });
    expect(failed.stderr).toContain('--fail-on secret: "vault" carries a secret risk.');

    const text = await ternix(["plan", "--restore-lock", "--fail-on=secret"]);
    expect(text.exitCode).toBe(5);
    expect(text.stdout).toContain("--fail-on secret: vault carries a secret risk (exit 5).");

    const other = await ternix(["plan", "--restore-lock", "--fail-on", "driver,firmware"]);
    expect(other.exitCode, other.stderr).toBe(0);

    const unknown = await ternix(["plan", "--restore-lock", "--fail-on", "secrets"]);
    expect(unknown.exitCode).toBe(64);
    expect(unknown.stderr).toContain('unknown risk kind "secrets"');
    expect(unknown.stdout).toBe("");
  }, 300_000);
});

describe("diff and build: the same flag", () => {
  it("ternix diff shows the secret and fails on it with --fail-on; ternix build too", async () => {
    const before = (await buildHosts(w, ["vault"]))["vault"] ?? "";
    await updateFleetLock(w);
    const after = (await buildHosts(w, ["vault"]))["vault"] ?? "";
    expect(before).not.toBe(after);

    const plain = await ternix(["diff", before, after]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expectNoSecret(plain);
    expect(plain.stdout).toContain("Secrets in the store: 2 files (openssh-private-key, github-token)");
    expect(plain.stdout).toMatch(/deploy-keys-1\.0\/etc\/id_ed25519$/m);

    const failed = await ternix(["diff", before, after, "--json", "--fail-on", "secret"]);
    expect(failed.exitCode, failed.stderr).toBe(5);
    expectNoSecret(failed);
    const json = JSON.parse(failed.stdout) as { secrets: { findings: Finding[] } };
    expect(json.secrets.findings.map((f) => f.kind)).toEqual(["github-token", "openssh-private-key"]);
    // Backwards: the old side's new paths hold nothing.
    const back = await ternix(["diff", after, before, "--fail-on", "secret"]);
    expect(back.exitCode, back.stderr).toBe(0);

    const current = join(tmp, "current-system");
    await symlink(before, current);
    const build = await ternix(["build", "vault", "--current-system", current, "--fail-on", "secret"]);
    expect(build.exitCode, build.stderr).toBe(5);
    expectNoSecret(build);
    expect(build.stdout).toContain("Secrets in the store (readable by every user):");
    const ok = await ternix(["build", "vault", "--current-system", current]);
    expect(ok.exitCode, ok.stderr).toBe(0);
  }, 300_000);
});
