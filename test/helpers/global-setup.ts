/**
 * Vitest global setup for the integration project: make sure a nix-daemon answers on the
 * standard socket (start one if not, and stop it afterwards), and put the test environment
 * (nix-env.ts) into process.env so workers and the processes they spawn inherit it.
 */
import { ensureNixDaemon } from "./nix-daemon.js";
import { nixTestVariables } from "./nix-env.js";

export default async function setup(): Promise<() => Promise<void>> {
  Object.assign(process.env, nixTestVariables());
  const daemon = await ensureNixDaemon();
  return () => daemon.stop();
}
