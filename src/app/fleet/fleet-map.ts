/**
 * The one loop over a fleet: run a job per host with a concurrency bound, in waves (canaries first,
 * one at a time, and the rest only when every canary passed), stop starting hosts once more than
 * `maxFailures` failed (or any canary) or the signal aborted (hosts already running finish), and return one entry
 * per host. `deploy` and `status` differ only in their job.
 *
 * A small pool rather than p-limit: the decision that matters (may the next host start?) is taken
 * when a worker picks its next host, so it sits in the loop either way, and the loop is 20 lines.
 */

export type NotStartedReason =
  /** More than `maxFailures` hosts had failed when this one's turn came. */
  | "max-failures"
  /** A canary failed, so no host after the canaries started. */
  | "canary-failed"
  /** The signal aborted (Ctrl-C) before this host started. */
  | "aborted";

export type FleetEntry<R> =
  | { host: string; started: true; result: R }
  | { host: string; started: true; error: unknown }
  | { host: string; started: false; reason: NotStartedReason };

export interface FleetMapOptions<R> {
  /** Hosts deployed first, one at a time; the rest start only if none of them failed. */
  canaries?: readonly string[] | undefined;
  /** Hosts at once after the canaries (at least 1). */
  parallel: number;
  /** Failures tolerated: after more than this many, no further host starts. */
  maxFailures: number;
  /** Whether a job's result counts as a failure (a thrown error always does). */
  isFailure: (result: R) => boolean;
  signal?: AbortSignal | undefined;
  /** Told when a host's job starts (progress). */
  onStart?: ((host: string) => void) | undefined;
}

/** Run `job` for every host (canaries first); entries come back in the order of `hosts`. */
export async function fleetMap<R>(
  hosts: readonly string[],
  job: (host: string) => Promise<R>,
  options: FleetMapOptions<R>,
): Promise<FleetEntry<R>[]> {
  const entries = new Map<string, FleetEntry<R>>();
  const canaries = hosts.filter((h) => options.canaries?.includes(h));
  const rest = hosts.filter((h) => !canaries.includes(h));
  let failures = 0;
  let canaryFailed = false;

  const stopReason = (): NotStartedReason | undefined => {
    if (options.signal?.aborted) return "aborted";
    if (canaryFailed) return "canary-failed";
    if (failures > options.maxFailures) return "max-failures";
    return undefined;
  };

  const wave = async (wavehosts: readonly string[], width: number, canary: boolean) => {
    const queue = [...wavehosts];
    const worker = async () => {
      for (let host = queue.shift(); host !== undefined; host = queue.shift()) {
        const reason = stopReason();
        if (reason !== undefined) {
          entries.set(host, { host, started: false, reason });
          continue;
        }
        options.onStart?.(host);
        let entry: FleetEntry<R>;
        try {
          const result = await job(host);
          entry = { host, started: true, result };
          if (options.isFailure(result)) failures++;
        } catch (error) {
          entry = { host, started: true, error };
          failures++;
        }
        if (canary && failures > 0) canaryFailed = true;
        entries.set(host, entry);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(width, wavehosts.length)) }, worker));
  };

  await wave(canaries, 1, true);
  await wave(rest, options.parallel, false);
  return hosts.map((h) => entries.get(h) as FleetEntry<R>);
}
