import { performance } from "node:perf_hooks";
import type { WebSocket } from "ws";
import { drain, generatorLoad, measureWindow, perSecond, cpuPerUnit, serverLoad, type Window } from "../lib/measure.js";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import { closeClients, openClients } from "../lib/ws-clients.js";
import type { Settings } from "../lib/settings.js";

/**
 * P1 fan-out chat. Every client sends small JSON messages; the room broadcasts each to all
 * its members, sender included. Two figures per topology, for the raw `ws` baseline and
 * for Cellar, measured back to back in each repetition:
 * - server CPU µs per delivery at a fixed offered open-loop load;
 * - deliveries/s at saturation (each client sends its next message when its own comes back).
 */

const TOPOLOGIES = [
  { rooms: 10, perRoom: 32 },
  { rooms: 1, perRoom: 100 },
];

/** Drives one server's clients, open or closed loop, and counts every frame they receive. */
class FanoutLoad {
  received = 0;
  #closedLoop = false;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;

  constructor(readonly clients: readonly WebSocket[]) {
    clients.forEach((ws, i) => {
      // The client's own message is recognised by its id, placed first in `data`.
      const mine = Buffer.from(`"data":{"c":${i},`);
      ws.on("message", (frame: Buffer) => {
        this.received++;
        if (this.#closedLoop && frame.indexOf(mine) !== -1) this.#send(i);
      });
    });
  }

  #send(i: number): void {
    this.clients[i]!.send(`{"t":"emit","event":"chat:send","data":{"c":${i},"n":${this.#seq++},"text":"hello everyone, how is it going?"}}`);
  }

  /** Sends `messagesPerSecond` in total, round-robin over clients, whatever the server does. */
  openLoop(messagesPerSecond: number): void {
    const start = performance.now();
    // A stalled generator skips what it missed beyond 20 ms instead of bursting to catch up.
    const maxBacklog = Math.max(1, Math.ceil(messagesPerSecond / 50));
    let sent = 0;
    this.#timer = setInterval(() => {
      const due = Math.floor(((performance.now() - start) * messagesPerSecond) / 1000);
      if (due - sent > maxBacklog) sent = due - maxBacklog;
      for (; sent < due; sent++) this.#send(sent % this.clients.length);
    }, 1);
  }

  /** Every client keeps `window` messages in flight. */
  closedLoop(window: number): void {
    this.#closedLoop = true;
    for (let w = 0; w < window; w++) for (let i = 0; i < this.clients.length; i++) this.#send(i);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#closedLoop = false;
    await drain(() => this.received);
  }
}

interface Run {
  server: string;
  topology: string;
  fixed: Window;
  saturation: Window;
}

export async function runP1(settings: Settings): Promise<{ rows: Row[]; runs: Run[] }> {
  const servers = [
    await startServerChild("raw-ws", "raw-ws-server.ts", settings.child),
    await startServerChild("cellar", "cellar-server.ts", settings.child),
  ];
  const rows: Row[] = [];
  const runs: Run[] = [];
  try {
    for (const { rooms, perRoom } of TOPOLOGIES) {
      const topology = `${rooms}×${perRoom}`;
      const loads = new Map<ServerChild, FanoutLoad>();
      for (const server of servers) {
        const urls = Array.from({ length: rooms * perRoom }, (_, i) => server.roomUrl("chat", `t${rooms}x${perRoom}-${i % rooms}`));
        loads.set(server, new FanoutLoad(await openClients(urls)));
      }
      const messagesPerSecond = settings.p1.offeredDeliveries / perRoom;
      for (let rep = 0; rep < settings.reps; rep++) {
        // Alternate which server goes first so drift on the shared machine hits both alike.
        const order = rep % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const load = loads.get(server)!;
          load.openLoop(messagesPerSecond);
          const fixed = await measureWindow(server, () => load.received, settings.warmupMs, settings.measureMs);
          await load.stop();
          load.closedLoop(settings.p1.window);
          const saturation = await measureWindow(server, () => load.received, settings.warmupMs, settings.measureMs);
          await load.stop();
          runs.push({ server: server.name, topology, fixed, saturation });
          settings.log(
            `P1 ${topology} rep ${rep + 1} ${server.name}: ${cpuPerUnit(fixed).toFixed(2)} µs/delivery at ${(perSecond(fixed) / 1000).toFixed(1)}k/s ` +
              `(server ${(serverLoad(fixed) * 100).toFixed(0)}% CPU); saturation ${(perSecond(saturation) / 1000).toFixed(1)}k/s ` +
              `(server ${(serverLoad(saturation) * 100).toFixed(0)}%, generator ${(generatorLoad(saturation) * 100).toFixed(0)}% CPU)`,
          );
        }
      }
      for (const load of loads.values()) await closeClients(load.clients);
      rows.push(...topologyRows(topology, runs.filter((r) => r.topology === topology), settings));
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  return { rows, runs };
}

function topologyRows(topology: string, runs: Run[], settings: Settings): Row[] {
  const of = (server: string) => runs.filter((r) => r.server === server);
  const raw = of("raw-ws");
  const cellar = of("cellar");
  const offered = settings.p1.offeredDeliveries;
  const sustained = (w: Window) => perSecond(w) >= 0.95 * offered;
  const notSustained = [...raw, ...cellar].filter((r) => !sustained(r.fixed)).map((r) => r.server);
  const fixedConditions =
    `${topology}, ${offered / 1000}k deliveries/s offered open loop, ${settings.reps} reps` +
    (notSustained.length > 0 ? `; NOT SUSTAINED by ${[...new Set(notSustained)].join(", ")}` : "");
  const genPeak = Math.max(...[...raw, ...cellar].map((r) => generatorLoad(r.saturation)));
  return [
    pairedRow(
      { id: "P1", figure: "server CPU per delivery", conditions: fixedConditions, unit: "us" },
      { name: "raw ws", values: raw.map((r) => cpuPerUnit(r.fixed)) },
      { name: "cellar", values: cellar.map((r) => cpuPerUnit(r.fixed)) },
      { max: 1.15, text: "≤ 1.15× (aim ≤ 1.0×)" },
    ),
    pairedRow(
      {
        id: "P1",
        figure: "deliveries/s at saturation",
        conditions: `${topology}, closed loop ${settings.p1.window} msg/client in flight, generator ≤ ${(genPeak * 100).toFixed(0)}% CPU`,
        unit: "per-s",
      },
      { name: "raw ws", values: raw.map((r) => perSecond(r.saturation)) },
      { name: "cellar", values: cellar.map((r) => perSecond(r.saturation)) },
    ),
  ];
}
