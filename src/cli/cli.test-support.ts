/** Test support: run the CLI in-process and capture what it writes (not shipped code). */
import { vi } from "vitest";
import { main } from "./main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ternix ARGS` with these environment variables set (and restored afterwards). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    vi.unstubAllEnvs();
  }
}
