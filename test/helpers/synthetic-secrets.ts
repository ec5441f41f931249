/**
 * Synthetic secrets for the secret-scan tests (plan, diff, build, doctor): an OpenSSH private key
 * and a GitHub token generated at test time, no one's key, never committed as text. A derivation
 * expression puts them in a store path, and `expectNoSecret` checks that no 12-character piece of
 * them reached a command's output.
 */
import { expect } from "vitest";
import type { CliResult } from "./cli.js";
import { nixString } from "./world.js";

/** A deterministic string over `alphabet`: synthetic, no one's key. */
function synth(alphabet: string, length: number, seed: number): string {
  let out = "";
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[x % alphabet.length];
  }
  return out;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const KEY_BODY = [
  `b3BlbnNzaC1rZXktdjE${synth(`${ALNUM}+/`, 51, 11)}`,
  ...[1, 2, 3, 4].map((i) => synth(`${ALNUM}+/`, 70, 100 + i)),
];
export const SYNTHETIC_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY.join("\n")}\n-----END OPENSSH PRIVATE KEY-----`;
export const SYNTHETIC_TOKEN = `ghp_${synth(ALNUM, 36, 42)}`;

/** Every 12-character piece of the secrets (the key's base64 body, the token): none may be printed. */
const SECRET_PIECES = [...KEY_BODY, SYNTHETIC_TOKEN.slice(4)].flatMap((s) =>
  Array.from({ length: s.length - 11 }, (_, i) => s.slice(i, i + 12)),
);

export function expectNoSecret(r: CliResult): void {
  const all = `${r.stdout}\n${r.stderr}`;
  const leaked = SECRET_PIECES.filter((p) => all.includes(p));
  expect(leaked, "output contains part of a secret").toEqual([]);
}

const script = [
  'mkdir -p "$out/etc" "$out/bin"',
  `printf '%s\\n' "$key" > "$out/etc/id_ed25519"`,
  `printf 'GITHUB_TOKEN=%s\\n' "$token" > "$out/etc/deploy.env"`,
  // A binary file holding the token too: skipped (binary), so it counts once, from deploy.env.
  `printf 'ELF\\000%s' "$token" > "$out/bin/deploy"`,
  // A link out of the path (to the world's own files): never followed.
  'ln -s /etc/passwd "$out/etc/passwd"',
].join("\n");

/**
 * A Nix expression for a package `deploy-keys-1.0` holding the key (`etc/id_ed25519`) and the token
 * (`etc/deploy.env`, and in the binary `bin/deploy`), for a host's `environment.systemPackages`.
 */
export const SECRET_PACKAGE = `(builtins.derivation {
        name = "deploy-keys-1.0";
        system = pkgs.system;
        builder = "/bin/sh";
        PATH = "/usr/bin:/bin";
        key = ${nixString(SYNTHETIC_KEY)};
        token = ${nixString(SYNTHETIC_TOKEN)};
        args = [ "-c" ${nixString(script)} ];
      })`;
