import type { z } from "zod";
import { LockParseError } from "../errors.js";
import { resolveInputPath } from "./resolve.js";
import { FlakeLock, supportedLockVersions } from "./schema.js";

/**
 * Parse and check a `flake.lock`. Throws `LockParseError` with a one-line message and the JSON path
 * of the first problem: malformed JSON, an unsupported version, a schema violation, a missing root,
 * an input naming a missing node, a node without `locked`, or a follows path that does not resolve.
 */
export function parseFlakeLock(text: string, file: string): FlakeLock {
  const json = parseJson(text, file);

  if (!isRecord(json)) {
    throw new LockParseError(file, `expected a JSON object, got ${describe(json)}`);
  }
  const version = json["version"];
  if (typeof version === "number" && !supportedLockVersions.includes(version)) {
    const newer = version > Math.max(...supportedLockVersions);
    throw new LockParseError(file, `unsupported lock version ${version}`, {
      path: "version",
      hint: newer
        ? `Ternix reads lock versions ${supportedLockVersions.join(", ")}; upgrade Ternix.`
        : `Ternix reads lock versions ${supportedLockVersions.join(", ")}; rewrite the lock with a current Nix (\`nix flake lock\`).`,
    });
  }
  if (version === 5) mergeVersion5Info(json);

  const parsed = FlakeLock.safeParse(json);
  if (!parsed.success) throw schemaError(parsed.error, json, file);
  const lock = parsed.data;

  checkGraph(lock, file);
  return lock;
}

function parseJson(text: string, file: string): unknown {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") throw new LockParseError(file, "file is empty");
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    // V8 says "... in JSON at position N" (Node 22 adds "(line L column C)"); "Unexpected end of
    // JSON input" has no position because the error is at the end.
    const match = /^(.*?)(?: in JSON)? at position (\d+)/.exec(raw);
    let position = match ? Number(match[2]) : /end of JSON input/.test(raw) ? body.length : undefined;
    let reason = (match?.[1] ?? raw).replace(/\s*\(line \d+ column \d+\)$/, "");
    // Node 20 quotes the text around the error (`Unexpected token 'r', "root:x:0:0"... is not valid
    // JSON`): never echo a file's content (it may be /etc/shadow), only where it went wrong.
    if (/"|is not valid JSON/.test(reason)) {
      reason = "unexpected character";
      position ??= errorPosition(body);
    }
    const where = position === undefined ? "" : ` at ${lineColumn(body, position)}`;
    throw new LockParseError(file, `invalid JSON: ${reason}${where}`, { cause: error });
  }
}

/**
 * Where JSON.parse fails when its message does not say: the shortest prefix that fails for another
 * reason than ending early ends one past the offending character.
 */
function errorPosition(body: string): number | undefined {
  if (body.length > 1_000_000) return undefined;
  const failsInside = (length: number): boolean => {
    try {
      JSON.parse(body.slice(0, length));
      return false;
    } catch (error) {
      return !/end of JSON input|Unterminated/.test(error instanceof Error ? error.message : "");
    }
  };
  let low = 1;
  let high = body.length;
  if (!failsInside(high)) return undefined;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (failsInside(mid)) high = mid;
    else low = mid + 1;
  }
  return low - 1;
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

/** Version 5 kept `lastModified` and `narHash` in a separate `info` object; Nix merges it into `locked`. */
function mergeVersion5Info(json: Record<string, unknown>): void {
  const nodes = json["nodes"];
  if (!isRecord(nodes)) return;
  for (const node of Object.values(nodes)) {
    if (isRecord(node) && isRecord(node["info"]) && isRecord(node["locked"])) {
      node["locked"] = { ...node["locked"], ...node["info"] };
    }
  }
}

function schemaError(error: z.ZodError, json: unknown, file: string): LockParseError {
  const [issue, ...rest] = error.issues;
  if (issue === undefined) return new LockParseError(file, "does not match the flake.lock schema");
  const path = formatPath(issue.path);
  const value = valueAt(json, issue.path);
  let message: string;
  if (issue.code === "invalid_type") {
    message =
      value === undefined ? "missing required field" : `expected ${issue.expected}, got ${describe(value)}`;
  } else {
    message = issue.message;
  }
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? "" : "s"})` : "";
  return new LockParseError(file, `${message}${more}`, { path });
}

function checkGraph(lock: FlakeLock, file: string): void {
  if (!lock.nodes.has(lock.root)) {
    throw new LockParseError(file, `root node "${lock.root}" is missing from nodes`, { path: "root" });
  }
  for (const [key, node] of lock.nodes) {
    if (key !== lock.root && node.locked === undefined) {
      throw new LockParseError(file, `node "${key}" has no locked reference`, {
        path: formatPath(["nodes", key, "locked"]),
      });
    }
    for (const [name, ref] of node.inputs ?? []) {
      const path = formatPath(["nodes", key, "inputs", name]);
      if (typeof ref === "string") {
        if (!lock.nodes.has(ref)) {
          throw new LockParseError(file, `input "${name}" of node "${key}" refers to missing node "${ref}"`, {
            path,
          });
        }
      } else {
        const resolved = resolveInputPath(lock, ref);
        if (!resolved.ok) {
          throw new LockParseError(
            file,
            `input "${name}" of node "${key}" follows "${ref.join("/")}", which does not resolve: ${resolved.problem}`,
            { path },
          );
        }
      }
    }
  }
  const cycle = findNodeCycle(lock);
  if (cycle !== undefined) {
    throw new LockParseError(file, `input cycle: ${cycle.keys.join(" → ")}`, {
      path: formatPath(["nodes", cycle.from, "inputs", cycle.input]),
    });
  }
}

/** Nix never writes a lock whose node references loop; one that does would make every walk endless. */
function findNodeCycle(lock: FlakeLock): { keys: string[]; from: string; input: string } | undefined {
  const done = new Set<string>();
  const visit = (
    key: string,
    stack: string[],
  ): { keys: string[]; from: string; input: string } | undefined => {
    if (done.has(key)) return undefined;
    for (const [input, ref] of lock.nodes.get(key)?.inputs ?? []) {
      if (typeof ref !== "string") continue;
      if (stack.includes(ref)) return { keys: [...stack.slice(stack.indexOf(ref)), ref], from: key, input };
      const found = visit(ref, [...stack, ref]);
      if (found) return found;
    }
    done.add(key);
    return undefined;
  };
  return visit(lock.root, [lock.root]);
}

/** `nodes.nixpkgs.locked.type`; keys that are not identifiers are quoted: `nodes["a.b"].locked`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_][\w-]*$/.test(part))
      out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const part of path) {
    if (Array.isArray(value) && typeof part === "number") value = value[part] as unknown;
    else if (isRecord(value) && typeof part === "string") value = value[part];
    else return undefined;
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
