/**
 * Quote an arbitrary string as a Nix string literal, so names from a flake (host names can hold any
 * character) can be embedded in an `--apply` expression without being interpreted.
 */
export function nixString(value: string): string {
  let out = '"';
  for (const ch of value) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "$":
        // `${` would start an interpolation; escaping every `$` is always safe.
        out += "\\$";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += ch;
    }
  }
  return out + '"';
}

/** A Nix list of string literals. */
export function nixStringList(values: readonly string[]): string {
  return `[ ${values.map(nixString).join(" ")} ]`;
}
