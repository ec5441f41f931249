/**
 * The ONE way Ternix turns an argument array into a remote command line. `ssh` hands its command to
 * the remote user's shell as a string, so every word is POSIX-sh quoted here and nowhere else: a
 * host name, a store path or a check's argument arrives as exactly the word it was. Pure.
 */

/** Words a POSIX shell takes literally as they are (no globbing, tilde, variable or word splitting). */
const BARE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * One argument as a POSIX sh word: bare when it holds only inert characters, otherwise in single
 * quotes, where nothing is special except the quote itself (written `'\''`). The empty string is
 * `''`. A leading `-` is kept as it is: quoting cannot stop a program reading it as an option, so
 * callers put `--` before arguments that are data.
 */
export function quoteShellWord(arg: string): string {
  if (arg.includes("\0")) throw new Error("an argument for a remote command cannot contain a NUL byte");
  if (BARE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argument array as one remote command line for `sh -c` (what sshd runs the command with). */
export function quoteCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("internal: an empty remote command");
  return argv.map(quoteShellWord).join(" ");
}
