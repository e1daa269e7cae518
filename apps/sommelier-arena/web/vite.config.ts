import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The web app: built into dist/web, which the arena server serves as a single-page app. */
export default defineConfig({
  root: here("."),
  plugins: [react()],
  resolve: {
    // The client's TypeScript sources build the same with or without a prior `tsc -b`.
    alias: [{ find: /^cellar\/client$/, replacement: here("../../../packages/cellar/src/client/index.ts") }],
  },
  build: {
    outDir: here("../dist/web"),
    emptyOutDir: true,
    target: "es2022",
  },
  server: {
    // `npx vite --config web/vite.config.ts` (from apps/sommelier-arena) for hot reload,
    // with the arena server itself running on port 8790.
    proxy: {
      "/api": "http://127.0.0.1:8790",
      "/rooms": { target: "ws://127.0.0.1:8790", ws: true },
    },
  },
});
