import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CellarClient } from "cellar/client";
import { tempDataDir, type ServerProcess } from "cellar/testing";
import { connectTo, startProcess } from "./process.js";

/*
 * These tests run the server in a child process and kill it for real: SIGKILL for a crash,
 * SIGTERM for a graceful shutdown.
 */

let processes: ServerProcess[] = [];
afterEach(async () => {
  for (const p of processes) await p.kill("SIGKILL");
  processes = [];
});

async function boot(dataDir: string): Promise<ServerProcess> {
  const p = await startProcess(dataDir);
  processes.push(p);
  return p;
}

describe("durable schedule across a crash (guarantee 5)", () => {
  it("an alarm armed before a SIGKILL fires once after the restart", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const arming = await connectTo(first, "clock", "c1");
    // "sentinel" fires after "ding": once it has fired, "ding" has had every chance to fire twice.
    expect(await arming.request("arm", [{ name: "ding", inMs: 700 }, { name: "sentinel", inMs: 900 }])).toBe(2);
    await first.kill("SIGKILL");

    const second = await boot(dataDir);
    const watcher = await connectTo(second, "clock", "c1");
    const fired = await vi.waitFor(
      async () => {
        const list = (await watcher.request("fired")) as Array<{ name: string }>;
        expect(list.map((f) => f.name)).toContain("sentinel");
        return list;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(fired.map((f) => f.name)).toEqual(["ding", "sentinel"]);
  });

  it("alarms that fell due while the server was down fire at startup, in order", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const arming = await connectTo(first, "clock", "c2");
    await arming.request("arm", [
      { name: "c", inMs: 320 },
      { name: "a", inMs: 300 },
      { name: "b", inMs: 310 },
    ]);
    await first.kill("SIGKILL");
    // Nothing to await here: the point is that time passes while no server runs.
    await sleep(500);

    const restartedAt = Date.now();
    const second = await boot(dataDir);
    const watcher = await connectTo(second, "clock", "c2");
    const fired = await vi.waitFor(
      async () => {
        const list = (await watcher.request("fired")) as Array<{ name: string; at: number }>;
        expect(list).toHaveLength(3);
        return list;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(fired.map((f) => f.name)).toEqual(["a", "b", "c"]);
    for (const f of fired) expect(f.at).toBeGreaterThanOrEqual(restartedAt);
  });
});

/** Sends `inc` requests with up to `window` in flight; counts acks, and failures (unknown outcome). */
async function pump(client: CellarClient, total: number, window: number, acked: { n: number; unknown: number }) {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      try {
        await client.request("inc", undefined, { timeoutMs: 20_000 });
        acked.n++;
      } catch {
        acked.unknown++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

describe("nothing acknowledged is lost", () => {
  it("10,000 acknowledged increments over 20 rooms survive a SIGKILL at a random moment", async () => {
    const dataDir = tempDataDir();
    const rooms = Array.from({ length: 20 }, (_, i) => `room-${i}`);
    const perRoom = 500;
    const acked = new Map(rooms.map((r) => [r, { n: 0, unknown: 0 }]));

    let server = await boot(dataDir);
    let clients = await Promise.all(rooms.map((r) => connectTo(server, "tally", r)));
    const killAfter = 1000 + Math.floor(Math.random() * 7000);
    const killer = vi.waitFor(
      () => {
        const total = [...acked.values()].reduce((sum, a) => sum + a.n, 0);
        if (total < killAfter) throw new Error("not yet");
      },
      { timeout: 60_000, interval: 1 },
    );
    const load = Promise.all(clients.map((c, i) => pump(c, perRoom, 8, acked.get(rooms[i]!)!)));
    await killer;
    await server.kill("SIGKILL");
    await load;

    server = await boot(dataDir);
    clients = await Promise.all(rooms.map((r) => connectTo(server, "tally", r)));
    for (const [i, room] of rooms.entries()) {
      const a = acked.get(room)!;
      const count = (await clients[i]!.request("get")) as number;
      // Every acknowledged increment is there; at most the in-flight ones were added besides.
      expect(count).toBeGreaterThanOrEqual(a.n);
      expect(count).toBeLessThanOrEqual(a.n + a.unknown);
      a.n = count;
      a.unknown = 0;
    }
    // Finish the 10,000 and check the exact totals.
    await Promise.all(clients.map((c, i) => pump(c, perRoom - acked.get(rooms[i]!)!.n, 8, acked.get(rooms[i]!)!)));
    let total = 0;
    for (const [i, room] of rooms.entries()) {
      const count = (await clients[i]!.request("get")) as number;
      expect(count).toBe(acked.get(room)!.n);
      total += count;
    }
    expect(total).toBeGreaterThanOrEqual(10_000);
  }, 120_000);
});

describe("graceful shutdown (guarantee 8)", () => {
  it("SIGTERM finishes what was acknowledged, closes sockets with 1012, and exits cleanly", async () => {
    const dataDir = tempDataDir();
    const server = await boot(dataDir);
    const clients = await Promise.all(["t1", "t2", "t3"].map((r) => connectTo(server, "tally", r)));
    const closes = clients.map((c) => new Promise<number>((resolve) => c.once("$close", (e: { code: number }) => resolve(e.code))));
    const acked = clients.map(() => ({ n: 0, unknown: 0 }));
    const load = Promise.all(clients.map((c, i) => pump(c, 100_000, 4, acked[i]!)));
    await vi.waitFor(() => expect(acked.every((a) => a.n > 50)).toBe(true), { timeout: 20_000, interval: 5 });

    server.child.kill("SIGTERM");
    expect(await Promise.all(closes)).toEqual([1012, 1012, 1012]);
    await load;
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const again = await boot(dataDir);
    for (const [i, room] of ["t1", "t2", "t3"].entries()) {
      const count = (await (await connectTo(again, "tally", room)).request("get")) as number;
      expect(count).toBeGreaterThanOrEqual(acked[i]!.n);
      expect(count).toBeLessThanOrEqual(acked[i]!.n + acked[i]!.unknown);
    }
  });
});
