/**
 * Table tests per secret detector, on synthetic samples built here at run time (so no file in the
 * repository looks like a real key to a secret scanner): each must be found, and its near misses
 * (documentation examples, headers without a body, wrong lengths) must not.
 */
import { describe, expect, it } from "vitest";
import {
  combineSecretScans,
  detectSecrets,
  looksBinary,
  newStorePaths,
  planSecretScan,
  SECRET_DETECTORS,
  SECRET_KINDS,
  type SecretKind,
  type StorePathScan,
} from "./secrets.js";

/** A deterministic string over `alphabet` (not random, not anyone's key). */
function synth(alphabet: string, length: number, seed = 7): string {
  let out = "";
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[x % alphabet.length];
  }
  return out;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64 = `${ALNUM}+/`;
const BECH32_UPPER = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const body = (lines = 3) =>
  Array.from({ length: lines }, (_, i) => synth(BASE64, 64, i + 1)).join("\n") + "\n";
const pem = (label: string, headers = "") =>
  `-----BEGIN ${label}-----\n${headers}${body()}-----END ${label}-----\n`;
const OPENSSH_MAGIC = "b3BlbnNzaC1rZXktdjE"; // base64("openssh-key-v1")

export const SAMPLES: Record<SecretKind, string[]> = {
  "pem-private-key": [
    pem("PRIVATE KEY"),
    pem("RSA PRIVATE KEY"),
    pem("EC PRIVATE KEY"),
    pem("ENCRYPTED PRIVATE KEY"),
    pem("RSA PRIVATE KEY", "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF00FF00FF00FF\n\n"),
    pem("PRIVATE KEY").replace(/\n/g, "\r\n"),
  ],
  "openssh-private-key": [
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${OPENSSH_MAGIC}${synth(BASE64, 51)}\n${body()}-----END OPENSSH PRIVATE KEY-----\n`,
  ],
  "pgp-private-key": [
    pem("PGP PRIVATE KEY BLOCK", "\n"),
    pem("PGP PRIVATE KEY BLOCK", "Version: GnuPG v2\nComment: synthetic\n\n"),
  ],
  "age-secret-key": [
    `# created: 2024-01-01\nAGE-SECRET-KEY-1${synth(BECH32_UPPER, 58)}\n`,
    `key = "AGE-SECRET-KEY-1${synth(BECH32_UPPER, 58, 3)}"`,
  ],
  "aws-access-key": [`aws_access_key_id = AKIA${synth(B32, 16)}\n`, `"ASIA${synth(B32, 16, 5)}"`],
  "github-token": [
    `token: ghp_${synth(ALNUM, 36)}`,
    `GITHUB_TOKEN=ghs_${synth(ALNUM, 36, 9)}\n`,
    `github_pat_${synth(ALNUM, 22)}_${synth(ALNUM, 59, 4)}`,
  ],
  "gitlab-token": [`PRIVATE-TOKEN: glpat-${synth(ALNUM, 20)}`, `runner: glrt-${synth(ALNUM, 24, 2)}`],
  "slack-token": [
    `SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-${synth(ALNUM, 24)}`,
    `https://hooks.slack.com/services/T0123ABCD/B0123ABCD/${synth(ALNUM, 24)}`,
  ],
};

/** Text that mentions the formats without holding a secret. */
const NEAR_MISSES: [string, string][] = [
  ["PEM header quoted in docs, no body", 'if line == "-----BEGIN RSA PRIVATE KEY-----":\n    pass\n'],
  ["PEM public key", pem("PUBLIC KEY")],
  ["certificate", pem("CERTIFICATE")],
  ["OpenSSH header without the openssh-key-v1 body", `-----BEGIN OPENSSH PRIVATE KEY-----\n${body()}`],
  ["PGP public key block", pem("PGP PUBLIC KEY BLOCK", "\n")],
  ["age public key", `age1${synth("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)}`],
  ["age key too short", `AGE-SECRET-KEY-1${synth(BECH32_UPPER, 20)}`],
  ["AWS's documented example key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"],
  ["AWS-like inside a longer word", `XAKIA${synth(B32, 16)}`],
  ["GitHub token too short", `ghp_${synth(ALNUM, 20)}`],
  ["GitHub token too long", `ghp_${synth(ALNUM, 40)}`],
  ["GitLab prefix alone", "glpat-xxxx"],
  ["Slack docs' fake token", "xoxb-not-a-real-token-this-will-not-work"],
  ["timezone names", "Asia/Tokyo ASIA/KOLKATA"],
];

describe("SECRET_DETECTORS", () => {
  it("covers every kind", () => {
    expect(new Set(SECRET_DETECTORS.map((d) => d.kind))).toEqual(new Set(SECRET_KINDS));
  });

  for (const kind of SECRET_KINDS) {
    it.each(SAMPLES[kind].map((text, i) => [i, text] as const))(`finds ${kind} (sample %i)`, (_i, text) => {
      expect(detectSecrets(`some text before\n${text}\nand after`)).toEqual([kind]);
    });
  }

  it.each(NEAR_MISSES)("ignores %s", (_name, text) => {
    expect(detectSecrets(text)).toEqual([]);
  });

  it("reports each kind once, in detector order", () => {
    const text = [SAMPLES["github-token"][0], SAMPLES["pem-private-key"][0], SAMPLES["github-token"][1]].join(
      "\n",
    );
    expect(detectSecrets(text)).toEqual(["pem-private-key", "github-token"]);
  });

  it("finds a token after a documentation example of the same kind", () => {
    expect(detectSecrets(`AKIAIOSFODNN7EXAMPLE\n${SAMPLES["aws-access-key"][0]}`)).toEqual([
      "aws-access-key",
    ]);
  });

  it("is stable across calls (global patterns keep no state)", () => {
    const text = SAMPLES["slack-token"][0] ?? "";
    expect(detectSecrets(text)).toEqual(detectSecrets(text));
  });
});

describe("looksBinary", () => {
  it.each([
    ["text", new TextEncoder().encode("hello\n"), false],
    ["NUL early", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0]), true],
    ["NUL after the sniffed prefix", new Uint8Array([...new Uint8Array(9000).fill(65), 0]), false],
    ["empty", new Uint8Array(), false],
  ])("%s", (_name, bytes, binary) => {
    expect(looksBinary(bytes)).toBe(binary);
  });
});

describe("planSecretScan", () => {
  const p = (name: string, narSize: number) => ({ path: `/nix/store/${name}`, narSize, references: [] });
  it.each([
    [
      "all within budget, smallest first",
      [p("b", 20), p("a", 10)],
      100,
      ["/nix/store/a", "/nix/store/b"],
      [],
    ],
    [
      "largest left out",
      [p("big", 90), p("a", 10), p("b", 20)],
      50,
      ["/nix/store/a", "/nix/store/b"],
      ["/nix/store/big"],
    ],
    ["a path alone over the budget", [p("huge", 500)], 100, [], ["/nix/store/huge"]],
  ])("%s", (_name, paths, maxHostBytes, scan, overBudget) => {
    expect(planSecretScan(paths, { maxFileBytes: 1, maxHostBytes })).toEqual({ scan, overBudget });
  });

  it("newStorePaths keeps only the after side's new paths", () => {
    expect(newStorePaths([p("a", 1), p("b", 1)], [p("b", 1), p("c", 1)]).map((x) => x.path)).toEqual([
      "/nix/store/c",
    ]);
  });
});

describe("combineSecretScans", () => {
  it("sums counts and orders findings by path, file, kind", () => {
    const scan = (findings: StorePathScan["findings"]): StorePathScan => ({
      findings,
      filesScanned: 2,
      bytesScanned: 100,
      skippedBinary: 1,
      skippedTooLarge: 0,
      skippedOther: 1,
    });
    const combined = combineSecretScans(
      5,
      new Map([
        ["/nix/store/b", scan([{ file: "x", kind: "github-token" }])],
        [
          "/nix/store/a",
          scan([
            { file: "z", kind: "slack-token" },
            { file: "z", kind: "pem-private-key" },
          ]),
        ],
      ]),
      3,
    );
    expect(combined).toEqual({
      findings: [
        { storePath: "/nix/store/a", file: "z", kind: "pem-private-key" },
        { storePath: "/nix/store/a", file: "z", kind: "slack-token" },
        { storePath: "/nix/store/b", file: "x", kind: "github-token" },
      ],
      newPaths: 5,
      pathsScanned: 2,
      pathsOverBudget: 3,
      filesScanned: 4,
      bytesScanned: 200,
      skippedBinary: 2,
      skippedTooLarge: 0,
      skippedOther: 2,
    });
  });
});
