// Bundle the CLI for start-up speed: `dist/cli/bin.js` (replacing tsc's) plus chunks for the
// commands loaded on demand, so `ternix diff` reads a few files instead of resolving ~40 modules.
// tsc still type-checks and emits dist/ (its modules are what the tests and benchmarks import).
import { readFileSync } from "node:fs";
import { URL } from "node:url";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: ["src/cli/bin.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Dynamic imports (commands, the config schema) stay lazy: each becomes its own chunk.
  splitting: true,
  outdir: "dist/cli",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  // A native addon: loaded from node_modules at run time, and only when the store database is read.
  external: ["better-sqlite3"],
  define: { TERNIX_BUNDLED_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies (commander) call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __ternixCreateRequire } from 'node:module'; const require = __ternixCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: "warning",
});
