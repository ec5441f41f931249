/** `ternix vm [HOST] [--run] [--with-bootloader]`: a throwaway VM of a host, as `nixos-rebuild build-vm`. */
import { isAbsolute, relative, resolve } from "node:path";
import { resolveHostName } from "../app/machine/system-build.js";
import { buildVm, runVm, type VmBuild } from "../app/machine/vm.js";
import { ExitCode, formatArgv, TernixError } from "../errors.js";
import { renderClosureDiffText } from "../report/closure.js";
import { action, type RegisterCommand } from "./command.js";
import { createProgress } from "./progress.js";
import { flakeOption, pathsFromOptions, systemContext, type SystemPathOptions } from "./system-context.js";

interface VmOptions extends SystemPathOptions {
  run?: boolean;
  withBootloader?: boolean;
  outLink?: string;
  runCommand?: string;
}

export const registerVm: RegisterCommand = (program, runtime) => {
  program
    .command("vm")
    .description(
      "Build a throwaway QEMU VM of this machine's system (or HOST's), show its diff against the running system; --run starts it",
    )
    .argument("[host]", "a host of nixosConfigurations (default: this machine's host name)")
    .option("--run", "start the VM on this terminal once it is built")
    .option(
      "--with-bootloader",
      "build vmWithBootLoader (boots through the boot loader, like build-vm-with-bootloader)",
    )
    .option("--out-link <path>", "the link to the built VM (default: result, as nixos-rebuild build-vm)")
    .option(
      "--run-command <program>",
      "with --run: start the run script through this program (config vm.run-command; default: run it directly)",
    )
    .addOption(flakeOption())
    .option(
      "--current-system <path>",
      "the running system's link to compare with (default /run/current-system)",
    )
    .addHelpText(
      "after",
      '\nNeeds no root: nothing on the machine changes. The VM keeps its disk in ./<host>.qcow2 (delete it for a fresh start);\nQEMU_OPTS (e.g. "-m 4096") and QEMU_KERNEL_PARAMS are passed on to it.',
    )
    .action(
      action(async (hostArg: string | undefined, options: VmOptions) => {
        const rt = runtime();
        const ctx = await systemContext(rt, options, true);
        const flake = ctx.flake as NonNullable<typeof ctx.flake>;
        const host = resolveHostName(hostArg, ctx.system.hostname());
        const nix = await rt.nix(ctx.config);
        const paths = pathsFromOptions(ctx.config, options, rt.cwd);
        const progress = createProgress(rt.output);
        const outLink = resolve(rt.cwd, options.outLink ?? "result");
        const build = await buildVm(
          {
            host,
            flake,
            withBootLoader: options.withBootloader ?? false,
            outLink,
            currentSystem: paths.currentSystem,
          },
          { nix, effects: { ...rt.effects, onEvent: (e) => progress.onEvent(e) } },
        ).finally(() => progress.done());
        rt.output.stdout(renderVmBuild(build, rt.cwd, options.run ?? false, rt.output.color));
        if (!options.run) return ExitCode.ok;
        const runCommand =
          options.runCommand !== undefined ? [options.runCommand] : ctx.config.vm["run-command"];
        const ran = await runVm(build, { runCommand, cwd: rt.cwd, env: rt.effects.env }, rt.effects.run);
        if (ran.exitCode === 0) return ExitCode.ok;
        throw new TernixError(
          `the VM exited with ${ran.exitCode === null ? "a signal" : `status ${ran.exitCode}`}: ${formatArgv(ran.argv)}`,
          { hint: "Its output is above; start it by hand to investigate." },
        );
      }),
    );
};

/** QEMU's disk image: `run-<name>-vm` keeps it in `<name>.qcow2`. */
function diskName(runScript: string): string {
  return `${/run-(.+)-vm$/.exec(runScript)?.[1] ?? "nixos"}.qcow2`;
}

/** How to refer to a path in the instructions: `./result/…` when under the current directory. */
function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? `./${rel}` : path;
}

export function renderVmBuild(build: VmBuild, cwd: string, running: boolean, color: boolean): string {
  const lines = [`${build.host}: ${build.attribute} ${build.storePath}`];
  lines.push(`Link: ${shown(build.outLink, cwd)}`);
  if (build.system !== undefined) lines.push(`Boots: ${build.system}`);
  if (build.diff) {
    lines.push("", "Against the running system:", renderClosureDiffText(build.diff, { color }).trimEnd());
  } else if (build.diffNote) lines.push(`(no diff: ${build.diffNote})`);
  if (!running) {
    lines.push("");
    if (build.runScript !== undefined) {
      const script = formatArgv([shown(build.runScript, cwd)]);
      lines.push(
        `Start it: ${script}   (or \`ternix vm ${formatArgv([build.host])} --run\`)`,
        `Its disk is ./${formatArgv([diskName(build.runScript)])} in the directory you start it from; delete it for a fresh VM.`,
      );
    } else lines.push(`Start it: ${shown(build.outLink, cwd)} has no bin/run-*-vm script.`);
  }
  return `${lines.join("\n")}\n`;
}
