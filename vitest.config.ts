import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./packages/cellar/src/${path}`, import.meta.url));
const conformance = "packages/cellar/test/conformance/**/*.test.ts";

/** The conformance suite runs once per host: the same files, CELLAR_HOST telling which. */
const conformanceProject = (host: "node" | "workerd") => ({
  extends: true as const,
  test: { name: `conformance:${host}`, include: [conformance], env: { CELLAR_HOST: host } },
});

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not the built output.
    alias: [
      { find: /^cellar$/, replacement: src("core/index.ts") },
      { find: /^cellar\/node$/, replacement: src("node/index.ts") },
      { find: /^cellar\/cloudflare$/, replacement: src("cloudflare/index.ts") },
      { find: /^cellar\/client$/, replacement: src("client/index.ts") },
      { find: /^cellar\/testing$/, replacement: src("testing/index.ts") },
      { find: /^cellar\/verani$/, replacement: src("verani/index.ts") },
      { find: /^cellar\/verani\/client$/, replacement: src("verani/client/index.ts") },
    ],
  },
  test: {
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    // --expose-gc lets the hibernation test prove an instance left memory.
    execArgv: ["--expose-gc"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/**/*.test.ts", "examples/**/*.test.ts", "apps/**/*.test.ts", "bench/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", conformance],
        },
      },
      conformanceProject("node"),
      conformanceProject("workerd"),
    ],
  },
});
