/**
 * `ternix doctor`'s findings: the production triage order (what runs vs what should, reboot
 * pending, known good; failed units and errors since boot; the store; Nix; secrets) as rules over
 * facts gathered once. Each rule is small and pure and returns one finding with a verdict and what
 * to do. Rules as data: `DOCTOR_RULES` is the order the report shows them in.
 */
import { findingLocation, SECRET_KINDS, type SecretScan } from "../closure/secrets.js";
import type { BootFiles } from "./reboot.js";
import { rebootReason } from "./reboot.js";

export type Verdict = "ok" | "warn" | "fail" | "unavailable";

export interface Finding {
  /** Stable identifier, e.g. `running`, `failed-units`. */
  id: string;
  /** The triage section: what runs, health, store, nix, secrets. */
  section: DoctorSection;
  verdict: Verdict;
  /** One line: what was found. */
  summary: string;
  /** Further lines (unit names, log lines, roots). */
  details: string[];
  /** What to do, when there is something to do. */
  action?: string | undefined;
}

export type DoctorSection = "system" | "health" | "store" | "nix" | "secrets";

/** A fact that could be read, or why not. */
export type Probe<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface GenerationFact {
  number: number;
  storePath: string;
  specialisations?: readonly string[] | undefined;
}

export interface DoctorFacts {
  host: string | undefined;
  currentSystemLink: string;
  bootedSystemLink: string;
  running: string | undefined;
  booted: string | undefined;
  runningBoot: BootFiles | undefined;
  bootedBoot: BootFiles | undefined;
  profile: string;
  generations: readonly GenerationFact[];
  current: number | undefined;
  /**
   * What the flake builds for the host now (evaluation only); `failed`: the flake does not evaluate
   * or has no such host (a finding that fails, not one that could not be checked).
   */
  flake: Probe<{ dir: string; outPath: string }> | { ok: false; reason: string; failed: true };
  /** The newest known-good generation and whether its system is still a valid store path. */
  knownGood: Probe<{ number: number; storePath: string; inStore: boolean } | undefined>;
  failedUnits: Probe<readonly string[]>;
  /** `journalctl -b -p err`, the last lines. */
  journal: Probe<readonly string[]>;
  disk: Probe<{ path: string; freeBytes: number; totalBytes: number }>;
  store: Probe<{ paths: number; narBytes: number }>;
  gc: Probe<{
    keep: number;
    generations: number;
    deletable: readonly number[];
    paths: number;
    bytes: number;
  }>;
  roots: Probe<{
    total: number;
    /** Roots held by running processes (`{temp:PID}`, `{memory:N}`…), not in `top`. */
    transient: number;
    top: readonly { link: string; target: string; closureBytes: number }[];
  }>;
  /** `client`: as shown (e.g. `Nix 2.24.15`); `clientVersion`: what a daemon of the same build reports. */
  nixVersions: { client: string; clientVersion: string; daemon: Probe<string | undefined> };
  storeSchema: Probe<{ schema: string; known: readonly string[] }>;
  channels: Probe<readonly { name: string; url: string }[]>;
  usesFlake: boolean;
  /**
   * The running system's whole closure scanned with `plan`'s scanner (closure/secrets.ts): here
   * `newPaths` counts every path of that closure (nothing is "before" it).
   */
  secrets: Probe<SecretScan>;
}

export type DoctorRule = (facts: DoctorFacts) => Finding;

const GiB = 1024 ** 3;

/** Free space under the store: below these, a warning or a failure (whichever is hit first). */
export const DISK_THRESHOLDS = { failBytes: 1 * GiB, warnBytes: 5 * GiB, warnFraction: 0.1 } as const;
/** A generation clean-up worth suggesting frees at least this much. */
export const GC_SUGGEST_BYTES = 1 * GiB;
/** At most this many journal lines are shown. */
export const JOURNAL_LINES = 10;

const finding = (
  id: string,
  section: DoctorSection,
  verdict: Verdict,
  summary: string,
  extra: { details?: string[]; action?: string | undefined } = {},
): Finding => ({ id, section, verdict, summary, details: extra.details ?? [], action: extra.action });

const unavailable = (id: string, section: DoctorSection, what: string, reason: string): Finding =>
  finding(id, section, "unavailable", `${what}: not available (${reason})`);

function generationOf(facts: DoctorFacts, path: string | undefined): GenerationFact | undefined {
  if (path === undefined) return undefined;
  return facts.generations.find((g) => g.storePath === path || (g.specialisations ?? []).includes(path));
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `/run/current-system` against the system profile's generations. */
export const runningRule: DoctorRule = (f) => {
  if (f.running === undefined)
    return finding("running", "system", "fail", `${f.currentSystemLink} does not lead to a store path`, {
      action:
        "Is this a NixOS machine? Pass --current-system PATH if the running system is linked elsewhere.",
    });
  const gen = generationOf(f, f.running);
  if (gen === undefined)
    return finding("running", "system", "warn", `the running system is no generation of ${f.profile}`, {
      details: [f.running],
      action:
        f.current === undefined
          ? "It was activated without a profile; `ternix switch` makes it a generation."
          : `It was activated with \`test\`: a reboot returns to generation ${f.current}; \`ternix switch\` keeps it.`,
    });
  if (gen.number === f.current)
    return finding("running", "system", "ok", `running generation ${gen.number}, the boot default`, {
      details: [f.running],
    });
  return finding(
    "running",
    "system",
    "warn",
    `running generation ${gen.number}, but the boot default is ${f.current ?? "unknown"}`,
    {
      details: [f.running],
      action: `A reboot starts generation ${f.current ?? "?"}; \`ternix rollback --to ${gen.number}\` makes the running one the default.`,
    },
  );
};

/** What runs against what the flake builds for this host now. */
export const flakeRule: DoctorRule = (f) => {
  if (!f.flake.ok) {
    return "failed" in f.flake
      ? finding(
          "flake",
          "system",
          "fail",
          `the flake's system for ${f.host ?? "this host"}: ${f.flake.reason}`,
          {
            action: "`ternix build --verbose` shows Nix's error; name the host this machine runs as HOST.",
          },
        )
      : unavailable("flake", "system", "the flake's system", f.flake.reason);
  }
  const { outPath, dir } = f.flake.value;
  if (outPath === f.running)
    return finding(
      "flake",
      "system",
      "ok",
      `the running system is what ${dir} builds for ${f.host ?? "this host"}`,
    );
  const gen = generationOf(f, outPath);
  return finding(
    "flake",
    "system",
    "warn",
    `${dir} builds another system for ${f.host ?? "this host"} than the one running`,
    {
      details: [
        `flake:   ${outPath}${gen ? ` (generation ${gen.number})` : ""}`,
        `running: ${f.running ?? "(none)"}`,
      ],
      action: "`ternix build` shows the difference; `sudo ternix switch` applies it.",
    },
  );
};

/** Booted against running: a kernel, initrd or modules change waits for a reboot. */
export const rebootRule: DoctorRule = (f) => {
  if (f.booted === undefined || f.bootedBoot === undefined)
    return unavailable(
      "reboot",
      "system",
      "booted vs running",
      `${f.bootedSystemLink} does not lead to a store path`,
    );
  if (f.runningBoot === undefined)
    return unavailable("reboot", "system", "booted vs running", "no running system");
  const reason = rebootReason(f.bootedBoot, f.runningBoot);
  if (reason === undefined)
    return finding("reboot", "system", "ok", "no reboot pending: the running system boots what was booted");
  return finding("reboot", "system", "warn", `reboot pending: ${reason}`, {
    details: [`booted:  ${f.booted}`, `running: ${f.running ?? "(none)"}`],
    action: "Reboot when convenient (the boot default is what a reboot starts).",
  });
};

export const knownGoodRule: DoctorRule = (f) => {
  if (!f.knownGood.ok)
    return unavailable("known-good", "system", "known-good generation", f.knownGood.reason);
  const good = f.knownGood.value;
  if (good === undefined)
    return finding("known-good", "system", "warn", "no generation is recorded as known good", {
      action:
        "`sudo ternix switch` records one once its checks pass; until then gc protects only current, running and booted.",
    });
  if (!good.inStore)
    return finding(
      "known-good",
      "system",
      "fail",
      `known-good generation ${good.number} is no longer in the store`,
      {
        details: [good.storePath],
        action:
          "There is no verified system to roll back to: run `nix-store --verify --check-contents` and switch to a good system again.",
      },
    );
  return finding("known-good", "system", "ok", `generation ${good.number} is known good and in the store`, {
    details: [good.storePath],
    action:
      f.current === good.number ? undefined : `\`sudo ternix rollback --to ${good.number}\` returns to it.`,
  });
};

export const failedUnitsRule: DoctorRule = (f) => {
  if (!f.failedUnits.ok) return unavailable("failed-units", "health", "failed units", f.failedUnits.reason);
  const units = f.failedUnits.value;
  if (units.length === 0) return finding("failed-units", "health", "ok", "no failed systemd units");
  return finding(
    "failed-units",
    "health",
    "fail",
    `${units.length} failed systemd unit${units.length > 1 ? "s" : ""}`,
    {
      details: [...units],
      action: "`systemctl status UNIT` and `journalctl -b -u UNIT` say why.",
    },
  );
};

export const journalRule: DoctorRule = (f) => {
  if (!f.journal.ok) return unavailable("journal", "health", "errors since boot", f.journal.reason);
  const lines = f.journal.value;
  if (lines.length === 0) return finding("journal", "health", "ok", "no errors logged since boot");
  return finding("journal", "health", "warn", "errors logged since boot (the last ones)", {
    details: lines.slice(-JOURNAL_LINES),
    action: "`journalctl -b -p err` shows them all.",
  });
};

export const diskRule: DoctorRule = (f) => {
  if (!f.disk.ok) return unavailable("disk", "store", "free space", f.disk.reason);
  const { path, freeBytes, totalBytes } = f.disk.value;
  const summary = `${formatBytes(freeBytes)} free of ${formatBytes(totalBytes)} on ${path}`;
  const action = "`sudo ternix gc` deletes old generations and collects garbage; `--optimise` deduplicates.";
  if (freeBytes < DISK_THRESHOLDS.failBytes) return finding("disk", "store", "fail", summary, { action });
  if (freeBytes < DISK_THRESHOLDS.warnBytes || freeBytes < totalBytes * DISK_THRESHOLDS.warnFraction)
    return finding("disk", "store", "warn", summary, { action });
  return finding("disk", "store", "ok", summary);
};

export const storeSizeRule: DoctorRule = (f) => {
  if (!f.store.ok) return unavailable("store-size", "store", "store size", f.store.reason);
  return finding(
    "store-size",
    "store",
    "ok",
    `the store holds ${f.store.value.paths} paths, ${formatBytes(f.store.value.narBytes)} (NAR sizes)`,
  );
};

export const generationsRule: DoctorRule = (f) => {
  if (!f.gc.ok) return unavailable("generations", "store", "generations", f.gc.reason);
  const { generations, deletable, bytes, paths, keep } = f.gc.value;
  const summary =
    deletable.length === 0
      ? `${generations} system generation${generations === 1 ? "" : "s"}; gc (keep ${keep}) would delete none`
      : `${generations} system generations; gc (keep ${keep}) would delete ${deletable.length} and free about ${formatBytes(bytes)} (${paths} paths)`;
  if (deletable.length > 0 && bytes >= GC_SUGGEST_BYTES)
    return finding("generations", "store", "warn", summary, {
      details: [`deletable: ${deletable.join(", ")}`],
      action:
        "`sudo ternix gc` (never deletes the current, running, booted or known-good generation); `--dry-run` shows the plan.",
    });
  return finding("generations", "store", "ok", summary, {
    details: deletable.length > 0 ? [`deletable: ${deletable.join(", ")}`] : [],
  });
};

export const rootsRule: DoctorRule = (f) => {
  if (!f.roots.ok) return unavailable("gc-roots", "store", "GC roots", f.roots.reason);
  const { total, transient, top } = f.roots.value;
  const held = transient > 0 ? ` (${transient} held by running processes)` : "";
  return finding("gc-roots", "store", "ok", `${total} GC roots${held}; those that keep the most:`, {
    details: top.map((r) => `${formatBytes(r.closureBytes).padStart(10)}  ${r.link}`),
  });
};

export const nixVersionsRule: DoctorRule = (f) => {
  const { client, clientVersion, daemon } = f.nixVersions;
  if (!daemon.ok)
    return finding(
      "nix-versions",
      "nix",
      "unavailable",
      `${client}; daemon: not available (${daemon.reason})`,
    );
  if (daemon.value === undefined)
    return finding("nix-versions", "nix", "ok", `${client}, local store (no daemon)`);
  if (daemon.value === clientVersion)
    return finding("nix-versions", "nix", "ok", `${client}, daemon ${daemon.value}`);
  return finding("nix-versions", "nix", "warn", `${client}, but the daemon runs ${daemon.value}`, {
    action: "After upgrading Nix, restart the daemon (`sudo systemctl restart nix-daemon`) so both agree.",
  });
};

export const storeSchemaRule: DoctorRule = (f) => {
  if (!f.storeSchema.ok) return unavailable("store-schema", "nix", "store schema", f.storeSchema.reason);
  const { schema, known } = f.storeSchema.value;
  if (known.includes(schema)) return finding("store-schema", "nix", "ok", `store database schema ${schema}`);
  return finding(
    "store-schema",
    "nix",
    "warn",
    `store database schema ${schema}, newer than Ternix knows (${known.join(", ")})`,
    {
      action:
        "A newer Nix upgraded the store database; older Nix versions cannot open it, so do not downgrade Nix.",
    },
  );
};

export const channelsRule: DoctorRule = (f) => {
  if (!f.channels.ok) {
    return f.usesFlake
      ? finding("channels", "nix", "ok", `flake-based (channels: not available, ${f.channels.reason})`)
      : unavailable("channels", "nix", "channels", f.channels.reason);
  }
  const list = f.channels.value.map((c) => `${c.name} ${c.url}`);
  if (f.usesFlake && list.length > 0)
    return finding("channels", "nix", "warn", "flake-based, but channels are still configured", {
      details: list,
      action:
        "Rebuilds use the flake, while `<nixpkgs>` (nix-shell -p, nix-env) still follows the channel and drifts from the flake's nixpkgs: remove it (`nix-channel --remove NAME`, `nix.channel.enable = false`) or point NIX_PATH at the flake's nixpkgs.",
    });
  if (f.usesFlake) return finding("channels", "nix", "ok", "flake-based; no channels");
  if (list.length > 0)
    return finding("channels", "nix", "ok", "channel-based (no flake found)", { details: list });
  return finding("channels", "nix", "warn", "neither a flake nor a channel found", {
    action: "Run Ternix inside your system flake (or --flake DIR), or add a channel.",
  });
};

/** What the scan left out (the per-host and per-file limits), or undefined when it read everything. */
function secretScanGapLine(scan: SecretScan): string | undefined {
  const parts = [
    scan.pathsOverBudget > 0 &&
      `${scan.pathsOverBudget} of ${scan.newPaths} store paths (the largest; over the per-host size limit)`,
    scan.skippedTooLarge > 0 &&
      `${scan.skippedTooLarge} file${scan.skippedTooLarge === 1 ? "" : "s"} over the per-file size limit`,
  ].filter((p): p is string => typeof p === "string");
  return parts.length > 0 ? `not scanned: ${parts.join("; ")}` : undefined;
}

/**
 * Secrets in the running system's closure. The store is readable by every user, so any secret in
 * the running closure has leaked already: it fails, names where (host, store path, file) and what
 * kind, never the secret, and says to move it out of the store and rotate it.
 */
export const secretsRule: DoctorRule = (f) => {
  if (!f.secrets.ok)
    return unavailable("secrets", "secrets", "secrets in the running closure", f.secrets.reason);
  const scan = f.secrets.value;
  const gap = secretScanGapLine(scan);
  const scanned = `${scan.pathsScanned} of ${scan.newPaths} store paths, ${scan.filesScanned} text files read`;
  if (scan.findings.length === 0)
    return finding(
      "secrets",
      "secrets",
      "ok",
      `no secrets found in the running system's closure (${scanned})`,
      {
        details: gap === undefined ? [] : [gap],
      },
    );
  const files = new Set(scan.findings.map((x) => findingLocation(x))).size;
  const kinds = SECRET_KINDS.filter((k) => scan.findings.some((x) => x.kind === k));
  const width = Math.max(...scan.findings.map((x) => x.kind.length));
  return finding(
    "secrets",
    "secrets",
    "fail",
    `${files} file${files === 1 ? "" : "s"} in the running closure${f.host === undefined ? "" : ` of ${f.host}`} hold${files === 1 ? "s" : ""} a secret (${kinds.join(", ")}), readable by every user`,
    {
      details: [
        ...scan.findings.map((x) => `${x.kind.padEnd(width)}  ${findingLocation(x)}`),
        ...(gap ? [gap] : []),
      ],
      action:
        "Move each secret out of the Nix store: agenix or sops-nix, or a file the service reads at run time (`…File` options, systemd `LoadCredential=`), never its text in the configuration. Then rotate it: everyone who could read the store, and every cache or machine the closure was copied to, may have it.",
    },
  );
};

export const DOCTOR_RULES: readonly DoctorRule[] = [
  runningRule,
  flakeRule,
  rebootRule,
  knownGoodRule,
  failedUnitsRule,
  journalRule,
  diskRule,
  storeSizeRule,
  generationsRule,
  rootsRule,
  secretsRule,
  nixVersionsRule,
  storeSchemaRule,
  channelsRule,
];

export function diagnose(facts: DoctorFacts): Finding[] {
  return DOCTOR_RULES.map((rule) => rule(facts));
}

/** Lines of `nix-store --gc --print-roots`: `LINK -> TARGET`; `{censored}`/`{memory:…}` links kept as they are. */
export function parseGcRoots(text: string): { link: string; target: string }[] {
  const roots: { link: string; target: string }[] = [];
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf(" -> ");
    if (at <= 0) continue;
    const target = line.slice(at + 4).trim();
    if (!target.startsWith("/")) continue;
    roots.push({ link: line.slice(0, at), target });
  }
  return roots;
}

/** `nix-channel --list`: `NAME URL` per line. */
export function parseChannelList(text: string): { name: string; url: string }[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const [name = "", ...rest] = l.split(/\s+/);
      return { name, url: rest.join(" ") };
    });
}
