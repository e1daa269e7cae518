import { performance } from "node:perf_hooks";
import type { WebSocket } from "ws";
import { drain, generatorLoad, measureWindow, perSecond, cpuPerUnit, serverLoad, type Window } from "../lib/measure.js";
import { pairedRow, type Row } from "../lib/report.js";
import { median } from "../lib/stats.js";
import { startServerChild, startWorkerdChild, type ServerChild } from "../lib/server-child.js";
import { closeClients, openClients } from "../lib/ws-clients.js";
import { metricsVersus, type Settings } from "../lib/settings.js";

/**
 * P1 fan-out chat. Every client sends small JSON messages; the room broadcasts each to all
 * its members, sender included. Two figures per topology, for the raw `ws` baseline, for
 * Cellar on Node and (unless `--no-workerd`) for Cellar's Cloudflare host in workerd,
 * measured back to back in each repetition:
 * - server CPU µs per delivery at a fixed offered open-loop load;
 * - deliveries/s at saturation (each client sends its next message when its own comes back).
 */

const TOPOLOGIES = [
  { rooms: 10, perRoom: 32 },
  { rooms: 1, perRoom: 100 },
];

/** Drives one server's clients, open or closed loop, and counts every frame they receive. */
export class FanoutLoad {
  received = 0;
  /** What the clients send: `chat:send` (a logged broadcast) or `chat:volatile`. */
  event = "chat:send";
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
    this.clients[i]!.send(`{"t":"emit","event":"${this.event}","data":{"c":${i},"n":${this.#seq++},"text":"hello everyone, how is it going?"}}`);
  }

  /** Messages the open loop did not send because the server was too far behind (see `openLoop`). */
  heldBack = 0;

  /**
   * Sends `messagesPerSecond` in total, round-robin over clients, whatever the server does,
   * with one bound: while the deliveries still owed exceed 0.5 s of the offered load, the
   * messages due are not sent (counted in `heldBack`). A server that cannot keep up (it is
   * then NOT SUSTAINED anyway) so never carries a backlog of many seconds into the next
   * window, or into the next server's, on the shared cores.
   */
  openLoop(messagesPerSecond: number, deliveriesPerMessage: number): void {
    const start = performance.now();
    const received0 = this.received;
    const maxOwed = messagesPerSecond * deliveriesPerMessage * 0.5;
    // A stalled generator skips what it missed beyond 20 ms instead of bursting to catch up.
    const maxBacklog = Math.max(1, Math.ceil(messagesPerSecond / 50));
    // `sent` counts messages due so far; `skipped`, those of them never sent (either reason).
    let sent = 0;
    let skipped = 0;
    this.#timer = setInterval(() => {
      const due = Math.floor(((performance.now() - start) * messagesPerSecond) / 1000);
      if (due - sent > maxBacklog) {
        skipped += due - maxBacklog - sent;
        sent = due - maxBacklog;
      }
      if ((sent - skipped) * deliveriesPerMessage - (this.received - received0) > maxOwed) {
        skipped += due - sent;
        this.heldBack += due - sent;
        sent = due;
        return;
      }
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
  /** Messages the open loop held back because the server was > 0.5 s behind (warm-up included). */
  heldBack: number;
  /** Cellar on Node only: the fixed load again, its broadcasts volatile (not logged for replay). */
  volatile?: Window;
}

export async function runP1(settings: Settings): Promise<{ rows: Row[]; runs: Run[] }> {
  const servers = [
    await startServerChild("raw-ws", "raw-ws-server.ts", settings.child),
    await startServerChild("cellar", "cellar-server.ts", settings.child),
  ];
  if (settings.metrics) servers.push(await startServerChild("cellar-metrics", "cellar-server.ts", { ...settings.child, config: { metrics: settings.metrics === "on" } }));
  if (settings.workerd) servers.push(await startWorkerdChild(settings.child, settings.workerdData));
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
        // Alternate the order so drift on the shared machine hits every server alike.
        const order = rep % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const load = loads.get(server)!;
          const heldBack0 = load.heldBack;
          load.openLoop(messagesPerSecond, perRoom);
          const fixed = await measureWindow(server, () => load.received, settings.warmupMs, settings.measureMs);
          await load.stop();
          const heldBack = load.heldBack - heldBack0;
          let volatile: Window | undefined;
          if (server.name === "cellar") {
            load.event = "chat:volatile";
            load.openLoop(messagesPerSecond, perRoom);
            volatile = await measureWindow(server, () => load.received, settings.warmupMs, settings.measureMs);
            await load.stop();
            load.event = "chat:send";
          }
          load.closedLoop(settings.p1.window);
          const saturation = await measureWindow(server, () => load.received, settings.warmupMs, settings.measureMs);
          await load.stop();
          runs.push({ server: server.name, topology, fixed, saturation, heldBack, ...(volatile ? { volatile } : {}) });
          settings.log(
            `P1 ${topology} rep ${rep + 1} ${server.name}: ${cpuPerUnit(fixed).toFixed(2)} µs/delivery at ${(perSecond(fixed) / 1000).toFixed(1)}k/s ` +
              `(server ${(serverLoad(fixed) * 100).toFixed(0)}% CPU${cpuSplit(fixed)}${heldBack > 0 ? `; ${heldBack} messages held back` : ""}); ` +
              (volatile ? `volatile ${cpuPerUnit(volatile).toFixed(2)} µs/delivery at ${(perSecond(volatile) / 1000).toFixed(1)}k/s; ` : "") +
              `saturation ${(perSecond(saturation) / 1000).toFixed(1)}k/s ` +
              `(server ${(serverLoad(saturation) * 100).toFixed(0)}%, generator ${(generatorLoad(saturation) * 100).toFixed(0)}% CPU)`,
          );
        }
      }
      const priced = servers.find((s) => s.name === "cellar-metrics");
      if (priced && settings.metrics === "on") {
        const scrape = await priced.call<{ ms: number; bytes: number }>("scrape");
        settings.log(`P1 ${topology} cellar-metrics: one scrape took ${scrape.ms.toFixed(1)} ms (${(scrape.bytes / 1024).toFixed(1)} KiB), ${rooms * perRoom} sockets open`);
      }
      for (const load of loads.values()) await closeClients(load.clients);
      rows.push(...topologyRows(topology, runs.filter((r) => r.topology === topology), settings));
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  return { rows, runs };
}

/** For the workerd host: how the server CPU splits between workerd and Miniflare's Node process. */
function cpuSplit(w: Window): string {
  if (w.serverCpuParts.workerd === undefined) return "";
  const pct = (micros: number) => `${((micros / (w.seconds * 1e6)) * 100).toFixed(0)}%`;
  return `: workerd ${pct(w.serverCpuParts.workerd)}, Miniflare's node ${pct(w.serverCpuParts.node ?? 0)}`;
}

function topologyRows(topology: string, runs: Run[], settings: Settings): Row[] {
  const of = (server: string) => runs.filter((r) => r.server === server);
  const raw = of("raw-ws");
  const offered = settings.p1.offeredDeliveries;
  const sustained = (w: Window) => perSecond(w) >= 0.95 * offered;
  const rows: Row[] = [];
  const hosts = [
    { server: "cellar", host: "node" as const, target: { max: 1.15, text: "≤ 1.15× (aim ≤ 1.0×)" } },
    { server: "workerd", host: "workerd" as const, target: undefined },
  ];
  for (const { server, host, target } of hosts) {
    const cellar = of(server);
    if (cellar.length === 0) continue;
    const notSustained = [...raw, ...cellar].filter((r) => !sustained(r.fixed)).map((r) => r.server);
    const load = median(cellar.map((r) => serverLoad(r.fixed)));
    const nodeShare = host === "workerd" ? median(cellar.map((r) => (r.fixed.serverCpuParts.node ?? 0) / r.fixed.serverCpuMicros)) : 0;
    const fixedConditions =
      `${topology}, ${offered / 1000}k deliveries/s offered open loop, ${host === "node" ? "logged broadcasts, " : ""}${settings.reps} reps` +
      (host === "workerd"
        ? `; workerd tree + Miniflare's node (${(nodeShare * 100).toFixed(1)}% of it), ${(load * 100).toFixed(0)}% CPU` +
          (settings.workerdData ? `, data under ${settings.workerdData}` : "")
        : "") +
      (notSustained.length > 0 ? `; NOT SUSTAINED by ${[...new Set(notSustained)].join(", ")}` : "");
    const genPeak = Math.max(...[...raw, ...cellar].map((r) => generatorLoad(r.saturation)));
    rows.push(
      pairedRow(
        { id: "P1", figure: "server CPU per delivery", host, conditions: fixedConditions, unit: "us" },
        { name: "raw ws", values: raw.map((r) => cpuPerUnit(r.fixed)) },
        { name: server, values: cellar.map((r) => cpuPerUnit(r.fixed)) },
        target,
      ),
      pairedRow(
        {
          id: "P1",
          figure: "deliveries/s at saturation",
          host,
          conditions: `${topology}, closed loop ${settings.p1.window} msg/client in flight, generator ≤ ${(genPeak * 100).toFixed(0)}% CPU`,
          unit: "per-s",
        },
        { name: "raw ws", values: raw.map((r) => perSecond(r.saturation)) },
        { name: server, values: cellar.map((r) => perSecond(r.saturation)) },
      ),
    );
    const volatile = cellar.flatMap((r) => (r.volatile ? [r.volatile] : []));
    if (volatile.length === raw.length) {
      const slow = volatile.some((w) => !sustained(w)) ? "; NOT SUSTAINED" : "";
      rows.push(
        pairedRow(
          { id: "P1", figure: "server CPU per delivery, volatile", host, conditions: `${topology}, ${offered / 1000}k deliveries/s offered open loop, broadcasts marked volatile, ${settings.reps} reps${slow}`, unit: "us" },
          { name: "raw ws", values: raw.map((r) => cpuPerUnit(r.fixed)) },
          { name: server, values: volatile.map(cpuPerUnit) },
          target,
        ),
      );
    }
  }
  // Node, workerd, for each figure: the table reads the two hosts side by side.
  return [...rows.filter((r) => r.unit === "us"), ...rows.filter((r) => r.unit === "per-s"), ...metricsCostRows(topology, runs, settings)];
}

/** `--metrics`: the same Cellar server with Prometheus metrics on, against it with them off, in the same repetitions. */
function metricsCostRows(topology: string, runs: Run[], settings: Settings): Row[] {
  const off = runs.filter((r) => r.server === "cellar");
  const on = runs.filter((r) => r.server === "cellar-metrics");
  if (on.length === 0) return [];
  const conditions = `${topology}, ${metricsVersus(settings)}, ${settings.reps} reps`;
  return [
    pairedRow(
      { id: "P1", figure: "metrics cost: server CPU per delivery", host: "node", conditions: `${conditions}, ${settings.p1.offeredDeliveries / 1000}k deliveries/s offered`, unit: "us" },
      { name: "off", values: off.map((r) => cpuPerUnit(r.fixed)) },
      { name: "on", values: on.map((r) => cpuPerUnit(r.fixed)) },
      { max: 1.03, text: "≤ 1.03×" },
    ),
    pairedRow(
      { id: "P1", figure: "metrics cost: deliveries/s at saturation", host: "node", conditions, unit: "per-s" },
      { name: "off", values: off.map((r) => perSecond(r.saturation)) },
      { name: "on", values: on.map((r) => perSecond(r.saturation)) },
    ),
  ];
}
