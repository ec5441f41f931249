/** `nix copy --to ssh-ng://TARGET`: a closure onto a deploy target, with the same ssh options as every ssh. */
import { copyToHostArgs } from "../nix/args.js";
import type { Nix } from "../nix/nix.js";
import { nixSshOpts, sshStoreUri, type SshTarget } from "./ssh.js";

export interface CopyResult {
  ok: boolean;
  argv: readonly string[];
  exitCode: number | null;
  stderr: string;
}

export interface CopyOptions {
  /** The store on the target (`remote-store`); default its own. */
  remoteStore?: string | undefined;
  /** The local environment nix runs with (NIX_SSHOPTS is added). */
  env?: NodeJS.ProcessEnv | undefined;
  signal?: AbortSignal | undefined;
  /** Copy the derivations (.drv files and their sources), not their outputs: the target builds them. */
  derivation?: boolean | undefined;
}

/** Copy `paths` with their closures; a failure is a result (the caller names the stage). */
export async function copyClosure(
  nix: Nix,
  target: SshTarget,
  paths: readonly string[],
  options: CopyOptions = {},
): Promise<CopyResult> {
  const env = { ...(options.env ?? process.env), NIX_SSHOPTS: nixSshOpts(target) };
  const result = await nix.call(
    copyToHostArgs(sshStoreUri(target, options.remoteStore), paths, { derivation: options.derivation }),
    {
      env,
      signal: options.signal,
    },
  );
  return { ok: result.exitCode === 0, argv: result.argv, exitCode: result.exitCode, stderr: result.stderr };
}
