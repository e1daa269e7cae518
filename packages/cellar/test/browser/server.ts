/**
 * The browser tests' server, in its own process so that a test can SIGKILL it: the `feed`
 * room at /rooms/feed/<id>, the test page at /, and the bundled client at /cellar-client.js,
 * all on one port. Reads DATA_DIR, PORT (fixed, so that a page's URL stays valid across
 * restarts) and CLIENT_BUNDLE (the file esbuild wrote).
 */
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { createServer } from "cellar/node";
import { announceListening } from "cellar/testing";
import { feed } from "../fixtures/resume-rooms.js";

const page = readFileSync(new URL("./page.html", import.meta.url), "utf8");
const bundle = readFileSync(process.env.CLIENT_BUNDLE!, "utf8");
// Nothing cached: a reload fetches the page and the client again.
const noStore = { "cache-control": "no-store" };

const app = new Hono();
app.get("/", (c) => c.html(page, 200, noStore));
app.get("/cellar-client.js", (c) => c.body(bundle, 200, { ...noStore, "content-type": "text/javascript; charset=utf-8" }));

const server = createServer({
  rooms: [feed],
  dataDir: process.env.DATA_DIR!,
  port: Number(process.env.PORT),
  http: app,
  logLevel: process.env.LOG_LEVEL ?? "warn",
});
await server.listen();
announceListening(server);
