/**
 * `ternix pin` / `ternix unpin`: add or remove a second input (e.g. nixpkgs at another revision) with a
 * minimal edit of flake.nix, then lock. flake.nix and flake.lock come back as they were if the edit
 * cannot be locked, on any error, and on Ctrl-C.
 */
import { join } from "node:path";
import { InputError, UsageError } from "../../errors.js";
import { diffLocks, type LockDiff } from "../../lock/diff.js";
import {
  addPinnedInput,
  isInputName,
  PIN_MARKER,
  removePinnedInput,
  type FlakeEdit,
} from "../../lock/flake-nix.js";
import { parseFlakeLock } from "../../lock/parse.js";
import { nixString } from "../../nix/nix-string.js";
import { ensureFileContent, readUserFile, writeFileAtomic } from "../../proc/files.js";
import { readLockText, type FlakeLocation } from "../flake.js";
import type { UpdateDeps } from "./update.js";

export interface PinRequest {
  flake: FlakeLocation;
  name: string;
  url: string;
  rev?: string | undefined;
}

export interface PinResult {
  name: string;
  /** The flake reference written to flake.nix. */
  url: string;
  diff: LockDiff;
  /** Notes on the edit (an argument added to outputs, a use left behind). */
  notes: string[];
}

/** The flake reference for `url` at `rev` (a full commit hash), as Nix's `?rev=` parameter. */
export function pinnedUrl(url: string, rev: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  if (url === "" || /[\s\u0000-\u001f\u007f]/.test(url)) {
    throw new UsageError(`--url ${JSON.stringify(url)} is not a flake reference.`, {
      hint: "E.g. --url github:NixOS/nixpkgs/nixos-24.05 or --url github:NixOS/nixpkgs --rev <40-hex commit>.",
    });
  }
  if (rev === undefined) return url;
  if (!/^[0-9a-f]{40}$/.test(rev)) {
    throw new UsageError(`--rev ${JSON.stringify(rev)} is not a full commit hash.`, {
      hint: "Give the 40-character hexadecimal revision (`git rev-parse`), as Nix requires for rev=.",
    });
  }
  if (/[?&]rev=/.test(url))
    throw new UsageError("--url already has a rev= parameter; drop --rev or the parameter.");
  return `${url}${url.includes("?") ? "&" : "?"}rev=${rev}`;
}

export function checkInputName(name: string): void {
  if (!isInputName(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not a usable input name.`, {
      hint: "Use letters, digits, '-', '_' and start with a letter, e.g. nixpkgs-2405.",
    });
  }
}

export async function pinInput(request: PinRequest, deps: UpdateDeps): Promise<PinResult> {
  checkInputName(request.name);
  const url = pinnedUrl(request.url, request.rev);
  const result = await editAndLock(request.flake, deps, `Locking ${request.name}…`, (src) =>
    addPinnedInput(src, request.name, nixString(url)),
  );
  return { name: request.name, url, ...result };
}

export async function unpinInput(flake: FlakeLocation, name: string, deps: UpdateDeps): Promise<PinResult> {
  const result = await editAndLock(flake, deps, `Removing ${name} from the lock…`, (src) =>
    removePinnedInput(src, name),
  );
  return { name, url: "", ...result };
}

async function editAndLock(
  flake: FlakeLocation,
  deps: UpdateDeps,
  message: string,
  edit: (src: string) => FlakeEdit,
): Promise<{ diff: LockDiff; notes: string[] }> {
  const flakeNix = join(flake.dir, "flake.nix");
  const nixBefore = (await readUserFile(flakeNix)) ?? "";
  const lockBefore = await readLockText(flake);
  const before = parseFlakeLock(lockBefore, flake.lockPath);
  const edited = edit(nixBefore);
  if (!edited.ok) {
    throw new InputError(`cannot edit ${flakeNix} safely: ${edited.reason}.`, {
      hint: `Edit the inputs by hand (a pin is one line: NAME.url = "URL"; ${PIN_MARKER}), then run \`nix flake lock\`.`,
    });
  }
  const restore = async () => {
    await ensureFileContent(flakeNix, nixBefore);
    await ensureFileContent(flake.lockPath, lockBefore);
  };
  const unregister = deps.effects.cleanup.add(restore);
  try {
    await writeFileAtomic(flakeNix, edited.text);
    deps.effects.onEvent({ type: "phase", message });
    // Locks what is missing and drops what is gone; every other input keeps its locked revision.
    await deps.nix.flakeLock(flake.dir, flake.dir);
    const after = parseFlakeLock(await readLockText(flake), flake.lockPath);
    unregister();
    return { diff: diffLocks(before, after), notes: edited.warnings };
  } catch (error) {
    unregister();
    await restore();
    throw error;
  }
}

/** The module snippet that takes packages from a pinned nixpkgs. */
export function pinSnippet(name: string): string {
  return [
    `# Pass the input to your modules (e.g. specialArgs = { inherit inputs; }), then:`,
    `{ pkgs, inputs, ... }:`,
    `let`,
    `  ${name} = import inputs.${name} { inherit (pkgs) system; config = pkgs.config; };`,
    `in`,
    `{`,
    `  environment.systemPackages = [ ${name}.hello ];`,
    `}`,
  ].join("\n");
}
