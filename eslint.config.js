// Type-aware linting: the rules that catch floating promises and unsafe `any`
// are the ones that matter for an orchestrator full of async work.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bin/**", "eslint.config.js", ".dependency-cruiser.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: "./tsconfig.eslint.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/test return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", name: ["test", "describe", "it", "suite"], package: "node:test" }] }],
      "@typescript-eslint/no-explicit-any": "error",
      // status trees and tables are matched column for column: their spaces are the layout
      "no-regex-spaces": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // the dashboard's page: plain ES modules run by the browser, served as they are (no type information)
    files: ["src/agent/web/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: "module",
      parserOptions: { project: false, program: null, projectService: false },
      globals: Object.fromEntries(
        ["window", "document", "location", "sessionStorage", "Event", "fetch", "EventSource", "performance", "requestAnimationFrame", "setTimeout", "clearTimeout", "Node", "TextDecoderStream", "AbortController", "console"].map((g) => [g, "readonly"]),
      ),
    },
  },
  {
    // the benchmark's Node http floor: a plain CommonJS script run by node as it is (no bundle, no library)
    files: ["bench/**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: "commonjs",
      globals: Object.fromEntries(["require", "process", "Buffer"].map((g) => [g, "readonly"])),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, "@typescript-eslint/no-require-imports": "off" },
  },
);
