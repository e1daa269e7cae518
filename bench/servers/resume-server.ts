import { performance } from "node:perf_hooks";
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

serve(`ws://127.0.0.1:${port}`, {
  commands: {
    /** When this process started and when it was listening (ms since the epoch). */
    startup: () => ({ processStartedAt: performance.timeOrigin, listeningAt }),
    stats: () => server.stats(),
  },
  close: () => server.close(),
});
