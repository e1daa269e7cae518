/**
 * The lobby server in a child process, for the SIGKILL test: DATA_DIR from the parent, a free
 * port, announced on stdout.
 */
import { createServer } from "cellar/node";
import { announceListening } from "cellar/testing";
import { createApp } from "../src/app.js";
import { servePage } from "../src/node-page.js";
import { rooms } from "../src/rooms.js";

const app = servePage(createApp(() => server));
const server = createServer({ rooms, http: app, dataDir: process.env.DATA_DIR!, port: 0, logLevel: process.env.LOG_LEVEL ?? "warn" });
await server.listen();
announceListening(server);
