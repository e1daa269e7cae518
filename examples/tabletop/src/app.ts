import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));
// The browser imports the client straight from the built package (`npm run build`): its
// modules only import each other, with relative paths. The entry resolves to src/client/ or
// dist/client/ depending on the `source` condition; the built files are in dist/ either way.
const cellarDist = resolve(dirname(createRequire(import.meta.url).resolve("cellar/client")), "../../dist");

export interface AppOptions {
  /** Creates a table; `Tabletop.createTable` bound to the server. */
  createTable(): Promise<{ tableId: string; hostKey: string }>;
}

/**
 * The HTTP side: the page, the client's modules under /cellar/, and `POST /api/tables`,
 * which creates a table and answers `{ tableId, hostKey }` — the only time the key is shown.
 */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  app.get("/", async (c) => c.html(await readFile(join(publicDir, "index.html"), "utf8")));
  app.post("/api/tables", async (c) => {
    c.header("cache-control", "no-store");
    return c.json(await options.createTable(), 201);
  });
  app.get("/cellar/*", async (c) => {
    const file = resolve(cellarDist, c.req.path.slice("/cellar/".length));
    if (!file.startsWith(cellarDist + sep) || !file.endsWith(".js")) return c.notFound();
    try {
      return c.body(await readFile(file, "utf8"), 200, { "content-type": "text/javascript; charset=utf-8" });
    } catch {
      return c.notFound();
    }
  });
  return app;
}
