/**
 * "Run Ternix, signal it when stderr shows X": the built CLI in its own process, signalled once its
 * stderr matches `when` (the progress line that marks the phase under test). The caller then asserts
 * that the files are as they were.
 */
import { spawn } from "node:child_process";
import { stripStyle } from "../../src/report/style.js";
import { CLI_BIN } from "./cli.js";

export interface SignalledRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the signal was sent (stderr matched before the process ended). */
  sent: boolean;
}

export function runCliAndSignal(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; when: RegExp | string; signal?: NodeJS.Signals },
): Promise<SignalledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd,
      env: { ...options.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let sent = false;
    const matches = (text: string) =>
      typeof options.when === "string" ? text.includes(options.when) : options.when.test(text);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!sent && matches(stderr)) {
        sent = true;
        child.kill(options.signal ?? "SIGINT");
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: stripStyle(stdout), stderr: stripStyle(stderr), sent }),
    );
  });
}
