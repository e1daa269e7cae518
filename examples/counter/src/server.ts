/**
 * Runs the counter example: `npm start` at the repository root, then open
 * http://localhost:8787. PORT, DATA_DIR and LOG_LEVEL override the defaults.
 */
import { createServer } from "cellar/node";
import { servePage } from "./node-page.js";
import { counter } from "./room.js";

const server = createServer({
  rooms: [counter],
  http: servePage(),
  port: Number(process.env.PORT ?? 8787),
  dataDir: process.env.DATA_DIR ?? "./data",
  logLevel: process.env.LOG_LEVEL ?? "info",
});
const { url } = await server.listen();
console.log(`Counter example on ${url.replace("127.0.0.1", "localhost")}`);
