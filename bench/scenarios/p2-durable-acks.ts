import type { WebSocket } from "ws";
import { drain, measureWindow, perSecond, cpuPerUnit, type Window } from "../lib/measure.js";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, startWorkerdChild, type ServerChild } from "../lib/server-child.js";
import { metricsVersus, type Settings } from "../lib/settings.js";
import { closeClients, isAck, openClients, requestFrame } from "../lib/ws-clients.js";

/**
 * P2 durable acknowledged events. 50 clients, one per room, each sending requests one after
 * another (closed loop). `increment` writes a persisted key, so its ack leaves only after
 * the commit; `echo` writes nothing. Both go through the same Cellar server; a raw `ws`
 * echo is measured too, for reference. Unless `--no-workerd`, the same two requests also go
 * through Cellar's Cloudflare host in workerd (its own 50 rooms and clients).
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
  const workerd = settings.workerd ? await startWorkerdChild(settings.child, settings.workerdData) : undefined;
  const priced = settings.metrics ? await startServerChild("cellar-metrics", "cellar-server.ts", { ...settings.child, config: { metrics: settings.metrics === "on" } }) : undefined;
  const runs: Run[] = [];
  try {
    const rooms = Array.from({ length: settings.p2.clients }, (_, i) => `r${i}`);
    const cellarLoop = new RequestLoop(await openClients(rooms.map((id) => cellar.roomUrl("counter", id))));
    const rawLoop = new RequestLoop(await openClients(rooms.map((id) => raw.roomUrl("counter", id))));
    const workerdLoop = workerd ? new RequestLoop(await openClients(rooms.map((id) => workerd.roomUrl("counter", id)))) : undefined;
    const pricedLoop = priced ? new RequestLoop(await openClients(rooms.map((id) => priced.roomUrl("counter", id)))) : undefined;
    const modes: Mode[] = [
      { name: "cellar echo", server: cellar, loop: cellarLoop, event: "echo" },
      { name: "cellar increment", server: cellar, loop: cellarLoop, event: "increment" },
      { name: "raw ws echo", server: raw, loop: rawLoop, event: "echo" },
    ];
    if (priced && pricedLoop) {
      modes.push(
        { name: "cellar-metrics echo", server: priced, loop: pricedLoop, event: "echo" },
        { name: "cellar-metrics increment", server: priced, loop: pricedLoop, event: "increment" },
      );
    }
    if (workerd && workerdLoop) {
      modes.push(
        { name: "workerd echo", server: workerd, loop: workerdLoop, event: "echo" },
        { name: "workerd increment", server: workerd, loop: workerdLoop, event: "increment" },
      );
    }
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
    await closeClients([...cellarLoop.clients, ...rawLoop.clients, ...(workerdLoop?.clients ?? []), ...(pricedLoop?.clients ?? [])]);
    return { rows: [...rows(runs, settings, errors, workerdLoop?.errors ?? 0), ...metricsCostRows(runs, settings, pricedLoop?.errors ?? 0)], runs };
  } finally {
    await cellar.stop();
    await raw.stop();
    await workerd?.stop();
    await priced?.stop();
  }
}

/** `--metrics`: the same Cellar server with Prometheus metrics on, against it with them off, in the same repetitions. */
function metricsCostRows(runs: Run[], settings: Settings, errors: number): Row[] {
  const rate = (mode: string) => runs.filter((r) => r.mode === mode).map((r) => perSecond(r.window));
  if (rate("cellar-metrics increment").length === 0) return [];
  const conditions = `${settings.p2.clients} clients × 1 room each, ${metricsVersus(settings)}, ${settings.reps} reps` + (errors > 0 ? `; ${errors} ERROR FRAMES` : "");
  const cpu = (mode: string) => runs.filter((r) => r.mode === mode).map((r) => cpuPerUnit(r.window));
  return [
    // CPU per round trip moves far less than round trips/s on a busy machine: it is the steadier price.
    pairedRow(
      { id: "P2", figure: "metrics cost: server CPU per increment", host: "node", conditions, unit: "us" },
      { name: "off", values: cpu("cellar increment") },
      { name: "on", values: cpu("cellar-metrics increment") },
      { max: 1.03, text: "≤ 1.03×" },
    ),
    pairedRow(
      { id: "P2", figure: "metrics cost: durable increment round trips/s", host: "node", conditions, unit: "per-s" },
      { name: "off", values: rate("cellar increment") },
      { name: "on", values: rate("cellar-metrics increment") },
      { min: 0.97, text: "≥ 0.97×" },
    ),
    pairedRow(
      { id: "P2", figure: "metrics cost: echo round trips/s", host: "node", conditions, unit: "per-s" },
      { name: "off", values: rate("cellar echo") },
      { name: "on", values: rate("cellar-metrics echo") },
      { min: 0.97, text: "≥ 0.97×" },
    ),
  ];
}

function rows(runs: Run[], settings: Settings, errors: number, workerdErrors: number): Row[] {
  const rate = (mode: string) => runs.filter((r) => r.mode === mode).map((r) => perSecond(r.window));
  const batching = runs.filter((r) => r.writesPerCommit !== undefined).map((r) => r.writesPerCommit!);
  const conditions =
    `${settings.p2.clients} clients × 1 room each, closed loop, ${settings.reps} reps` +
    (batching.length > 0 ? `, ~${Math.round(batching.reduce((a, b) => a + b, 0) / batching.length)} writes/commit` : "") +
    (errors > 0 ? `; ${errors} ERROR FRAMES` : "");
  const node: Row[] = [
    pairedRow(
      { id: "P2", figure: "durable increment round trips/s", host: "node", conditions, unit: "per-s" },
      { name: "cellar echo", values: rate("cellar echo") },
      { name: "incr", values: rate("cellar increment") },
      { min: 0.6, text: "≥ 0.6×" },
    ),
    pairedRow(
      { id: "P2", figure: "non-durable echo round trips/s", host: "node", conditions: `same clients; reference only`, unit: "per-s" },
      { name: "raw ws", values: rate("raw ws echo") },
      { name: "echo", values: rate("cellar echo") },
    ),
  ];
  if (rate("workerd echo").length === 0) return node;
  // No writes-per-commit figure: each object commits its own batches in its own SQLite database.
  const workerdConditions =
    `${settings.p2.clients} clients × 1 object each, closed loop, ${settings.reps} reps; one SQLite database per object` +
    (settings.workerdData ? `, under ${settings.workerdData}` : "") +
    (workerdErrors > 0 ? `; ${workerdErrors} ERROR FRAMES` : "");
  return [
    node[0]!,
    pairedRow(
      { id: "P2", figure: "durable increment round trips/s", host: "workerd", conditions: workerdConditions, unit: "per-s" },
      { name: "workerd echo", values: rate("workerd echo") },
      { name: "incr", values: rate("workerd increment") },
    ),
    node[1]!,
    pairedRow(
      { id: "P2", figure: "non-durable echo round trips/s", host: "workerd", conditions: `same clients as workerd's increments; reference only`, unit: "per-s" },
      { name: "raw ws", values: rate("raw ws echo") },
      { name: "echo", values: rate("workerd echo") },
    ),
  ];
}
