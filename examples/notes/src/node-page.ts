/*
 * The page and the browser client on the Node host, read from disk. On Cloudflare the same
 * page is a static asset (wrangler.jsonc `assets`) and the client is bundled into
 * public/cellar/ by `npm run build:client`: the page imports it from the same URL on both.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono, type Env } from "hono";
import { clientModule } from "cellar/node";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));

/** Adds the page at `/` and the client's modules under `/cellar/` to `app`. */
export function servePage<E extends Env>(app: Hono<E> = new Hono<E>()): Hono<E> {
  app.get("/", async (c) => c.html(await readFile(join(publicDir, "index.html"), "utf8")));
  app.get("/cellar/*", async (c) => {
    const source = await clientModule(c.req.path.slice("/cellar/".length));
    return source === undefined ? c.notFound() : c.body(source, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  return app;
}
