import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { sleep } from "../lib/stats.js";
import { closeClients, openClient } from "../lib/ws-clients.js";

/**
 * P1b connection churn: cycles of open → hello → welcome → close (the client closes with
 * 1000 and waits for the close), `concurrency` at a time, against the raw `ws` server (which
 * answers hello with a welcome) and Cellar's `chat` room (a new resumable session each time:
 * its token, its session row, the welcome after the commit; the row goes at the close). One
 * anchor client stays in the room throughout, so Cellar's room stays loaded, as in a room
 * people come and go from. Server CPU over the cycles, divided by the cycles.
 */

interface Run {
  server: string;
  cycles: number;
  seconds: number;
  serverCpuMicros: number;
}

/** One cycle: connect and handshake, then close and wait until closed. */
async function cycle(url: string): Promise<void> {
  const ws = await openClient(url);
  await new Promise<void>((resolve) => {
    ws.once("close", () => resolve());
    ws.close(1000);
  });
}

/** `count` cycles, `concurrency` at a time. */
export async function churn(url: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await cycle(url);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** `count` cycles against one server, with the server CPU they took (P1b's window, and `bench:ab`'s). */
export async function measureChurn(server: ServerChild, url: string, count: number, concurrency: number): Promise<Run> {
  const cpu0 = await server.cpuMicros();
  const t0 = performance.now();
  await churn(url, count, concurrency);
  const seconds = (performance.now() - t0) / 1000;
  // The server's side of the last closes (Cellar: the session row's delete and its commit).
  await sleep(50);
  const cpu1 = await server.cpuMicros();
  return { server: server.name, cycles: count, seconds, serverCpuMicros: cpu1 - cpu0 };
}

export async function runP1b(settings: Settings): Promise<{ rows: Row[]; runs: Run[] }> {
  const { cycles, warmup, concurrency, reps } = settings.p1b;
  const servers = [await startServerChild("raw-ws", "raw-ws-server.ts", settings.child), await startServerChild("cellar", "cellar-server.ts", settings.child)];
  const runs: Run[] = [];
  try {
    const anchors: WebSocket[] = [];
    const urls = new Map<ServerChild, string>();
    for (const server of servers) {
      const url = server.roomUrl("chat", "churn");
      urls.set(server, url);
      anchors.push(await openClient(url));
      await churn(url, warmup, concurrency);
    }
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const run = await measureChurn(server, urls.get(server)!, cycles, concurrency);
        runs.push(run);
        settings.log(
          `P1b rep ${rep + 1} ${server.name}: ${(run.serverCpuMicros / run.cycles).toFixed(0)} µs server CPU per cycle, ` +
            `${(run.cycles / run.seconds).toFixed(0)} cycles/s (server ${((run.serverCpuMicros / (run.seconds * 1e6)) * 100).toFixed(0)}% CPU)`,
        );
      }
    }
    await closeClients(anchors);
  } finally {
    for (const server of servers) await server.stop();
  }
  const of = (name: string) => runs.filter((r) => r.server === name);
  const conditions = `${cycles} cycles, ${concurrency} at a time, 1 anchor client in the room, ${reps} reps`;
  return {
    rows: [
      pairedRow(
        { id: "P1b", figure: "server CPU per connect→welcome→close", host: "node", conditions, unit: "us" },
        { name: "raw ws", values: of("raw-ws").map((r) => r.serverCpuMicros / r.cycles) },
        { name: "cellar", values: of("cellar").map((r) => r.serverCpuMicros / r.cycles) },
        { max: 1.2, text: "≤ 1.2×" },
      ),
      pairedRow(
        { id: "P1b", figure: "connect→welcome→close cycles/s", host: "node", conditions, unit: "per-s" },
        { name: "raw ws", values: of("raw-ws").map((r) => r.cycles / r.seconds) },
        { name: "cellar", values: of("cellar").map((r) => r.cycles / r.seconds) },
      ),
    ],
    runs,
  };
}
