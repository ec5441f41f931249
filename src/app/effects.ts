import type { Run } from "../proc/run.js";
import type { TargetProgress } from "./build-progress.js";
import type { Cleanup } from "./cleanup.js";
import type { ClosureCache } from "./closure-cache.js";
import type { StorePathScanner } from "./store-scan.js";

/** Progress and log events a use case reports; the CLI decides how to show them. */
export type AppEvent =
  | { type: "log"; level: "info" | "warn" | "debug"; message: string }
  | { type: "phase"; message: string }
  | {
      type: "host";
      host: string;
      state: "queued" | "evaluating" | "building" | "built" | "failed" | "unchanged" | "changed";
      side?: "before" | "after" | undefined;
      detail?: string | undefined;
    }
  | { type: "build-line"; line: string }
  /** A build's progress per host (build-progress.ts), whenever it changes. */
  | { type: "build-progress"; side?: "before" | "after" | undefined; hosts: readonly TargetProgress[] }
  /** One derivation of a build finished (built, or its builder failed); `hosts` are those that need it. */
  | {
      type: "build-finished";
      side?: "before" | "after" | undefined;
      drvPath: string;
      ok: boolean;
      hosts: readonly string[];
    };

/** The effects a use case may perform, passed in so tests can give real or fake ones. */
export interface Effects {
  run: Run;
  now: () => Date;
  onEvent: (event: AppEvent) => void;
  env: NodeJS.ProcessEnv;
  cleanup: Cleanup;
  /** Where closures already queried are kept (absent: always ask Nix). */
  closureCache?: ClosureCache | undefined;
  /**
   * Reads a store path's files for the secret scan (store-scan.ts); absent when the store is not
   * on this machine (or in tests that do not scan): no scan, and reports say so.
   */
  scanStore?: StorePathScanner | undefined;
}
