/**
 * Activating a NixOS system: `<toplevel>/bin/switch-to-configuration ACTION`, and checking the
 * result (its exit status, units that newly failed, the user's checks).
 */
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { InputError, SystemError } from "../../errors.js";
import { systemdRunArgs, systemdRunProbeArgs } from "../../system/activation-command.js";
import { checkReport, type CheckReport, type CheckResult, type CheckSpec } from "../../system/checks.js";
import { failedUnitsCheck, readFailedUnits, runCheck, type CheckDeps, type FailedUnits } from "./checks.js";

export type ActivationAction = "switch" | "boot" | "test";

export interface Activation {
  action: ActivationAction;
  storePath: string;
  ok: boolean;
  argv: readonly string[];
  exitCode: number | null;
  stderr: string;
  durationMs: number;
}

export function switchScriptOf(storePath: string): string {
  return join(storePath, "bin", "switch-to-configuration");
}

/** Fail before anything changes when the build is not a NixOS system. */
export async function requireNixosSystem(storePath: string): Promise<void> {
  try {
    await access(switchScriptOf(storePath), constants.X_OK);
  } catch {
    throw new InputError(`${storePath} is not a NixOS system: it has no bin/switch-to-configuration.`, {
      hint: "Nothing was changed. Point Ternix at a nixosConfigurations host.",
    });
  }
}

/**
 * Run switch-to-configuration; a non-zero exit is a result (the checks decide what it means).
 * Under `systemdRun` when it works (see src/system/activation-command.ts), else directly.
 */
export async function activate(
  storePath: string,
  action: ActivationAction,
  deps: CheckDeps,
  options: { systemdRun?: string | undefined } = {},
): Promise<Activation> {
  const script = switchScriptOf(storePath);
  const env = deps.effects.env;
  const systemdRun =
    options.systemdRun !== undefined && (await systemdRunWorks(options.systemdRun, deps))
      ? options.systemdRun
      : undefined;
  const started = deps.effects.now().getTime();
  const [command, args] =
    systemdRun === undefined ? [script, [action]] : [systemdRun, systemdRunArgs(script, action, env)];
  const result = await deps.effects.run(command, args, {
    env,
    onStderrLine: (line) => deps.effects.onEvent({ type: "log", level: "info", message: `  ${line}` }),
  });
  return {
    action,
    storePath,
    ok: result.exitCode === 0,
    argv: result.argv,
    exitCode: result.exitCode,
    stderr: result.stderr,
    durationMs: deps.effects.now().getTime() - started,
  };
}

/** One probe per executable (and runner): a rollback after a failed switch does not ask again. */
const probes = new WeakMap<CheckDeps["effects"]["run"], Map<string, Promise<boolean>>>();

/**
 * Whether systemd-run can start a service here (not in containers, chroots or without systemd as
 * PID 1, where Ternix activates directly, as nixos-rebuild does). Says so when it falls back.
 */
function systemdRunWorks(systemdRun: string, deps: CheckDeps): Promise<boolean> {
  const byRunner = probes.get(deps.effects.run) ?? new Map<string, Promise<boolean>>();
  probes.set(deps.effects.run, byRunner);
  let probe = byRunner.get(systemdRun);
  if (probe === undefined) {
    probe = deps.effects
      .run(systemdRun, systemdRunProbeArgs(deps.effects.env), { env: deps.effects.env })
      .then(
        (result) => result.exitCode === 0,
        () => false,
      )
      .then((works) => {
        if (!works) {
          deps.effects.onEvent({
            type: "log",
            level: "info",
            message: `${systemdRun} does not work here; running switch-to-configuration directly (keep this terminal open until it ends).`,
          });
        }
        return works;
      });
    byRunner.set(systemdRun, probe);
  }
  return probe;
}

/** The activation as an error, for places where there is nothing left to fall back on. */
export function activationError(activation: Activation, message: string, hint: string): SystemError {
  return new SystemError(message, activation.argv, activation.exitCode, activation.stderr, { hint });
}

export function activationCheck(activation: Activation): CheckResult {
  const name = `switch-to-configuration ${activation.action}`;
  const detail = activation.ok
    ? "exit 0"
    : `exit ${activation.exitCode ?? "by signal"}${lastLine(activation.stderr) ? `: ${lastLine(activation.stderr)}` : ""}`;
  return {
    name,
    kind: "activation",
    status: activation.ok ? "passed" : "failed",
    attempts: 1,
    detail,
    durationMs: activation.durationMs,
  };
}

function lastLine(text: string): string {
  return (text.trim().split("\n").pop() ?? "").trim();
}

export interface VerifyOptions {
  systemctl: string;
  /** Failed units before activation (taken before switch-to-configuration ran). */
  unitsBefore: FailedUnits;
  checks: readonly CheckSpec[];
  onCheck?: ((result: CheckResult) => void) | undefined;
}

/** Every check after an activation. When the activation itself failed, the rest are skipped: a rollback is due either way. */
export async function verifyActivation(
  activation: Activation,
  options: VerifyOptions,
  deps: CheckDeps,
): Promise<CheckReport> {
  const results: CheckResult[] = [];
  const add = (result: CheckResult) => {
    results.push(result);
    options.onCheck?.(result);
  };
  add(activationCheck(activation));
  if (!activation.ok) {
    for (const spec of options.checks) {
      add({
        name: spec.name,
        kind: spec.kind,
        status: "skipped",
        attempts: 0,
        detail: "activation failed",
        durationMs: 0,
      });
    }
    return checkReport(results);
  }
  const started = deps.effects.now().getTime();
  const unitsAfter = await readFailedUnits(options.systemctl, deps);
  add(failedUnitsCheck(options.unitsBefore, unitsAfter, deps.effects.now().getTime() - started));
  for (const spec of options.checks) add(await runCheck(spec, deps));
  return checkReport(results);
}
