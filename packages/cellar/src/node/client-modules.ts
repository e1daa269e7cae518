import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The built package (`dist/`), found from this module whether it runs built (dist/node/) or
 * from source (src/node/, with the `source` condition): the browser needs the built files.
 */
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/**
 * The source of one of `cellar/client`'s built browser modules, by its path under the
 * package's `dist/` (`"client/index.js"`), for an app to serve to pages; the modules import
 * each other by relative paths, so serving the folder serves the client. Anything outside
 * `dist/`, or not a `.js` file, or missing, is `undefined`.
 *
 * @example
 * app.get("/cellar/*", async (c) => {
 *   const source = await clientModule(c.req.path.slice("/cellar/".length));
 *   return source === undefined ? c.notFound() : c.body(source, 200, { "content-type": "text/javascript; charset=utf-8" });
 * });
 * // in the page: import { CellarClient } from "/cellar/client/index.js";
 */
export async function clientModule(path: string): Promise<string | undefined> {
  const file = resolve(DIST, path);
  if (!file.startsWith(DIST) || !file.endsWith(".js")) return undefined;
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}
