/**
 * Every variable a forge token may come from: output redacts their values wherever they appear.
 * A module of its own, so the CLI's output layer (loaded by every command) does not load the forge
 * clients and their schemas (zod) with it: that cost `ternix diff` ~35 ms of start-up.
 */
export const FORGE_TOKEN_VARIABLES: readonly string[] = [
  "TERNIX_FORGE_TOKEN",
  "GITHUB_TOKEN",
  "FORGEJO_TOKEN",
  "GITEA_TOKEN",
];
