# A small TOML renderer for Ternix's host config (/etc/ternix/ternix.toml), in pure Nix so the text is
# known at evaluation time and works on every NixOS release: `pkgs.formats.toml` (NixOS 20.09 has no
# `pkgs.formats` at all) renders in a build step, which tests could not read without building.
#
# renderToml :: attrs -> string. Scalars (strings, integers, booleans) and lists of scalars; an
# attribute set becomes a `[table]`, a non-empty list of attribute sets an `[[array-of-tables]]`,
# and attribute sets inside those become inline tables. `null` means "absent": the key is left out
# (TOML has no null). Floats and other values are refused rather than guessed at.
# Tested by test/integration/nixos-module.test.ts, which parses the output with Ternix's own parser.
{ lib }:
let
  inherit (lib) concatStringsSep concatMapStringsSep filterAttrs mapAttrsToList
    isAttrs isList isString isBool isInt all;

  # Nix strings cannot be written with a DEL character literally; JSON can name it.
  del = builtins.fromJSON ''"\u007f"'';

  # JSON's string escapes (\" \\ \n \t \uXXXX …) are all valid in TOML basic strings; TOML also
  # forbids a raw DEL, which JSON allows.
  quote = s: builtins.replaceStrings [ del ] [ "\\u007F" ] (builtins.toJSON s);

  key = k: if builtins.match "[A-Za-z0-9_-]+" k != null then k else quote k;

  present = filterAttrs (_: v: v != null);

  isTableList = v: isList v && v != [ ] && all isAttrs v;

  value = v:
    if isString v then quote v
    else if isBool v then (if v then "true" else "false")
    else if isInt v then toString v
    else if isList v then "[" + concatMapStringsSep ", " value v + "]"
    else if isAttrs v then
      "{ " + concatStringsSep ", " (mapAttrsToList (k: x: "${key k} = ${value x}") (present v)) + " }"
    else throw "renderToml: cannot render ${builtins.typeOf v} as TOML (use a string, integer, boolean, list or attribute set)";

  pairs = attrs: concatStringsSep "" (mapAttrsToList (k: v: "${key k} = ${value v}\n") (present attrs));

  renderToml = attrs:
    let
      top = present attrs;
      tables = filterAttrs (_: isAttrs) top;
      tableLists = filterAttrs (_: isTableList) top;
      # Keys before the first table header belong to the root table.
      plain = filterAttrs (_: v: !(isAttrs v) && !(isTableList v)) top;
    in
    concatStringsSep "\n" (
      lib.optional (plain != { }) (pairs plain)
      ++ mapAttrsToList (k: t: "[${key k}]\n" + pairs t) tables
      ++ lib.concatLists (mapAttrsToList (k: ts: map (t: "[[${key k}]]\n" + pairs t) ts) tableLists)
    );
in
{ inherit renderToml; }
