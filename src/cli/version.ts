import { createRequire } from "node:module";

/** Set by the bundler (scripts/bundle.mjs) to package.json's version; absent when run from tsc's output. */
declare const TERNIX_BUNDLED_VERSION: string | undefined;

export const VERSION: string =
  typeof TERNIX_BUNDLED_VERSION === "string"
    ? TERNIX_BUNDLED_VERSION
    : (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
