/**
 * When `ternix upgrade` reboots: the decision `system.autoUpgrade` makes (the booted system's
 * kernel, initrd or kernel modules differ from the new system's), and the reboot window
 * (`HH:MM-HH:MM` in the host's local time, may wrap midnight). Pure.
 */
import { UsageError } from "../errors.js";

/** Where a system's `kernel`, `initrd` and `kernel-modules` links lead (undefined: no such link). */
export interface BootFiles {
  kernel: string | undefined;
  initrd: string | undefined;
  "kernel-modules": string | undefined;
}

export const BOOT_FILES = ["kernel", "initrd", "kernel-modules"] as const;

/** Why a reboot is needed to run `next`, or undefined when it is not (or the booted system is unknown). */
export function rebootReason(booted: BootFiles | undefined, next: BootFiles): string | undefined {
  if (booted === undefined) return undefined;
  const changed = BOOT_FILES.filter((name) => booted[name] !== next[name]);
  return changed.length === 0
    ? undefined
    : `the booted system's ${changed.join(", ")} differ from the new system's`;
}

/** Minutes after midnight; `to` may be smaller than `from` (the window wraps midnight). */
export interface RebootWindow {
  from: number;
  to: number;
  text: string;
}

export function parseRebootWindow(text: string): RebootWindow {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim());
  const minutes = (h: string, m: string) => {
    const hours = Number(h);
    const mins = Number(m);
    return hours <= 23 && mins <= 59 ? hours * 60 + mins : undefined;
  };
  const from = match ? minutes(match[1] as string, match[2] as string) : undefined;
  const to = match ? minutes(match[3] as string, match[4] as string) : undefined;
  if (from === undefined || to === undefined) {
    throw new UsageError(`invalid reboot window ${JSON.stringify(text)}.`, {
      hint: "Write it as HH:MM-HH:MM in local time, e.g. 01:00-05:00 (22:00-04:00 wraps midnight).",
    });
  }
  return { from, to, text: text.trim() };
}

/** Whether `minute` (after local midnight) is inside the window; no window means any time. Both ends included. */
export function inRebootWindow(window: RebootWindow | undefined, minute: number): boolean {
  if (window === undefined) return true;
  if (window.from <= window.to) return minute >= window.from && minute <= window.to;
  return minute >= window.from || minute <= window.to;
}
