import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CellarClient, ClientOptions } from "../client/client.js";
import { nodeClient } from "./node-client.js";
import { createServer, type CellarServer } from "../node/server.js";
import type { ServerOptions } from "../node/options.js";

/** A fresh, empty data directory under the system temp folder. */
export function tempDataDir(prefix = "cellar-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer {
  server: CellarServer;
  /** `http://127.0.0.1:<port>` */
  url: string;
  dataDir: string;
  /** Opens a client to an instance and waits for its handshake. */
  connect(kind: string, id: string, options?: ClientOptions): Promise<CellarClient>;
  /** A client that is not yet connected (to watch the handshake fail, say). */
  client(kind: string, id: string, options?: ClientOptions): CellarClient;
  /** Closes every client made here, then the server; removes the data directory unless kept. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export type TestServerOptions = Omit<ServerOptions, "port"> & { port?: number };

/**
 * Starts a server on a free port with a temporary data directory and quiet logs.
 *
 * @example
 * const t = await startTestServer({ rooms: [counter] });
 * const client = await t.connect("counter", "a");
 * expect(await client.request("counter:increment", {})).toBe(1);
 * await t.close();
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const server = createServer({ logLevel: "silent", signals: false, ...options, dataDir, port: options.port ?? 0 });
  const { url } = await server.listen();
  const clients = new Set<CellarClient>();
  const client = (kind: string, id: string, clientOptions: ClientOptions = {}) => {
    const c = nodeClient(server.roomUrl(kind, id), clientOptions);
    clients.add(c);
    return c;
  };
  return {
    server,
    url,
    dataDir,
    client,
    async connect(kind, id, clientOptions) {
      const c = client(kind, id, clientOptions);
      await c.waitForConnection();
      return c;
    },
    async close({ keepData = false } = {}) {
      for (const c of clients) if (c.state !== "closed") c.close();
      await server.close();
      if (!keepData && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
