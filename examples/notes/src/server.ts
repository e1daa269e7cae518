/**
 * Runs the notes example: `node --conditions=source --import tsx examples/notes/src/server.ts`
 * from the repository root (or `node examples/notes/dist/server.js` after `npm run build`),
 * then open http://localhost:8787. PORT, DATA_DIR and LOG_LEVEL override the defaults.
 */
import { createServer } from "cellar/node";
import { servePage } from "./node-page.js";
import { notes } from "./room.js";

const server = createServer({
  rooms: [notes],
  http: servePage(),
  port: Number(process.env.PORT ?? 8787),
  dataDir: process.env.DATA_DIR ?? "./data",
  logLevel: process.env.LOG_LEVEL ?? "info",
});
const { url } = await server.listen();
console.log(`Notes example on ${url.replace("127.0.0.1", "localhost")}`);
