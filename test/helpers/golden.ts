/**
 * Golden files for rendered reports: compare a rendering with `test/golden/<name>`, or rewrite the
 * file when the test runs with `UPDATE_GOLDEN=1` (then review the diff like code).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const GOLDEN_DIR = fileURLToPath(new URL("../golden/", import.meta.url));

export async function expectGolden(name: string, actual: string): Promise<void> {
  const file = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = await readFile(file, "utf8");
  } catch {
    throw new Error(
      `Golden file test/golden/${name} is missing; run the test with UPDATE_GOLDEN=1 to create it.`,
    );
  }
  expect(actual, `test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(expected);
}
