/**
 * Runs the lobby example: `node --conditions=source --import tsx examples/lobby/src/server.ts`
 * at the repository root (or `node examples/lobby/dist/server.js` after `npm run build`), then
 * open http://localhost:8787. PORT, DATA_DIR and LOG_LEVEL override the defaults.
 */
import { createServer } from "cellar/node";
import { createApp } from "./app.js";
import { servePage } from "./node-page.js";
import { rooms } from "./rooms.js";

// The API calls the server's rooms only when a request comes, by which time `server` exists.
const app = servePage(createApp(() => server));
const server = createServer({
  rooms,
  http: app,
  port: Number(process.env.PORT ?? 8787),
  dataDir: process.env.DATA_DIR ?? "./data",
  logLevel: process.env.LOG_LEVEL ?? "info",
});
const { url } = await server.listen();
console.log(`Lobby example on ${url.replace("127.0.0.1", "localhost")}`);
