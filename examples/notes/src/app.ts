import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { clientModule } from "cellar/node";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));

/** The HTTP side: the page, and the client's modules under /cellar/. */
export function createApp(): Hono {
  const app = new Hono();
  app.get("/", async (c) => c.html(await readFile(join(publicDir, "index.html"), "utf8")));
  app.get("/cellar/*", async (c) => {
    const source = await clientModule(c.req.path.slice("/cellar/".length));
    return source === undefined ? c.notFound() : c.body(source, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  return app;
}
