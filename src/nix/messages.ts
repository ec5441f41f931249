/**
 * Readers of the error texts Nix prints on stderr, for one-line reports and per-host log tails. Pure;
 * each form is unit-tested from recorded stderr (testdata/README.md).
 */

/**
 * The message of Nix's evaluation or build error, for one-line reports. Recorded forms:
 *   Nix 2.8:   `error: MESSAGE` on the first line, then the position.
 *   Nix 2.13+: a bare `error:` line, the trace (`… while evaluating …`, `at FILE:LINE:COL:`, source
 *              lines), then the cause as the last, indented `error: MESSAGE` (2.13 release notes:
 *              "Error traces have been reworked"; recorded from 2.24.15).
 */
export function evalErrorLine(stderr: string): string {
  const lines = stderr.split("\n");
  const errors = lines
    .map((line, index) => ({ index, message: /^\s*error:(.*)$/.exec(line)?.[1]?.trim() }))
    .filter((e): e is { index: number; message: string } => e.message !== undefined);
  const first = errors[0];
  if (first === undefined) {
    return (
      lines
        .filter((l) => l.trim())
        .slice(-1)[0]
        ?.trim() ?? "evaluation failed"
    );
  }
  if (first.message !== "") return first.message;
  const cause = errors.slice(1).find((e) => e.message !== "");
  if (cause !== undefined) return cause.message;
  return (
    lines
      .slice(first.index + 1)
      .find((l) => l.trim() && !l.trim().startsWith("…"))
      ?.trim() ?? "evaluation failed"
  );
}

export interface BuildFailure {
  drvPath: string;
  header: string;
  log: string[];
}

/**
 * Failed derivations and their log tails from `nix build` stderr. Forms:
 *   Nix 2.8–2.24 (recorded): `error: builder for '/nix/store/…drv' failed with exit code 1;` then
 *              `last N log lines:` and `> …` lines.
 *   Later (NixOS/nix#13169, 2025; quoted in NixOS/nix#13509): `error: Cannot build '/nix/store/…drv'.`
 *              then `Reason: builder failed…` and `Last N log lines:` with the same `> …` lines.
 */
export function parseBuildFailures(stderr: string): BuildFailure[] {
  const failures: BuildFailure[] = [];
  let current: BuildFailure | undefined;
  // A structured build through a daemon reports a failed builder twice (recorded from 2.8 and 2.24
  // with --log-format internal-json: the daemon's message, then the client's final error); a local
  // store's first report alone has the log lines (internal-log.ts). One failure per derivation,
  // the one with the most log lines.
  const unique = () => {
    const best = new Map<string, BuildFailure>();
    for (const f of failures) {
      const seen = best.get(f.drvPath);
      if (!seen || f.log.length > seen.log.length) best.set(f.drvPath, f);
    }
    return [...best.values()];
  };
  for (const line of stderr.split("\n")) {
    const start = /error:\s+(?:builder for|Cannot build) '([^']+\.drv)'/.exec(line);
    if (start) {
      current = { drvPath: start[1] as string, header: line.trim(), log: [] };
      failures.push(current);
      continue;
    }
    if (current) {
      const log = /^\s*> ?(.*)$/.exec(line);
      if (log) current.log.push(log[1] as string);
      else if (/^\S/.test(line)) current = undefined;
    }
  }
  return unique();
}

/**
 * Why `nix-store --realise PATH` could not substitute a path, in one line. Recorded forms
 * (testdata/realise-*): a substitute refused for its signature is a warning before the generic
 * `error: build of 'PATH' failed` (Nix 2.8: "the substitute for 'P' from 'URI' is not signed by any
 * of the keys in 'trusted-public-keys'"; 2.24: "ignoring substitute for 'P' from 'URI', as it's not
 * signed by …"); a path no cache has is `don't know how to build these paths:`.
 */
export function substitutionFailure(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim());
  const unsigned = lines.find((l) => /not signed by any of the keys/.test(l));
  if (unsigned !== undefined) {
    const cache = /from '([^']*)'/.exec(unsigned)?.[1];
    return `the substitute${cache === undefined ? "" : ` in ${cache}`} is not signed by any key in trusted-public-keys`;
  }
  if (lines.some((l) => /^don't know how to build these paths/.test(l)))
    return "no binary cache this host uses has it";
  const error = lines.find((l) => l.startsWith("error:"));
  return error === undefined ? "nix-store --realise failed" : error.replace(/^error:\s*/, "");
}
