/*
 * The Node host under the conformance suite: a server in this process on a fixed port, with
 * a temporary data directory. `restart()` closes it and starts a new one on the same
 * directory and port (the crash tests in ../ kill real processes; here a restart is enough).
 */
import { rmSync } from "node:fs";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";
import type { CellarClient } from "cellar/client";
import type { ConformanceHost, HostConfig } from "./harness.js";
import { rooms } from "./rooms.js";

export async function startNodeHost(config: HostConfig): Promise<ConformanceHost> {
  const dataDir = tempDataDir("cellar-conformance-");
  const start = (port?: number) => startTestServer({ rooms, dataDir, port, ...config, hibernateAfterMs: 60_000 });
  let server: TestServer = await start();
  const port = Number(new URL(server.url).port);
  const clients = new Set<CellarClient>();
  const host: ConformanceHost = {
    name: "node",
    url: server.url,
    roomUrl: (kind, id) => server.server.roomUrl(kind, id),
    client(kind, id, options) {
      const c = server.client(kind, id, options);
      clients.add(c);
      return c;
    },
    async connect(kind, id, options) {
      const c = host.client(kind, id, options);
      await c.waitForConnection();
      return c;
    },
    call: (kind, id, action, args) => server.server.call(kind, id, action, args),
    async hibernateAll() {
      server.server.hibernate();
    },
    async restart() {
      await server.server.close();
      server = await start(port);
    },
    async close() {
      for (const c of clients) if (c.state !== "closed") c.close();
      await server.close({ keepData: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return host;
}
