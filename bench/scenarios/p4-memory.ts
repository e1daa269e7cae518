import type { WebSocket } from "ws";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { sleep } from "../lib/stats.js";
import { closeClients, openClients } from "../lib/ws-clients.js";

/**
 * P4 memory: JS heap (read in the server process after full GCs) per hibernated room and
 * per idle connection, each as heap growth / N after a warm-up that ran every measured path
 * at full size (with less, V8 keeps optimizing during the measurement and the new machine
 * code, ~150 B per item at N = 2,000, is charged to the items):
 * - per idle connection: N handshaken sockets in one room, in Cellar and in raw `ws`;
 * - per hibernated room without connections: `memo` rooms written by `server.invoke`, then
 *   hibernated;
 * - per hibernated room with one open connection: one socket to each of N such rooms, all
 *   hibernated, minus the per-connection cost. Both connection figures start from a server
 *   with no sockets, so the server-wide tables grow alike and cancel out.
 */

/** How many more rooms than connections the no-connection figure uses (they are cheap to make). */
const ROOMS_ALONE_FACTOR = 4;
/** Cellar keeps a handshake timer per new socket this long; readings wait it out. */
const HANDSHAKE_TIMEOUT_MS = 1000;

interface Rep {
  raw: { perConnection: number };
  cellar: { perConnection: number; perRoomAlone: number; perRoomWithConnection: number; notHibernated: number };
}

async function rawRep(n: number, tsx: boolean): Promise<Rep["raw"]> {
  const server = await startServerChild("raw-ws", "raw-ws-server.ts", { exposeGc: true, tsx });
  let clients: WebSocket[] = [];
  try {
    await closeClients(await openClients(Array.from({ length: n }, () => server.roomUrl("lobby", "warm"))));
    const h0 = await server.heapUsed();
    clients = await openClients(Array.from({ length: n }, () => server.roomUrl("lobby", "main")));
    return { perConnection: ((await server.heapUsed()) - h0) / n };
  } finally {
    await closeClients(clients);
    await server.stop();
  }
}

async function cellarRep(n: number, tsx: boolean): Promise<Rep["cellar"]> {
  const server = await startServerChild("cellar", "cellar-server.ts", { exposeGc: true, tsx, config: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS } });
  let notHibernated = 0;
  const hibernate = async (kind: string, expected: number) => {
    notHibernated += expected - (await server.call<number>("hibernate", { kind }));
  };
  const heap = async () => {
    await sleep(HANDSHAKE_TIMEOUT_MS + 200);
    return server.heapUsed();
  };
  const connect = (count: number, url: (i: number) => string) => openClients(Array.from({ length: count }, (_, i) => url(i)));
  let clients: WebSocket[] = [];
  try {
    await warmUp(server, n);
    const alone = ROOMS_ALONE_FACTOR * n;
    const h0 = await heap();
    await server.call("populate", { kind: "memo", prefix: "alone", count: alone });
    await hibernate("memo", alone);
    const perRoomAlone = ((await heap()) - h0) / alone;

    const h1 = await heap();
    clients = await connect(n, () => server.roomUrl("lobby", "main"));
    await hibernate("lobby", 1);
    const perConnection = ((await heap()) - h1) / n;
    await closeClients(clients);
    await untilNoConnections(server);

    await server.call("populate", { kind: "memo", prefix: "m", count: n });
    await hibernate("memo", n); // no sockets yet: forgotten until a socket wakes them
    const h2 = await heap();
    clients = await connect(n, (i) => server.roomUrl("memo", `m${i}`));
    await hibernate("memo", n);
    const perRoomWithConnection = ((await heap()) - h2) / n - perConnection;
    return { perConnection, perRoomAlone, perRoomWithConnection, notHibernated };
  } finally {
    await closeClients(clients);
    await server.stop();
  }
}

/** Runs every measured code path once, so compiled code and caches are not counted per item. */
async function warmUp(server: ServerChild, n: number): Promise<void> {
  await server.call("populate", { kind: "memo", prefix: "warm", count: n });
  await server.call("hibernate");
  for (const url of [() => server.roomUrl("lobby", "warm"), (i: number) => server.roomUrl("memo", `warm${i}`)]) {
    const clients = await openClients(Array.from({ length: n }, (_, i) => url(i)));
    await server.call("hibernate");
    await closeClients(clients);
    await untilNoConnections(server);
  }
}

async function untilNoConnections(server: ServerChild): Promise<void> {
  while ((await server.call<{ connections: number }>("stats")).connections > 0) await sleep(20);
}

export async function runP4(settings: Settings): Promise<{ rows: Row[]; reps: Rep[] }> {
  const { n } = settings.p4;
  const tsx = settings.child.tsx === true;
  const reps: Rep[] = [];
  for (let rep = 0; rep < settings.p4.reps; rep++) {
    const raw = await rawRep(n, tsx);
    const cellar = await cellarRep(n, tsx);
    reps.push({ raw, cellar });
    settings.log(
      `P4 rep ${rep + 1}: idle connection raw ${raw.perConnection.toFixed(0)} B, cellar ${cellar.perConnection.toFixed(0)} B; ` +
        `hibernated room ${cellar.perRoomAlone.toFixed(0)} B alone, ${cellar.perRoomWithConnection.toFixed(0)} B with a connection` +
        (cellar.notHibernated !== 0 ? `; ${cellar.notHibernated} rooms NOT hibernated` : ""),
    );
  }
  const budget = { name: "budget", values: reps.map(() => 512) };
  const notHibernated = reps.some((r) => r.cellar.notHibernated !== 0);
  const conditions =
    `N = ${n} (${n * ROOMS_ALONE_FACTOR} rooms alone), ${settings.p4.reps} reps, heap after full GC` + (notHibernated ? "; NOT ALL HIBERNATED" : "");
  return {
    rows: [
      pairedRow(
        { id: "P4", figure: "heap per idle connection", conditions, unit: "bytes" },
        { name: "raw ws", values: reps.map((r) => r.raw.perConnection) },
        { name: "cellar", values: reps.map((r) => r.cellar.perConnection) },
        { max: 1.5, text: "≤ 1.5×" },
      ),
      pairedRow(
        { id: "P4", figure: "heap per hibernated room, 1 open conn (net of conn)", conditions, unit: "bytes" },
        budget,
        { name: "cellar", values: reps.map((r) => r.cellar.perRoomWithConnection) },
        { max: 1, text: "≤ 512 B" },
      ),
      pairedRow(
        { id: "P4", figure: "heap per hibernated room, no connection", conditions, unit: "bytes" },
        budget,
        { name: "cellar", values: reps.map((r) => r.cellar.perRoomAlone) },
        { max: 1, text: "≤ 512 B" },
      ),
    ],
    reps,
  };
}
