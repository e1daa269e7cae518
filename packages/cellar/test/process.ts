import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { CellarClient, type WebSocketConstructor } from "cellar/client";
import { startServerProcess, type ServerProcess } from "cellar/testing";

const script = fileURLToPath(new URL("./fixtures/server-main.ts", import.meta.url));

/** Starts tests/fixtures/server-main.ts in a child process on `dataDir`. */
export function startProcess(dataDir: string): Promise<ServerProcess> {
  return startServerProcess({
    script,
    env: { DATA_DIR: dataDir },
    // The child runs the TypeScript sources, as the tests do.
    execArgv: ["--conditions=source", "--import", "tsx"],
  });
}

export async function connectTo(server: ServerProcess, kind: string, id: string): Promise<CellarClient> {
  const url = server.roomUrl(kind, id);
  const client = new CellarClient(url, { WebSocket: WebSocket as unknown as WebSocketConstructor });
  await client.waitForConnection();
  return client;
}
