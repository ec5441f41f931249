/**
 * Start-up cost guard: what every command loads before it runs (the bundle's static import graph
 * from dist/cli/bin.js) must not include zod or the forge clients. Output redaction once pulled them
 * in through src/forge/detect.ts, which cost `ternix diff` ~60 ms of module loading (bench/diff).
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { CLI_BIN, ensureBuiltCli } from "../helpers/cli.js";

beforeAll(ensureBuiltCli);

async function staticGraph(entry: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    const text = await readFile(file, "utf8");
    seen.set(file, text);
    // Static imports only (`import … from "./x.js"` / `import "./x.js"`); `import("./x.js")` is lazy.
    for (const m of text.matchAll(/^import\s+(?:[^"';]*?\s+from\s+)?["'](\.[^"']+)["']/gm)) {
      queue.push(join(dirname(file), m[1] as string));
    }
  }
  return seen;
}

it("every command's start-up loads neither zod nor the forge clients", async () => {
  const graph = await staticGraph(CLI_BIN);
  expect(graph.size).toBeGreaterThan(1);
  const offenders = [...graph].filter(([, text]) =>
    /node_modules\/zod\/|\/\/ src\/forge\/(http|github|forgejo|schema)\.ts/.test(text),
  );
  expect(offenders.map(([file]) => file)).toEqual([]);
});
