/**
 * The notes server in a child process, for the crash test: reads DATA_DIR, listens on a
 * free port and announces its URL on stdout.
 */
import { createServer } from "cellar/node";
import { announceListening } from "cellar/testing";
import { notes } from "../src/room.js";

const server = createServer({ rooms: [notes], dataDir: process.env.DATA_DIR!, port: 0, logLevel: process.env.LOG_LEVEL ?? "warn" });
await server.listen();
announceListening(server);
