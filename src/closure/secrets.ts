/**
 * Secrets that would land in the Nix store, which every user of every host can read. Pure: the
 * detectors are data ({@link SECRET_DETECTORS}, one small rule each, table-tested with synthetic
 * samples in secrets.test.ts), the file reading is an effect (app/store-scan.ts).
 *
 * A finding names the store path, the file and the kind, NEVER the secret or any part of it: the
 * matched text is dropped as soon as it has been tested.
 *
 * | kind                | what                                                                        |
 * |---------------------|-----------------------------------------------------------------------------|
 * | pem-private-key     | `-----BEGIN [RSA |EC |DSA |ENCRYPTED ]PRIVATE KEY-----` with a base64 body  |
 * | openssh-private-key | `-----BEGIN OPENSSH PRIVATE KEY-----` whose body starts `openssh-key-v1`    |
 * | pgp-private-key     | `-----BEGIN PGP PRIVATE KEY BLOCK-----` with an armoured body               |
 * | age-secret-key      | `AGE-SECRET-KEY-1` and 58 Bech32 characters                                 |
 * | aws-access-key      | `AKIA…`/`ASIA…` and 16 base-32 characters (AWS's documented `…EXAMPLE` ignored) |
 * | github-token        | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36, or `github_pat_` + 22 `_` 59   |
 * | gitlab-token        | `glpat-`, `gldt-`, `glrt-`, `glptt-`, `glcbt-` and 20 or more characters    |
 * | slack-token         | `xox[abposre]-<digits>-…`, or a `hooks.slack.com/services/T…/B…/…` webhook  |
 */
import type { StorePathInfo } from "./model.js";

export const SECRET_KINDS = [
  "pem-private-key",
  "openssh-private-key",
  "pgp-private-key",
  "age-secret-key",
  "aws-access-key",
  "github-token",
  "gitlab-token",
  "slack-token",
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface SecretDetector {
  kind: SecretKind;
  /**
   * Literal strings one of which every match contains: a file none of them occurs in is not
   * tested further (one combined search per file instead of one per detector).
   */
  anchors: readonly string[];
  /** A global regular expression for the secret. */
  pattern: RegExp;
  /** A match that is a well-known public example, not a secret. */
  ignore?: (match: string) => boolean;
}

const B64 = "[A-Za-z0-9+/]";
/** Armour headers (`Proc-Type: 4,ENCRYPTED`, `Version: …`) between the BEGIN line and the body. */
const ARMOUR_HEADERS = "(?:[A-Za-z][A-Za-z0-9-]*: [^\\r\\n]*\\r?\\n)*\\r?\\n?";
const BECH32 = "[qpzry9x8gf2tvdw0s3jn54khce6mua7lQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]";

/** Every detector, in report order. A new token format is a new entry (with its table tests). */
export const SECRET_DETECTORS: readonly SecretDetector[] = [
  {
    kind: "pem-private-key",
    anchors: ["PRIVATE KEY-----"],
    pattern: new RegExp(
      `-----BEGIN (?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----\\r?\\n${ARMOUR_HEADERS}${B64}{40,}`,
      "g",
    ),
  },
  {
    kind: "openssh-private-key",
    anchors: ["OPENSSH PRIVATE KEY-----"],
    // "b3BlbnNzaC1rZXktdjE" is base64 for "openssh-key-v1": documentation quoting the header alone is no key.
    pattern: new RegExp(`-----BEGIN OPENSSH PRIVATE KEY-----\\r?\\nb3BlbnNzaC1rZXktdjE${B64}{20,}`, "g"),
  },
  {
    kind: "pgp-private-key",
    anchors: ["PGP PRIVATE KEY BLOCK-----"],
    pattern: new RegExp(`-----BEGIN PGP PRIVATE KEY BLOCK-----\\r?\\n${ARMOUR_HEADERS}${B64}{40,}`, "g"),
  },
  {
    kind: "age-secret-key",
    anchors: ["AGE-SECRET-KEY-1"],
    pattern: new RegExp(`AGE-SECRET-KEY-1${BECH32}{58}(?!${BECH32})`, "g"),
  },
  {
    kind: "aws-access-key",
    anchors: ["AKIA", "ASIA"],
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
    // AWS's documentation key (AKIAIOSFODNN7EXAMPLE) ships in SDKs and their docs.
    ignore: (m) => m.endsWith("EXAMPLE"),
  },
  {
    kind: "github-token",
    anchors: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g,
  },
  {
    kind: "github-token",
    anchors: ["github_pat_"],
    pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])/g,
  },
  {
    kind: "gitlab-token",
    anchors: ["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-"],
    pattern: /(?<![A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glcbt)-[A-Za-z0-9_-]{20,}/g,
  },
  {
    kind: "slack-token",
    anchors: ["xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-"],
    // Real tokens carry a numeric team/user id; Slack's docs' `xoxb-not-a-real-token` has none.
    pattern: /(?<![A-Za-z0-9])xox[abposre]-[0-9]{6,}-[0-9A-Za-z-]{8,}/g,
  },
  {
    kind: "slack-token",
    anchors: ["hooks.slack.com/services/"],
    pattern: /hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g,
  },
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A file matching none of the detectors' anchors holds no secret they know. */
function anchorPattern(detectors: readonly SecretDetector[]): RegExp {
  return new RegExp([...new Set(detectors.flatMap((d) => d.anchors))].map(escapeRegExp).join("|"));
}

const DEFAULT_ANCHORS = anchorPattern(SECRET_DETECTORS);

/**
 * The kinds of secret in a text (each kind once, in detector order). Only kinds are returned:
 * callers cannot leak what they never get.
 */
export function detectSecrets(
  text: string,
  detectors: readonly SecretDetector[] = SECRET_DETECTORS,
): SecretKind[] {
  const anchors = detectors === SECRET_DETECTORS ? DEFAULT_ANCHORS : anchorPattern(detectors);
  if (!anchors.test(text)) return [];
  const kinds: SecretKind[] = [];
  for (const d of detectors) {
    if (kinds.includes(d.kind) || !d.anchors.some((a) => text.includes(a))) continue;
    d.pattern.lastIndex = 0;
    for (const m of text.matchAll(d.pattern)) {
      if (d.ignore?.(m[0])) continue;
      kinds.push(d.kind);
      break;
    }
  }
  return kinds;
}

/** How many leading bytes decide whether a file is binary (git's heuristic: a NUL among them). */
export const BINARY_SNIFF_BYTES = 8000;

/** A NUL byte in the first {@link BINARY_SNIFF_BYTES} bytes: a binary file, not scanned. */
export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

export interface SecretScanLimits {
  /** Larger files are skipped (counted as `tooLarge`). */
  maxFileBytes: number;
  /** Per host: new paths are scanned smallest first until their NAR sizes add up to this. */
  maxHostBytes: number;
}

export const DEFAULT_SECRET_SCAN_LIMITS: SecretScanLimits = {
  maxFileBytes: 1024 * 1024,
  maxHostBytes: 256 * 1024 * 1024,
};

/** One secret: where it is and what kind. Never its text. */
export interface SecretFinding {
  storePath: string;
  /** Relative to the store path; "" when the store path is itself the file. */
  file: string;
  kind: SecretKind;
}

/** What the scan of one store path found and skipped (the effect's answer). */
export interface StorePathScan {
  findings: { file: string; kind: SecretKind }[];
  filesScanned: number;
  bytesScanned: number;
  skippedBinary: number;
  skippedTooLarge: number;
  /** Files or directories that could not be read, and symlinks (never followed). */
  skippedOther: number;
}

/** A host's scan: its new store paths, what was read, what was found. */
export interface SecretScan {
  findings: SecretFinding[];
  /** Store paths in the after closure and not in the before one. */
  newPaths: number;
  pathsScanned: number;
  /** New paths left out because the per-host budget was spent (the largest ones). */
  pathsOverBudget: number;
  filesScanned: number;
  bytesScanned: number;
  skippedBinary: number;
  skippedTooLarge: number;
  skippedOther: number;
}

/** Paths in `after` and not in `before`. */
export function newStorePaths(
  before: readonly StorePathInfo[],
  after: readonly StorePathInfo[],
): StorePathInfo[] {
  const old = new Set(before.map((p) => p.path));
  return after.filter((p) => !old.has(p.path));
}

/**
 * Which new paths a host's scan reads: smallest first (secrets live in small files: generated
 * configs, `writeText` outputs), until the budget is spent; the rest are reported as not scanned.
 */
export function planSecretScan(
  paths: readonly StorePathInfo[],
  limits: SecretScanLimits,
): { scan: string[]; overBudget: string[] } {
  const sorted = [...paths].sort((a, b) => a.narSize - b.narSize || (a.path < b.path ? -1 : 1));
  const scan: string[] = [];
  const overBudget: string[] = [];
  let spent = 0;
  for (const p of sorted) {
    if (spent + p.narSize > limits.maxHostBytes) overBudget.push(p.path);
    else {
      spent += p.narSize;
      scan.push(p.path);
    }
  }
  return { scan, overBudget };
}

/** A host's scan from the scans of its paths, findings ordered by store path, file, kind. */
export function combineSecretScans(
  newPaths: number,
  scanned: ReadonlyMap<string, StorePathScan>,
  overBudget: number,
): SecretScan {
  const scan: SecretScan = {
    findings: [],
    newPaths,
    pathsScanned: scanned.size,
    pathsOverBudget: overBudget,
    filesScanned: 0,
    bytesScanned: 0,
    skippedBinary: 0,
    skippedTooLarge: 0,
    skippedOther: 0,
  };
  for (const [storePath, s] of scanned) {
    for (const f of s.findings) scan.findings.push({ storePath, file: f.file, kind: f.kind });
    scan.filesScanned += s.filesScanned;
    scan.bytesScanned += s.bytesScanned;
    scan.skippedBinary += s.skippedBinary;
    scan.skippedTooLarge += s.skippedTooLarge;
    scan.skippedOther += s.skippedOther;
  }
  scan.findings.sort(
    (a, b) =>
      cmp(a.storePath, b.storePath) ||
      cmp(a.file, b.file) ||
      SECRET_KINDS.indexOf(a.kind) - SECRET_KINDS.indexOf(b.kind),
  );
  return scan;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `/nix/store/…-deploy-keys/etc/id_ed25519`, or the store path when it is the file. */
export function findingLocation(f: Pick<SecretFinding, "storePath" | "file">): string {
  return f.file === "" ? f.storePath : `${f.storePath}/${f.file}`;
}
