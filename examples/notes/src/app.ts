import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));
// The browser imports the client straight from the built package: its modules only import
// each other, with relative paths. "cellar/client" resolves to dist/client/index.js, or to
// src/client/index.ts when the server runs from source (--conditions=source); either way the
// package root is two levels up, and the browser needs the built files in its dist/.
const cellarDist = resolve(dirname(createRequire(import.meta.url).resolve("cellar/client")), "../../dist");

/** The HTTP side: the page, and the client's modules under /cellar/. */
export function createApp(): Hono {
  const app = new Hono();
  app.get("/", async (c) => c.html(await readFile(join(publicDir, "index.html"), "utf8")));
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
