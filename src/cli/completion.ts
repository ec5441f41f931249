/** `ternix completion bash|zsh|fish` prints a completion script; the hidden `__complete` answers it. */
import { Argument } from "commander";
import { discoverHosts } from "../app/fleet/hosts.js";
import { locateFlake, readLockText } from "../app/flake.js";
import { ExitCode } from "../errors.js";
import { lockInputs } from "../lock/graph.js";
import { parseFlakeLock } from "../lock/parse.js";
import { action, type RegisterCommand } from "./command.js";
import { complete, completionLines, type CompletionSources } from "./complete.js";
import { completionScript, SHELLS, type Shell } from "./completion-scripts.js";
import type { Runtime } from "./runtime.js";

/** Host names need one evaluation; a completion that waits longer than this offers none. */
const HOSTS_TIMEOUT_MS = 5_000;

function completionSources(rt: Runtime): CompletionSources {
  return {
    async inputs(flakeDir) {
      const flake = await locateFlake(flakeDir, rt.cwd, rt.git);
      const lock = parseFlakeLock(await readLockText(flake), flake.lockPath);
      return lockInputs(lock).map((input) => input.id);
    },
    async hosts(flakeDir) {
      const flake = await locateFlake(flakeDir, rt.cwd, rt.git);
      const nix = await rt.nix(await rt.config(flake.dir));
      return discoverHosts(nix, flake.dir, { signal: AbortSignal.timeout(HOSTS_TIMEOUT_MS) });
    },
  };
}

export const registerCompletion: RegisterCommand = (program, runtime) => {
  program
    .command("completion")
    .description("Print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      `
Install:
  bash  echo 'source <(ternix completion bash)' >> ~/.bashrc
  zsh   ternix completion zsh > "\${fpath[1]}/_ternix"
  fish  ternix completion fish > ~/.config/fish/completions/ternix.fish

Commands and options complete from Ternix's own definitions; host names (one evaluation of
nixosConfigurations, at most ${HOSTS_TIMEOUT_MS / 1000} s) and input names (flake.lock) from the flake in
the current directory, or the one given with --flake.`,
    )
    .action(
      action((shell: Shell) => {
        runtime().output.stdout(completionScript(shell).trimEnd());
        return Promise.resolve(ExitCode.ok);
      }),
    );
  program
    .command("__complete", { hidden: true })
    .description("print completions for the words typed so far (used by the completion scripts)")
    .argument("[words...]")
    .helpOption(false)
    .allowUnknownOption()
    .action(
      action(async (words: string[]) => {
        const rt = runtime();
        const completion = await complete(program, words.length === 0 ? [""] : words, completionSources(rt));
        for (const line of completionLines(completion)) rt.output.stdout(line);
        return ExitCode.ok;
      }),
    );
};
