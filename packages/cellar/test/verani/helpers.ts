import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { vi } from "vitest";
import type { WebSocketConstructor } from "cellar/client";
import { startServerProcess, type ServerProcess } from "cellar/testing";
import { VeraniClient, type VeraniClientOptions } from "cellar/verani/client";

/** Verani clients made by a test, each recording the events it received. */
export class Clients {
  readonly #open: VeraniClient[] = [];

  /** A client of `path` (with its query) on the server at `httpUrl`, recording `events`. */
  make(httpUrl: string, path: string, events: readonly string[], options: VeraniClientOptions = {}): Recorded {
    return this.at(`${httpUrl.replace(/^http/, "ws")}${path}`, events, options);
  }

  /** A client of the WebSocket URL `url`, recording `events`. */
  at(url: string, events: readonly string[], options: VeraniClientOptions = {}): Recorded {
    const client = new VeraniClient(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, ...options });
    this.#open.push(client);
    const received: Array<{ event: string; data: any }> = [];
    for (const event of events) client.on(event, (data) => received.push({ event, data }));
    return { client, received, next: (event) => nextOf(received, event) };
  }

  closeAll(): void {
    for (const client of this.#open.splice(0)) client.close();
  }
}

export interface Recorded {
  client: VeraniClient;
  received: Array<{ event: string; data: any }>;
  /** Waits for the next `event` not yet taken, and takes it. */
  next(event: string): Promise<any>;
}

function nextOf(received: Array<{ event: string; data: any; taken?: boolean }>, event: string): Promise<any> {
  return vi.waitFor(
    () => {
      const found = received.find((r) => r.event === event && !r.taken);
      if (!found) throw new Error(`no "${event}" yet`);
      found.taken = true;
      return found.data;
    },
    { timeout: 5_000, interval: 10 },
  );
}

/** A server process with every Verani room of the tests (fixtures/server-main.ts) on `dataDir`, for SIGKILL tests. */
export function startVeraniProcess(dataDir: string): Promise<ServerProcess> {
  return startServerProcess({
    script: fileURLToPath(new URL("./fixtures/server-main.ts", import.meta.url)),
    env: { DATA_DIR: dataDir },
    execArgv: ["--conditions=source", "--import", "tsx"],
  });
}
