/**
 * Minimal, formatting-preserving edits of flake.nix's `inputs` for `ternix pin` / `ternix unpin`.
 * A small Nix tokenizer (strings, comments, brackets, `let … in`) finds the top-level bindings;
 * an edit inserts or removes whole lines and touches nothing else. When the file's shape is not one
 * Ternix can edit safely (not an attribute set literal, `inputs` computed, dynamic attributes), the
 * result says why instead of guessing.
 *
 * A pin is recorded in flake.nix itself: `NAME.url = "…"; # ternix:pin`, so it travels with the
 * flake (and its review) and `ternix inputs` can mark it without any other state.
 */

export const PIN_MARKER = "# ternix:pin";

type TokenKind = "id" | "str" | "punct" | "other";
interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** A string's content when it has no interpolation. */
  value?: string | undefined;
}

class Refusal extends Error {}

const ID_START = /[A-Za-z_]/;
const ID_CHAR = /[A-Za-z0-9_'-]/;

/** Tokens of `src`; comments and whitespace are skipped, each string is one token. */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const end = scan(src, 0, tokens, false);
  if (end < src.length) throw new Refusal("flake.nix has an unmatched `}`");
  return tokens;
}

/** Scan from `i`; with `untilBrace`, stop at the `}` closing an interpolation and return its index. */
function scan(src: string, i: number, out: Token[], untilBrace: boolean): number {
  let depth = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (src.startsWith("/*", i)) {
      const close = src.indexOf("*/", i + 2);
      if (close < 0) throw new Refusal("flake.nix has an unterminated comment");
      i = close + 2;
    } else if (ch === '"' || src.startsWith("''", i)) {
      const start = i;
      const { end, value } = ch === '"' ? scanString(src, i) : scanIndentedString(src, i);
      out.push({ kind: "str", text: src.slice(start, end), start, end, value });
      i = end;
    } else if (ID_START.test(ch)) {
      const start = i;
      while (i < src.length && ID_CHAR.test(src[i] as string)) i++;
      out.push({ kind: "id", text: src.slice(start, i), start, end: i });
    } else if (src.startsWith("${", i)) {
      out.push({ kind: "punct", text: "${", start: i, end: i + 2 });
      depth++;
      i += 2;
    } else if ("{}[]();=.,@:?".includes(ch)) {
      if (ch === "{" || ch === "[" || ch === "(") depth++;
      if (ch === "}" || ch === "]" || ch === ")") {
        if (depth === 0) {
          if (untilBrace && ch === "}") return i;
          return i;
        }
        depth--;
      }
      out.push({ kind: "punct", text: ch, start: i, end: i + 1 });
      i++;
    } else {
      out.push({ kind: "other", text: ch, start: i, end: i + 1 });
      i++;
    }
  }
  if (untilBrace) throw new Refusal("flake.nix has an unterminated string interpolation");
  return i;
}

function scanString(src: string, i: number): { end: number; value: string | undefined } {
  let value: string | undefined = "";
  i++;
  while (i < src.length) {
    const ch = src[i] as string;
    if (ch === "\\") {
      const next = src[i + 1] ?? "";
      if (value !== undefined)
        value += next === "n" ? "\n" : next === "t" ? "\t" : next === "r" ? "\r" : next;
      i += 2;
    } else if (ch === '"') {
      return { end: i + 1, value };
    } else if (src.startsWith("${", i)) {
      value = undefined;
      i = scan(src, i + 2, [], true) + 1;
    } else {
      if (value !== undefined) value += ch;
      i++;
    }
  }
  throw new Refusal("flake.nix has an unterminated string");
}

function scanIndentedString(src: string, i: number): { end: number; value: undefined } {
  i += 2;
  while (i < src.length) {
    if (src.startsWith("'''", i) || src.startsWith("''$", i) || src.startsWith("''\\", i)) i += 3;
    else if (src.startsWith("''", i)) return { end: i + 2, value: undefined };
    else if (src.startsWith("${", i)) i = scan(src, i + 2, [], true) + 1;
    else i++;
  }
  throw new Refusal("flake.nix has an unterminated '' string");
}

interface Binding {
  /** Attribute path; undefined entries are dynamic (`${…}` or interpolated strings). */
  path: (string | undefined)[];
  /** Token index of the first attribute name, of the first value token, of the `;`. */
  first: number;
  valueFirst: number;
  semicolon: number;
}

const OPEN = new Set(["{", "[", "(", "${"]);
const CLOSE = new Set(["}", "]", ")"]);

/** The index of the token closing the bracket opened at `open`. */
function matching(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (t.kind !== "punct") continue;
    if (OPEN.has(t.text)) depth++;
    else if (CLOSE.has(t.text) && --depth === 0) return k;
  }
  throw new Refusal("flake.nix has an unmatched bracket");
}

/** The bindings between token indexes `from` and `to` (exclusive): the body of an attribute set. */
function bindings(tokens: readonly Token[], from: number, to: number): Binding[] {
  const out: Binding[] = [];
  let k = from;
  while (k < to) {
    const first = k;
    if (tokens[k]?.kind === "id" && tokens[k]?.text === "inherit") {
      while (k < to && tokens[k]?.text !== ";") k++;
      k++;
      continue;
    }
    const path: (string | undefined)[] = [];
    for (;;) {
      const t = tokens[k];
      if (t === undefined || k >= to) throw new Refusal("flake.nix ends inside a binding");
      if (t.kind === "id") path.push(t.text);
      else if (t.kind === "str") path.push(t.value);
      else if (t.text === "${") {
        path.push(undefined);
        k = matching(tokens, k);
      } else throw new Refusal(`unexpected ${JSON.stringify(t.text)} where an attribute name belongs`);
      k++;
      if (tokens[k]?.text === ".") {
        k++;
        continue;
      }
      break;
    }
    if (tokens[k]?.text !== "=") throw new Refusal("a binding without `=`");
    const valueFirst = ++k;
    let lets = 0;
    while (k < to) {
      const t = tokens[k] as Token;
      if (t.kind === "punct" && OPEN.has(t.text)) k = matching(tokens, k);
      else if (t.kind === "id" && t.text === "let") lets++;
      else if (t.kind === "id" && t.text === "in" && lets > 0) lets--;
      else if (t.text === ";" && lets === 0) break;
      k++;
    }
    if (k >= to) throw new Refusal("a binding without `;`");
    out.push({ path, first, valueFirst, semicolon: k });
    k++;
  }
  return out;
}

/** What Ternix found in flake.nix: where the inputs are and how to add one. */
interface FlakeShape {
  tokens: Token[];
  form: "set" | "dotted";
  /** Input names declared in flake.nix. */
  names: Set<string>;
  /** The bindings that declare inputs (inside `inputs = { … }`, or the top-level `inputs.X…`). */
  inputBindings: Binding[];
  /** `inputs = {`: the token indexes of its braces. */
  setBraces?: [number, number] | undefined;
  /** The outputs function's formals `{ … }`, when it has some. */
  formals?: [number, number] | undefined;
}

function shapeOf(src: string): FlakeShape {
  const tokens = tokenize(src);
  if (tokens[0]?.text !== "{" || matching(tokens, 0) !== tokens.length - 1) {
    throw new Refusal("flake.nix is not an attribute set literal `{ … }`");
  }
  const top = bindings(tokens, 1, tokens.length - 1);
  if (top.some((b) => b.path[0] === undefined))
    throw new Refusal("flake.nix has dynamic top-level attributes");
  const inputs = top.filter((b) => b.path[0] === "inputs");
  const outputs = top.find((b) => b.path.length === 1 && b.path[0] === "outputs");
  let formals: [number, number] | undefined;
  if (outputs !== undefined && tokens[outputs.valueFirst]?.text === "{") {
    const close = matching(tokens, outputs.valueFirst);
    if (tokens[close + 1]?.text === ":" || tokens[close + 1]?.text === "@")
      formals = [outputs.valueFirst, close];
  }
  if (inputs.length === 0) {
    throw new Refusal("flake.nix declares no `inputs`");
  }
  const whole = inputs.find((b) => b.path.length === 1);
  if (whole !== undefined) {
    if (inputs.length > 1)
      throw new Refusal("flake.nix sets `inputs` both as a whole and attribute by attribute");
    const open = whole.valueFirst;
    if (tokens[open]?.text !== "{" || matching(tokens, open) !== whole.semicolon - 1) {
      throw new Refusal("`inputs` is computed, not an attribute set literal");
    }
    const inner = bindings(tokens, open + 1, whole.semicolon - 1);
    if (inner.some((b) => b.path[0] === undefined)) throw new Refusal("`inputs` has dynamic attribute names");
    return {
      tokens,
      form: "set",
      names: new Set(inner.map((b) => b.path[0] as string)),
      inputBindings: inner,
      setBraces: [open, whole.semicolon - 1],
      formals,
    };
  }
  if (inputs.some((b) => b.path[1] === undefined)) throw new Refusal("`inputs` has dynamic attribute names");
  return {
    tokens,
    form: "dotted",
    names: new Set(inputs.map((b) => b.path[1] as string)),
    inputBindings: inputs,
    formals,
  };
}

export type FlakeEdit = { ok: true; text: string; warnings: string[] } | { ok: false; reason: string };

function lineStart(src: string, i: number): number {
  return src.lastIndexOf("\n", i - 1) + 1;
}
function lineEnd(src: string, i: number): number {
  const n = src.indexOf("\n", i);
  return n < 0 ? src.length : n;
}
function indentAt(src: string, i: number): string {
  return /^[ \t]*/.exec(src.slice(lineStart(src, i)))?.[0] ?? "";
}

/** A name that can be written bare in Nix and used as a function argument. */
export function isInputName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) && !NIX_KEYWORDS.has(name);
}
const NIX_KEYWORDS = new Set([
  "if",
  "then",
  "else",
  "assert",
  "with",
  "let",
  "in",
  "rec",
  "inherit",
  "or",
  "self",
]);

function attempt(fn: () => FlakeEdit): FlakeEdit {
  try {
    return fn();
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Input names declared in flake.nix that carry the pin marker. */
export function pinnedInputs(src: string): string[] {
  try {
    const shape = shapeOf(src);
    return [
      ...new Set(shape.inputBindings.filter((b) => hasMarker(src, shape, b)).map((b) => inputName(shape, b))),
    ];
  } catch (error) {
    if (error instanceof Refusal) return [];
    throw error;
  }
}

function inputName(shape: FlakeShape, b: Binding): string {
  return (shape.form === "set" ? b.path[0] : b.path[1]) as string;
}

function hasMarker(src: string, shape: FlakeShape, b: Binding): boolean {
  const after = (shape.tokens[b.semicolon] as Token).end;
  return src.slice(after, lineEnd(src, after)).trim().startsWith(PIN_MARKER);
}

/**
 * Add `name.url = "url"; # ternix:pin` to the inputs, and `name` to the outputs function's formals
 * when they list their arguments without `...`. `urlLiteral` is already a quoted Nix string.
 */
export function addPinnedInput(src: string, name: string, urlLiteral: string): FlakeEdit {
  return attempt(() => {
    if (!isInputName(name)) throw new Refusal(`${JSON.stringify(name)} is not a plain input name`);
    const shape = shapeOf(src);
    if (shape.names.has(name)) throw new Refusal(`flake.nix already has an input named ${name}`);
    const { tokens } = shape;
    const edits: { at: number; remove?: number; text: string }[] = [];
    const binding = `${shape.form === "dotted" ? "inputs." : ""}${name}.url = ${urlLiteral}; ${PIN_MARKER}`;
    const last = shape.inputBindings.at(-1);
    const closing = shape.setBraces ? (tokens[shape.setBraces[1]] as Token) : undefined;
    if (last !== undefined) {
      // After the last input's line (its trailing comment included), with its indentation.
      const at = lineEnd(src, (tokens[last.semicolon] as Token).end);
      const indent = indentAt(src, (tokens[last.first] as Token).start);
      const sameLineClose =
        closing !== undefined && lineStart(src, closing.start) <= (tokens[last.semicolon] as Token).end;
      if (sameLineClose) {
        const afterSemicolon = (tokens[last.semicolon] as Token).end;
        edits.push({ at: afterSemicolon, text: `\n${indent}  ${binding}\n${indent}` });
      } else edits.push({ at, text: `\n${indent}${binding}` });
    } else if (closing !== undefined) {
      const open = tokens[(shape.setBraces as [number, number])[0]] as Token;
      const indent = indentAt(src, open.start);
      edits.push({
        at: open.end,
        text: `\n${indent}  ${binding}\n${indent}`,
        remove: closing.start - open.end,
      });
    }
    const warnings: string[] = [];
    if (shape.formals !== undefined) {
      const [open, close] = shape.formals;
      const inner = tokens.slice(open + 1, close);
      const hasEllipsis = inner.some(
        (t, k) => t.text === "." && inner[k + 1]?.text === "." && inner[k + 2]?.text === ".",
      );
      if (!hasEllipsis) {
        const prev = tokens[close - 1] as Token;
        const closeTok = tokens[close] as Token;
        if (close === open + 1) edits.push({ at: closeTok.start, text: `${name} ` });
        else if (prev.text === ",") {
          const multiLine = lineStart(src, closeTok.start) > prev.end;
          edits.push(
            multiLine
              ? { at: lineEnd(src, prev.end), text: `\n${indentAt(src, prev.start)}${name},` }
              : { at: prev.end, text: ` ${name},` },
          );
        } else edits.push({ at: prev.end, text: `, ${name}` });
        warnings.push(`added ${name} to the arguments of outputs`);
      }
    }
    return { ok: true, text: applyEdits(src, edits), warnings };
  });
}

/** Remove a pinned input (one carrying the marker) and its argument of outputs. */
export function removePinnedInput(src: string, name: string): FlakeEdit {
  return attempt(() => {
    const shape = shapeOf(src);
    const { tokens } = shape;
    const mine = shape.inputBindings.filter((b) => inputName(shape, b) === name);
    if (mine.length === 0) throw new Refusal(`flake.nix has no input named ${name}`);
    if (!mine.every((b) => hasMarker(src, shape, b))) {
      throw new Refusal(`${name} is not a pin made by \`ternix pin\` (no \`${PIN_MARKER}\` after it)`);
    }
    const edits: { at: number; remove?: number; text: string }[] = [];
    for (const b of mine) {
      const from = (tokens[b.first] as Token).start;
      const end = lineEnd(src, (tokens[b.semicolon] as Token).end);
      const onlyOnLine = src.slice(lineStart(src, from), from).trim() === "";
      // The whole line when the pin has it to itself; else just the binding and its marker.
      if (onlyOnLine) {
        const start = lineStart(src, from);
        edits.push({ at: start, remove: Math.min(src.length, end + 1) - start, text: "" });
      } else edits.push({ at: from, remove: end - from, text: "" });
    }
    const warnings: string[] = [];
    if (shape.formals !== undefined) {
      const [open, close] = shape.formals;
      for (let k = open + 1; k < close; k++) {
        const t = tokens[k] as Token;
        if (t.kind !== "id" || t.text !== name) continue;
        const next = tokens[k + 1] as Token;
        const prev = tokens[k - 1] as Token;
        if (next.text === "?") break; // it has a default: the user wrote it, leave it
        if (
          next.text === "," &&
          lineStart(src, t.start) > prev.end &&
          lineEnd(src, next.end) < (tokens[k + 2] as Token).start
        ) {
          const start = lineStart(src, t.start);
          edits.push({ at: start, remove: lineEnd(src, next.end) + 1 - start, text: "" });
        } else if (next.text === ",")
          edits.push({ at: t.start, remove: (tokens[k + 2] as Token).start - t.start, text: "" });
        else if (prev.text === ",")
          edits.push({
            at: (tokens[k - 2] as Token).end,
            remove: t.end - (tokens[k - 2] as Token).end,
            text: "",
          });
        else edits.push({ at: t.start, remove: t.end - t.start, text: "" });
        break;
      }
      const outputsBody = tokens.slice(close + 1);
      if (outputsBody.some((t) => t.kind === "id" && t.text === name)) {
        warnings.push(`outputs still mentions ${name}: remove those uses, or the flake will not evaluate`);
      }
    }
    return { ok: true, text: applyEdits(src, edits), warnings };
  });
}

function applyEdits(src: string, edits: readonly { at: number; remove?: number; text: string }[]): string {
  let out = src;
  for (const e of [...edits].sort((a, b) => b.at - a.at)) {
    out = out.slice(0, e.at) + e.text + out.slice(e.at + (e.remove ?? 0));
  }
  return out;
}
