import type { WebSocket } from "ws";
import { drain, measureWindow, perSecond, cpuPerUnit, type Window } from "../lib/measure.js";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { closeClients, isAck, openClients, requestFrame } from "../lib/ws-clients.js";

/**
 * P2 durable acknowledged events. 50 clients, one per room, each sending requests one after
 * another (closed loop). `increment` writes a persisted key, so its ack leaves only after
 * the commit; `echo` writes nothing. Both go through the same Cellar server; a raw `ws`
 * echo is measured too, for reference.
 */

/** One request in flight per client; each ack sends the next request. */
class RequestLoop {
  acks = 0;
  errors = 0;
  #event: string | undefined;
  #id = 0;

  constructor(readonly clients: readonly WebSocket[]) {
    for (const ws of clients) {
      ws.on("message", (frame: Buffer) => {
        if (isAck(frame)) this.acks++;
        else this.errors++;
        if (this.#event) this.#send(ws);
      });
    }
  }

  #send(ws: WebSocket): void {
    ws.send(requestFrame(this.#id++, this.#event!, '{"by":1}'));
  }

  start(event: string): void {
    this.#event = event;
    for (const ws of this.clients) this.#send(ws);
  }

  async stop(): Promise<void> {
    this.#event = undefined;
    await drain(() => this.acks + this.errors);
  }
}

interface Mode {
  name: string;
  server: ServerChild;
  loop: RequestLoop;
  event: string;
}

interface Run {
  mode: string;
  window: Window;
  /** Committed writes per SQLite transaction during the window (Cellar increment only). */
  writesPerCommit?: number;
}

type Stats = { commits: { transactions: number; writes: number } };

export async function runP2(settings: Settings): Promise<{ rows: Row[]; runs: Run[] }> {
  const cellar = await startServerChild("cellar", "cellar-server.ts", settings.child);
  const raw = await startServerChild("raw-ws", "raw-ws-server.ts", settings.child);
  const runs: Run[] = [];
  try {
    const rooms = Array.from({ length: settings.p2.clients }, (_, i) => `r${i}`);
    const cellarLoop = new RequestLoop(await openClients(rooms.map((id) => cellar.roomUrl("counter", id))));
    const rawLoop = new RequestLoop(await openClients(rooms.map((id) => raw.roomUrl("counter", id))));
    const modes: Mode[] = [
      { name: "cellar echo", server: cellar, loop: cellarLoop, event: "echo" },
      { name: "cellar increment", server: cellar, loop: cellarLoop, event: "increment" },
      { name: "raw ws echo", server: raw, loop: rawLoop, event: "echo" },
    ];
    for (let rep = 0; rep < settings.reps; rep++) {
      for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
        const before = mode.server === cellar ? await cellar.call<Stats>("stats") : undefined;
        mode.loop.start(mode.event);
        const window = await measureWindow(mode.server, () => mode.loop.acks, settings.warmupMs, settings.measureMs);
        await mode.loop.stop();
        const run: Run = { mode: mode.name, window };
        if (before && mode.event === "increment") {
          const after = await cellar.call<Stats>("stats");
          run.writesPerCommit = (after.commits.writes - before.commits.writes) / (after.commits.transactions - before.commits.transactions);
        }
        runs.push(run);
        settings.log(
          `P2 rep ${rep + 1} ${mode.name}: ${(perSecond(window) / 1000).toFixed(1)}k round trips/s, ${cpuPerUnit(window).toFixed(1)} µs server CPU each` +
            (run.writesPerCommit ? `, ${run.writesPerCommit.toFixed(1)} writes/commit` : ""),
        );
      }
    }
    const errors = cellarLoop.errors + rawLoop.errors;
    await closeClients([...cellarLoop.clients, ...rawLoop.clients]);
    return { rows: rows(runs, settings, errors), runs };
  } finally {
    await cellar.stop();
    await raw.stop();
  }
}

function rows(runs: Run[], settings: Settings, errors: number): Row[] {
  const rate = (mode: string) => runs.filter((r) => r.mode === mode).map((r) => perSecond(r.window));
  const batching = runs.filter((r) => r.writesPerCommit !== undefined).map((r) => r.writesPerCommit!);
  const conditions =
    `${settings.p2.clients} clients × 1 room each, closed loop, ${settings.reps} reps` +
    (batching.length > 0 ? `, ~${Math.round(batching.reduce((a, b) => a + b, 0) / batching.length)} writes/commit` : "") +
    (errors > 0 ? `; ${errors} ERROR FRAMES` : "");
  return [
    pairedRow(
      { id: "P2", figure: "durable increment round trips/s", conditions, unit: "per-s" },
      { name: "cellar echo", values: rate("cellar echo") },
      { name: "incr", values: rate("cellar increment") },
      { min: 0.6, text: "≥ 0.6×" },
    ),
    pairedRow(
      { id: "P2", figure: "non-durable echo round trips/s", conditions: `same clients; reference only`, unit: "per-s" },
      { name: "raw ws", values: rate("raw ws echo") },
      { name: "echo", values: rate("cellar echo") },
    ),
  ];
}
