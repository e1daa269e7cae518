/**
 * Runs Sommelier Arena: `npm start` at the repository root (which builds first), then open
 * http://localhost:8787. Environment: PORT (8787), DATA_DIR (./data), HOST (127.0.0.1),
 * LOG_LEVEL (info), HOST_GRACE_MS (how long a session waits for an absent host, 1 hour),
 * MIN_TIMER_SECONDS (lowest timer allowed, 15; for demos and tests).
 */
import { createArenaServer } from "./arena.js";

const number = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

const server = createArenaServer({
  port: number("PORT") ?? 8787,
  host: process.env.HOST ?? "127.0.0.1",
  dataDir: process.env.DATA_DIR ?? "./data",
  logLevel: process.env.LOG_LEVEL ?? "info",
  hostGraceMs: number("HOST_GRACE_MS"),
  minTimerSeconds: number("MIN_TIMER_SECONDS"),
});
const { url } = await server.listen();
console.log(`Sommelier Arena on ${url.replace("127.0.0.1", "localhost")}`);
