import { InvalidArgumentError, type Command } from "commander";
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

/** A commander parser for a whole-number option value of at least `min`. */
export function parseCount(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes a whole number${min > 0 ? ` ≥ ${min}` : ""}.`);
    }
    return n;
  };
}
