// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Folders whose code is pure: no processes, no file system, no console. */
const pureFolders = ["src/lock/**", "src/closure/**", "src/report/**", "src/system/**"];

export default tseslint.config(
  { ignores: ["dist/**", "dist-test/**", "node_modules/**", "coverage/**", "test/fixtures/**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    files: pureFolders.map((f) => `${f}.ts`),
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:fs", "node:fs/*", "fs", "node:child_process", "child_process"],
              message: "Pure folder: take effects as arguments.",
            },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "process", message: "Pure folder: no process access." }],
      "no-console": "error",
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/cli/**", "**/*.test.ts"],
    rules: { "no-console": "error" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
