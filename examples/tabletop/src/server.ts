/**
 * Runs the tabletop example: `node examples/tabletop/dist/server.js` after `npm run build`
 * (or `node --conditions=source --import tsx examples/tabletop/src/server.ts`), then open
 * http://localhost:8787. PORT, DATA_DIR, LOG_LEVEL, GRACE_MS (how long the host may be away,
 * default 10 minutes) and PURGE_AFTER_MS (how long an abandoned table is kept, default 1
 * hour) override the defaults.
 */
import { createServer } from "cellar/node";
import { createApp } from "./app.js";
import { servePage } from "./node-page.js";
import { createTabletop } from "./room.js";

const optionalMs = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

const tabletop = createTabletop({ graceMs: optionalMs("GRACE_MS"), purgeAfterMs: optionalMs("PURGE_AFTER_MS") });
const server = createServer({
  rooms: [tabletop.room],
  http: servePage(createApp(tabletop, () => server)),
  port: Number(process.env.PORT ?? 8787),
  dataDir: process.env.DATA_DIR ?? "./data",
  logLevel: process.env.LOG_LEVEL ?? "info",
});
const { url } = await server.listen();
console.log(`Tabletop example on ${url.replace("127.0.0.1", "localhost")}`);
