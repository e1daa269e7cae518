/**
 * Serves Verani's counter room on Cellar's Node host: `node examples/verani-counter/dist/server.js`.
 * PORT and DATA_DIR override the defaults.
 */
import { createServer } from "cellar/node";
import { CounterActor } from "./room.js";

const server = createServer({
  rooms: [CounterActor],
  port: Number(process.env.PORT ?? 8787),
  dataDir: process.env.DATA_DIR ?? "./data",
});
const { url } = await server.listen();
console.log(`Verani counter on ${url.replace(/^http/, "ws")}/ws/counter`);
