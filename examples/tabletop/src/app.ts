import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { clientModule } from "cellar/node";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));

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
    const source = await clientModule(c.req.path.slice("/cellar/".length));
    return source === undefined ? c.notFound() : c.body(source, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  return app;
}
