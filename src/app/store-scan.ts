/**
 * The secret scan's effect: read a store path's files from this machine's store and hand their
 * text to the pure detectors (closure/secrets.ts). Symlinks are never followed (a link out of the
 * path would scan someone else's files; a link inside it points at a file scanned on its own),
 * binary files and files over the size limit are skipped, nothing is written.
 *
 * Reads are synchronous: a store path is mostly small files, and a synchronous read of a small file
 * is several times cheaper than a promise per step; the event loop gets a turn after every path so
 * Ctrl-C is still handled promptly.
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync, constants } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  BINARY_SNIFF_BYTES,
  combineSecretScans,
  DEFAULT_SECRET_SCAN_LIMITS,
  detectSecrets,
  looksBinary,
  newStorePaths,
  planSecretScan,
  type SecretScan,
  type SecretScanLimits,
  type StorePathScan,
} from "../closure/secrets.js";
import type { ClosureDiff, StorePathInfo } from "../closure/model.js";
import { assessRisks } from "../closure/risk.js";
import { DEFAULT_STORE_DIR } from "../nix/schemas.js";
import { storeUriOf } from "../nix/store-db.js";

/** Scans one store path (absolute, as Nix names it). */
export type StorePathScanner = (storePath: string) => Promise<StorePathScan>;

/**
 * Where this machine's store paths can be read, for the store URI in use: "" for the machine's
 * own store (`auto`, `daemon`, `local`), the root of a chroot store (`local?root=DIR`), undefined
 * for a store elsewhere (ssh, http, another daemon), which is then not scanned.
 */
export function storeReadPrefix(uri: string): string | undefined {
  const queryAt = uri.indexOf("?");
  const scheme = queryAt < 0 ? uri : uri.slice(0, queryAt);
  const params = new URLSearchParams(queryAt < 0 ? "" : uri.slice(queryAt + 1));
  if (scheme === "auto" || scheme === "daemon") return params.size > 0 ? undefined : "";
  if (scheme === "local" || scheme.startsWith("/")) {
    if (params.has("store")) return undefined;
    const real = params.get("real");
    if (real !== null) return real.endsWith("/nix/store") ? real.slice(0, -"/nix/store".length) : undefined;
    const root = params.get("root") ?? (scheme.startsWith("/") ? scheme : undefined);
    return (root ?? "").replace(/\/+$/, "");
  }
  return undefined;
}

/** The scanner for the store Nix uses with these options, or undefined when it is not on this machine. */
export function storeScannerFor(
  options: readonly (readonly [string, string])[],
  env: NodeJS.ProcessEnv,
  limits: Pick<SecretScanLimits, "maxFileBytes">,
): StorePathScanner | undefined {
  // Store paths name another directory than the one they are read from: not worth guessing.
  if ((env["NIX_STORE_DIR"] || env["NIX_STORE"] || DEFAULT_STORE_DIR) !== DEFAULT_STORE_DIR) return undefined;
  const prefix = storeReadPrefix(storeUriOf(options, env));
  if (prefix === undefined) return undefined;
  return fileStoreScanner(prefix, limits.maxFileBytes);
}

/** Reads `<prefix><storePath>` from the file system. */
export function fileStoreScanner(prefix: string, maxFileBytes: number): StorePathScanner {
  // One buffer for every file: a file is read whole (it is at most maxFileBytes) and tested at once.
  const buffer = Buffer.allocUnsafe(Math.max(maxFileBytes, BINARY_SNIFF_BYTES));
  return async (storePath) => {
    const scan: StorePathScan = {
      findings: [],
      filesScanned: 0,
      bytesScanned: 0,
      skippedBinary: 0,
      skippedTooLarge: 0,
      skippedOther: 0,
    };
    const scanFile = (abs: string, rel: string) => {
      let fd: number;
      try {
        fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        scan.skippedOther++;
        return;
      }
      try {
        const size = fstatSync(fd).size;
        if (size > maxFileBytes) {
          scan.skippedTooLarge++;
          return;
        }
        // The sniffed prefix first: most files in a store path are binaries, and need no more.
        const fill = (from: number, to: number) => {
          let n = from;
          while (n < to) {
            const got = readSync(fd, buffer, n, to - n, n);
            if (got === 0) break;
            n += got;
          }
          return n;
        };
        let n = fill(0, Math.min(size, BINARY_SNIFF_BYTES));
        if (looksBinary(buffer.subarray(0, n))) {
          scan.skippedBinary++;
          return;
        }
        if (n === Math.min(size, BINARY_SNIFF_BYTES)) n = fill(n, size);
        const bytes = buffer.subarray(0, n);
        scan.filesScanned++;
        scan.bytesScanned += n;
        // latin1 maps every byte to one character: the detectors look for ASCII only.
        for (const kind of detectSecrets(bytes.toString("latin1"))) scan.findings.push({ file: rel, kind });
      } catch {
        scan.skippedOther++;
      } finally {
        closeSync(fd);
      }
    };
    const walk = (abs: string, rel: string) => {
      let entries;
      try {
        entries = readdirSync(abs, { withFileTypes: true });
      } catch {
        scan.skippedOther++;
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const childRel = rel === "" ? e.name : `${rel}/${e.name}`;
        const childAbs = `${abs}/${e.name}`;
        if (e.isDirectory()) walk(childAbs, childRel);
        else if (e.isFile()) scanFile(childAbs, childRel);
        else scan.skippedOther++;
      }
    };
    const root = `${prefix}${storePath}`;
    try {
      const st = lstatSync(root);
      if (st.isDirectory()) walk(root, "");
      else if (st.isFile()) scanFile(root, "");
      else scan.skippedOther++;
    } catch {
      scan.skippedOther++;
    }
    await nextTurn();
    return scan;
  };
}

/**
 * Scans hosts' new store paths, each path once however many hosts share it (a fleet's hosts
 * share most of an update's new paths). Returns one scan per host.
 */
export async function scanHostsForSecrets(
  scanner: StorePathScanner,
  hosts: readonly { host: string; before: readonly StorePathInfo[]; after: readonly StorePathInfo[] }[],
  limits: SecretScanLimits,
): Promise<Map<string, SecretScan>> {
  const cache = new Map<string, Promise<StorePathScan>>();
  const scanOnce = (path: string) => {
    let p = cache.get(path);
    if (!p) {
      p = scanner(path);
      cache.set(path, p);
    }
    return p;
  };
  const out = new Map<string, SecretScan>();
  // Sequential: the reads are synchronous anyway, and the order keeps the results deterministic.
  for (const h of hosts) {
    const fresh = newStorePaths(h.before, h.after);
    const { scan, overBudget } = planSecretScan(fresh, limits);
    const scanned = new Map<string, StorePathScan>();
    for (const path of scan) scanned.set(path, await scanOnce(path));
    out.set(h.host, combineSecretScans(fresh.length, scanned, overBudget.length));
  }
  return out;
}

/**
 * A one-pair diff (`ternix diff`, `ternix build`) with the after side's new paths scanned and the
 * risks assessed again with what the scan found. Without a scanner, the diff as it was.
 */
export async function withSecretScan(
  diff: ClosureDiff,
  before: readonly StorePathInfo[],
  after: readonly StorePathInfo[],
  scanner: StorePathScanner | undefined,
  limits: SecretScanLimits = DEFAULT_SECRET_SCAN_LIMITS,
): Promise<ClosureDiff> {
  if (!scanner) return diff;
  const scans = await scanHostsForSecrets(scanner, [{ host: "", before, after }], limits);
  const secrets = scans.get("");
  if (!secrets) return diff;
  const scanned = { ...diff, secrets };
  return { ...scanned, ...assessRisks(scanned) };
}
