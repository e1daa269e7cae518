import { fileURLToPath } from "node:url";
import type { CellarClient } from "cellar/client";
import { startServerProcess, startTestServer, type ServerProcess, type TestServer, type TestServerOptions } from "cellar/testing";
import { createApp } from "../src/app.js";
import { servePage } from "../src/node-page.js";
import { rooms } from "../src/rooms.js";

/** A test server with the example's rooms and its HTTP app (whose API calls the lobby's actions). */
export async function startLobby(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  const app = servePage(createApp(() => t.server));
  const t: TestServer = await startTestServer({ rooms, http: app, ...options });
  return t;
}

/** Runs test/server-process.ts in a child process on `dataDir`, to kill it for real. */
export function startLobbyProcess(dataDir: string): Promise<ServerProcess> {
  return startServerProcess({
    script: fileURLToPath(new URL("./server-process.ts", import.meta.url)),
    env: { DATA_DIR: dataDir },
    execArgv: ["--conditions=source", "--import", "tsx"],
  });
}

/** A connected client of a server process, named `name`. */
export async function connectTo(server: ServerProcess, kind: string, name: string): Promise<CellarClient> {
  const client = server.client(kind, "main", { params: { name } });
  await client.waitForConnection();
  return client;
}

/** The next `event` on `client` that `match` accepts; fails after `timeoutMs` rather than at the test's timeout. */
export function next<T = any>(client: CellarClient, event: string, match: (data: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`No matching "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (data: T) => {
      if (!match(data)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(data);
    };
    client.on(event, listener);
  });
}

/** Every `event` `client` receives from now on. */
export function collect<T = any>(client: CellarClient, event: string): T[] {
  const seen: T[] = [];
  client.on(event, (data: T) => seen.push(data));
  return seen;
}
