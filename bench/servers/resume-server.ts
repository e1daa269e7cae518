import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import http from "node:http";
const UP: number[] = [];
const origEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: any, ev: string, ...args: any[]) {
  if (ev === "upgrade") UP.push(performance.timeOrigin + performance.now());
  if (ev === "connection") CONN.push(performance.timeOrigin + performance.now());
  return origEmit.call(this, ev, ...args);
} as any;
const CONN: number[] = [];
const eld = monitorEventLoopDelay({ resolution: 5 });
import { createServer } from "cellar/node";
import { serve } from "../lib/ipc-host.js";
import { feed } from "./rooms.js";

/**
 * P5's server: a Cellar server on a given port and data directory, so that the parent can
 * SIGKILL it and start it again on the same port and data, as a supervisor would. Server
 * defaults apply (resume window, replay log, rate limit, heartbeat): P5 measures resume as
 * deployed. The data directory belongs to the parent, which removes it.
 */
const config = JSON.parse(process.argv[2] ?? "{}") as { dataDir: string; port: number };
const server = createServer({ rooms: [feed], dataDir: config.dataDir, port: config.port, logLevel: "silent", signals: false });
const { port } = await server.listen();
// Wall-clock time (ms, sub-ms precision) at which connections are accepted, comparable
// with the same reading in the parent (both are performance.timeOrigin + performance.now()).
const listeningAt = performance.timeOrigin + performance.now();
eld.enable();

serve(`ws://127.0.0.1:${port}`, {
  commands: {
    /** When this process started and when it was listening (ms since the epoch). */
    startup: () => ({ processStartedAt: performance.timeOrigin, listeningAt }),
    stats: () => server.stats(),
    diag: () => ({ up: UP, conn: CONN, eld: { max: eld.max / 1e6, p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6 } }),
  },
  close: () => server.close(),
});
