/** Fake effects for unit tests of the on-machine use cases (not shipped behaviour; imported by tests only). */
import type { Run, RunResult } from "../../proc/run.js";
import { Cleanup } from "../cleanup.js";
import type { AppEvent, Effects } from "../effects.js";
import type { SystemEffects } from "./system-effects.js";

export interface FakeEffects {
  effects: Effects;
  system: SystemEffects;
  events: AppEvent[];
  sleeps: number[];
  calls: string[][];
}

export function fakeEffects(
  options: {
    run?: (command: string, args: readonly string[]) => Partial<RunResult>;
    isRoot?: boolean;
    writable?: (dir: string) => boolean;
    alive?: (pid: number) => boolean;
    fetch?: typeof globalThis.fetch;
    connectTcp?: SystemEffects["connectTcp"];
    pid?: number;
  } = {},
): FakeEffects {
  const events: AppEvent[] = [];
  const sleeps: number[] = [];
  const calls: string[][] = [];
  let clock = Date.UTC(2025, 0, 1);
  const run: Run = (command, args) => {
    calls.push([command, ...args]);
    const partial = options.run?.(command, args) ?? {};
    return Promise.resolve({
      argv: [command, ...args],
      exitCode: 0,
      signal: null,
      stdout: "",
      stderr: "",
      ...partial,
    });
  };
  return {
    events,
    sleeps,
    calls,
    effects: {
      run,
      now: () => new Date(clock),
      onEvent: (e) => events.push(e),
      env: {},
      cleanup: new Cleanup(),
    },
    system: {
      isRoot: () => options.isRoot ?? true,
      canWrite: (dir) => Promise.resolve(options.writable?.(dir) ?? true),
      pid: options.pid ?? 4242,
      isPidAlive: (pid) => options.alive?.(pid) ?? false,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      fetch: options.fetch ?? (() => Promise.reject(new Error("no network in tests"))),
      connectTcp: options.connectTcp ?? (() => Promise.reject(new Error("ECONNREFUSED"))),
      hostname: () => "testhost",
    },
  };
}
