import type { Command } from "commander";
import type { Runtime } from "./runtime.js";

export type RegisterCommand = (program: Command, runtime: () => Runtime) => void;

/** Wrap a command's async body; its returned number becomes the process exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async function (this: Command, ...args: A): Promise<void> {
    const code = await fn(...args);
    (this as Command & { ternixExitCode?: number }).ternixExitCode = code;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
