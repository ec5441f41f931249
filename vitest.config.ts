import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
          // Unit tests first; the real-Nix integration tests run after them with fewer workers.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          sequence: { groupOrder: 1 },
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Real Nix builds: keep parallelism modest on 2 cores.
          maxWorkers: 2,
        },
      },
    ],
  },
});
