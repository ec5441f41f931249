/** Where the CLI writes: stdout for the report or JSON only, stderr for progress, logs and errors. */
import type { AppEvent } from "../app/effects.js";
import { TernixError } from "../errors.js";
import { FORGE_TOKEN_VARIABLES } from "../forge/token-variables.js";
import { renderBuildFinished } from "../report/build-progress.js";
import { printable, printableLines, terminalSafe } from "../report/style.js";

export interface OutputOptions {
  verbose: boolean;
  /** Explicit --color/--no-color; undefined means decide from the terminal and NO_COLOR. */
  color?: boolean | undefined;
}

export interface Output {
  readonly color: boolean;
  readonly stderrColor: boolean;
  readonly interactive: boolean;
  readonly ci: "github" | "forgejo" | "generic" | undefined;
  readonly verbose: boolean;
  stdout(text: string): void;
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  event(event: AppEvent): void;
  error(error: unknown): void;
}

export function detectCi(env: NodeJS.ProcessEnv): Output["ci"] {
  if (env.FORGEJO_ACTIONS === "true" || env.GITEA_ACTIONS === "true") return "forgejo";
  if (env.GITHUB_ACTIONS === "true") return "github";
  if (env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0") return "generic";
  return undefined;
}

export function wantsColor(isTty: boolean, env: NodeJS.ProcessEnv, explicit: boolean | undefined): boolean {
  if (explicit !== undefined) return explicit;
  // https://no-color.org: any non-empty NO_COLOR disables colour.
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTty;
}

/**
 * The forms a secret from the environment can take in output (as is, URL-encoded, escaped), longest
 * first; values under 4 characters are not secrets worth hiding every occurrence of.
 */
function secretForms(env: NodeJS.ProcessEnv): string[] {
  const forms = new Set<string>();
  for (const variable of FORGE_TOKEN_VARIABLES) {
    const value = env[variable]?.trim();
    if (value === undefined || value.length < 4) continue;
    for (const form of [value, encodeURIComponent(value), printable(value), printableLines(value)])
      forms.add(form);
    for (const line of value.split(/[\r\n]+/)) if (line.trim().length >= 4) forms.add(line.trim());
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Every write goes through this: forge tokens never reach the terminal, whoever's text holds them. */
function redactor(env: NodeJS.ProcessEnv): (text: string) => string {
  const secrets = secretForms(env);
  return (text) => secrets.reduce((out, secret) => out.split(secret).join("***"), text);
}

export function createOutput(options: OutputOptions, env: NodeJS.ProcessEnv = process.env): Output {
  const redact = redactor(env);
  const ci = detectCi(env);
  const color = wantsColor(process.stdout.isTTY, env, options.color);
  const stderrColor = wantsColor(process.stderr.isTTY, env, options.color);
  const interactive = process.stderr.isTTY && process.stdin.isTTY && ci === undefined;
  // Every message may hold text from outside (names from a flake, a forge's or Nix's words): its
  // control characters are escaped (line breaks kept) before our own colours are added.
  const paint = (code: string, text: string) => (stderrColor ? `\x1b[${code}m${text}\x1b[0m` : text);
  const err = (...parts: string[]) => process.stderr.write(redact(parts.join("")) + "\n");
  const safe = printableLines;
  return {
    color,
    stderrColor,
    interactive,
    ci,
    verbose: options.verbose,
    stdout: (text) => process.stdout.write(redact(terminalSafe(text.endsWith("\n") ? text : text + "\n"))),
    info: (message) => err(safe(message)),
    warn: (message) => err(paint("33", "warning:"), " ", safe(message)),
    debug: (message) => {
      if (options.verbose) err(paint("2", safe(message)));
    },
    event(event) {
      switch (event.type) {
        case "log":
          if (event.level === "warn") err(paint("33", "warning:"), " ", safe(event.message));
          else if (event.level === "info") err(safe(event.message));
          else if (options.verbose) err(paint("2", safe(event.message)));
          break;
        case "phase":
          err(paint("1", safe(event.message)));
          break;
        case "host":
          err(safe(`  ${printable(event.host)}: ${event.state}${event.detail ? ` (${event.detail})` : ""}`));
          break;
        case "build-line":
          if (options.verbose) err(paint("2", printable(event.line)));
          break;
        // A command that shows a build's progress does so through progress.ts; here only --verbose
        // gets the finished derivations.
        case "build-progress":
          break;
        case "build-finished":
          if (options.verbose) err(paint("2", renderBuildFinished(event)));
          break;
      }
    },
    error(error) {
      if (error instanceof TernixError) {
        err(paint("31;1", "error:"), " ", safe(error.message));
        if (error.hint) err(paint("36", "hint:"), " ", safe(error.hint));
        if (error.detail) {
          if (options.verbose) err(safe(error.detail));
          else err(paint("2", "(run with --verbose for details)"));
        }
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      err(paint("31;1", "internal error:"), " ", safe(message));
      err(`${paint("36", "hint:")} this is a bug in Ternix; please report it with the output of --verbose.`);
      if (options.verbose && error instanceof Error && error.stack) err(safe(error.stack));
    },
  };
}
