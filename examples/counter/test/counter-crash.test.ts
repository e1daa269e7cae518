import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startServerProcess, tempDataDir, type ServerProcess } from "cellar/testing";

/*
 * The counter server runs in a child process that is killed with SIGKILL in the middle of a
 * burst of increments: no graceful shutdown, only what was committed survives.
 */

const script = fileURLToPath(new URL("./crash-server.ts", import.meta.url));

let processes: ServerProcess[] = [];
let clients: CellarClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  processes = [];
  clients = [];
});

async function boot(dataDir: string): Promise<ServerProcess> {
  const p = await startServerProcess({ script, env: { DATA_DIR: dataDir }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

/** A client that does not reconnect, so the killed server fails its requests at once. */
function join(server: ServerProcess, name: string): CellarClient {
  const c = server.client("counter", "main", { params: { name }, reconnect: false });
  clients.push(c);
  return c;
}

describe("counter example: SIGKILL and restart", () => {
  it("every acknowledged increment is there after a SIGKILL in the middle of a burst", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const ana = join(first, "Ana");
    await ana.waitForConnection();

    const total = 150;
    const killAt = 20 + Math.floor(Math.random() * 100);
    let sent = 0;
    let acked = 0;
    let unknown = 0;
    let lastAck = 0;
    // Eight increments in flight at a time; the kill lands while some are unanswered.
    const worker = async () => {
      while (sent < total) {
        sent++;
        try {
          lastAck = Math.max(lastAck, (await ana.request("counter:increment", { amount: 1 })) as number);
          if (++acked === killAt) void first.kill("SIGKILL");
        } catch {
          unknown++;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(acked).toBeGreaterThanOrEqual(killAt);
    expect(unknown).toBeGreaterThan(0);
    expect(lastAck).toBe(acked);

    const second = await boot(dataDir);
    const bo = join(second, "Bo");
    const synced = new Promise<{ count: number; lastUpdatedBy: string | null }>((resolve) => bo.once("counter:sync", resolve));
    await bo.waitForConnection();
    const { count, lastUpdatedBy } = await synced;
    // Every acknowledged increment is there; at most the unanswered ones were added besides.
    expect(count).toBeGreaterThanOrEqual(acked);
    expect(count).toBeLessThanOrEqual(acked + unknown);
    expect(lastUpdatedBy).toBe("Ana");
    expect(await bo.request("counter:increment", { amount: 1 })).toBe(count + 1);
  });
});
