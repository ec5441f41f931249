/**
 * Shell completion computed from commander's command tree: the shell scripts (completion-scripts.ts)
 * only pass the words typed so far to `ternix __complete`, so commands, options and their values can
 * never drift from the definitions. Dynamic values (host and input names) come from `sources`.
 */
import type { Argument, Command, Option } from "commander";

export interface Candidate {
  value: string;
  description?: string | undefined;
}

/** What the shell should offer: these values, or its own directory/file completion. */
export type Completion = { kind: "values"; values: Candidate[] } | { kind: "dirs" } | { kind: "files" };

/** Dynamic values; `flakeDir` is the `--flake` typed so far, if any. Failures mean "none". */
export interface CompletionSources {
  hosts(flakeDir: string | undefined): Promise<string[]>;
  inputs(flakeDir: string | undefined): Promise<string[]>;
}

/**
 * Which dynamic values an argument or option takes, by its name (`[host]`, `--hosts <name...>`,
 * `[inputs...]`), then by its value placeholder (`<dir>`, `<path>`). A new command that names its
 * argument `host` completes host names without touching this file.
 */
const BY_NAME: Readonly<Record<string, "hosts" | "inputs">> = {
  host: "hosts",
  hosts: "hosts",
  input: "inputs",
  inputs: "inputs",
};
const BY_PLACEHOLDER: Readonly<Record<string, "dirs" | "files">> = {
  dir: "dirs",
  path: "files",
  file: "files",
  before: "files",
  after: "files",
};

type ValueSource = "hosts" | "inputs" | "dirs" | "files" | "none";

function sourceFor(name: string, placeholder: string | undefined): ValueSource {
  return BY_NAME[name] ?? (placeholder === undefined ? undefined : BY_PLACEHOLDER[placeholder]) ?? "none";
}

function placeholderOf(option: Option): string | undefined {
  return /[<[]([^>\].]+)(?:\.\.\.)?[>\]]/.exec(option.flags)?.[1];
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

/** Options of `cmd` and of its ancestors (global options are accepted after the command name). */
function optionsInScope(cmd: Command): Option[] {
  const out: Option[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) out.push(...c.options);
  return out;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return optionsInScope(cmd).find((o) => o.long === flag || o.short === flag);
}

function startsWith(prefix: string) {
  return (c: Candidate) => c.value.startsWith(prefix);
}

/**
 * Complete `words`: what follows `ternix` on the command line, the last being the word under the
 * cursor (possibly empty).
 */
export async function complete(
  program: Command,
  words: readonly string[],
  sources: CompletionSources,
): Promise<Completion> {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  const help = program.createHelp();
  let cmd = program;
  let positional = 0;
  let flakeDir: string | undefined;
  let pendingOption: Option | undefined;
  let afterDashDash = false;

  for (const word of before) {
    if (pendingOption !== undefined) {
      if (pendingOption.long === "--flake") flakeDir = word;
      pendingOption = undefined;
      continue;
    }
    if (!afterDashDash && word === "--") {
      afterDashDash = true;
      continue;
    }
    if (!afterDashDash && word.startsWith("-") && word !== "-") {
      const [flag, inline] = word.split(/=(.*)/s, 2) as [string, string | undefined];
      const option = findOption(cmd, flag);
      if (option !== undefined && takesValue(option)) {
        if (inline !== undefined) {
          if (option.long === "--flake") flakeDir = inline;
        } else if (option.required) pendingOption = option;
      }
      continue;
    }
    const sub =
      positional === 0
        ? cmd.commands.find((c) => c.name() === word || c.aliases().includes(word))
        : undefined;
    if (sub !== undefined) cmd = sub;
    else positional++;
  }

  const values = async (source: ValueSource, choices: readonly string[] | undefined): Promise<Completion> => {
    if (choices !== undefined)
      return { kind: "values", values: choices.map((value) => ({ value })).filter(startsWith(current)) };
    switch (source) {
      case "dirs":
      case "files":
        return { kind: source };
      case "none":
        return { kind: "values", values: [] };
      case "hosts":
      case "inputs": {
        const names = await sources[source](flakeDir).catch(() => []);
        return { kind: "values", values: names.map((value) => ({ value })).filter(startsWith(current)) };
      }
    }
  };

  if (pendingOption !== undefined) {
    return values(
      sourceFor(pendingOption.attributeName(), placeholderOf(pendingOption)),
      pendingOption.argChoices,
    );
  }
  if (!afterDashDash && current.startsWith("-")) {
    const options = [...help.visibleOptions(cmd), ...(cmd === program ? [] : help.visibleGlobalOptions(cmd))];
    const flags = options.flatMap((o) =>
      [o.long, o.short]
        .filter((f): f is string => f !== undefined)
        .map((value) => ({ value, description: o.description })),
    );
    return { kind: "values", values: dedupe(flags).filter(startsWith(current)) };
  }
  const subcommands = positional === 0 ? help.visibleCommands(cmd) : [];
  if (subcommands.length > 0) {
    return {
      kind: "values",
      values: subcommands
        .map((c) => ({ value: c.name(), description: c.summary() || firstLine(c.description()) }))
        .filter(startsWith(current)),
    };
  }
  const args: readonly Argument[] = cmd.registeredArguments;
  const last = args.at(-1);
  const arg = args[positional] ?? (last?.variadic ? last : undefined);
  if (arg === undefined) return { kind: "values", values: [] };
  return values(sourceFor(arg.name(), arg.name()), arg.argChoices);
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? "";
}

function dedupe(candidates: readonly Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => !seen.has(c.value) && seen.add(c.value));
}

/**
 * The lines `__complete` prints: a directive (`:dirs`, `:files`) or one `value<TAB>description` per
 * candidate. Values with a tab or newline cannot travel in this format and are left out.
 */
export function completionLines(completion: Completion): string[] {
  if (completion.kind !== "values") return [`:${completion.kind}`];
  return completion.values
    .filter((c) => !/[\t\n]/.test(c.value) && !c.value.startsWith(":"))
    .map((c) => (c.description ? `${c.value}\t${c.description.replace(/\s+/g, " ")}` : c.value));
}
