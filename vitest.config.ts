import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./packages/cellar/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not the built output.
    alias: [
      { find: /^cellar$/, replacement: src("core/index.ts") },
      { find: /^cellar\/node$/, replacement: src("node/index.ts") },
      { find: /^cellar\/client$/, replacement: src("client/index.ts") },
      { find: /^cellar\/testing$/, replacement: src("testing/index.ts") },
    ],
  },
  test: {
    include: ["packages/**/*.test.ts", "examples/**/*.test.ts", "apps/**/*.test.ts", "bench/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    // --expose-gc lets the hibernation test prove an instance left memory.
    execArgv: ["--expose-gc"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
