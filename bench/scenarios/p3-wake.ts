import { performance } from "node:perf_hooks";
import type { WebSocket } from "ws";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild, startWorkerdChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { percentile, sleep } from "../lib/stats.js";
import { VAULT_VALUE_BYTES } from "../servers/rooms.js";
import { closeClients, isAck, openClients, requestFrame } from "../lib/ws-clients.js";

/**
 * P3 wake from hibernation. A few `vault` rooms each hold 100 persisted keys of ~1 KB. Each
 * sample hibernates one room (`server.hibernate`, over IPC, not timed; its socket stays
 * open), times a request to it (cold: load from SQLite, run onHibernationRestore, handle),
 * then times the same request again (warm).
 *
 * On the Cloudflare host in workerd (unless `--no-workerd`) nothing forces an eviction:
 * workerd evicts an object ~10 s after its last event. So many `vault` rooms (100; 40 with
 * `--quick`) are filled, left idle together for 12 s, then each gets one woken sample and
 * one warm sample, one room after the other; one such round per repetition. An untimed
 * `probe` after each pair tells whether the room really was loaded anew (its non-persisted
 * `awake` flag was reset); a room that was not is left out and counted.
 */

let nextId = 0;

/** Sends one request and resolves with its round trip in µs; `expect` must be in the ack. */
function timedRequest(ws: WebSocket, event: string, expect = '"t":"ack"'): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    ws.once("message", (frame: Buffer) => {
      const micros = (performance.now() - t0) * 1000;
      if (isAck(frame) && frame.includes(expect)) resolve(micros);
      else reject(new Error(`P3: ${event} answered ${frame.toString().slice(0, 200)}`));
    });
    ws.send(requestFrame(nextId++, event, "{}"));
  });
}

/** The vault's `probe`: false when the instance was loaded since the previous probe. */
function probe(ws: WebSocket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    ws.once("message", (frame: Buffer) => {
      if (isAck(frame) && frame.includes('"data":true')) resolve(true);
      else if (isAck(frame) && frame.includes('"data":false')) resolve(false);
      else reject(new Error(`P3: probe answered ${frame.toString().slice(0, 200)}`));
    });
    ws.send(requestFrame(nextId++, "probe", "{}"));
  });
}

interface Rep {
  cold: number[];
  warm: number[];
  /** Samples where hibernate() did not hibernate the room (it was busy): left out. */
  skipped: number;
}

export async function runP3(settings: Settings): Promise<{ rows: Row[]; reps: Rep[]; workerdReps?: Rep[] }> {
  const reps = await onNode(settings);
  const workerdReps = settings.workerd ? await onWorkerd(settings) : undefined;
  const rows = hostRows("node", reps, `${settings.p3.rooms} rooms × 100 keys × 1 KB, ${settings.p3.samples} samples × ${settings.reps} reps`, { max: 3, text: "≤ 3×" });
  if (!workerdReps) return { rows, reps };
  const { rooms, idleMs } = settings.p3.workerd;
  const workerdConditions = `${rooms} rooms × 100 keys × 1 KB idle ${idleMs / 1000} s together, 1 sample each × ${settings.reps} reps`;
  const workerdRows = hostRows("workerd", workerdReps, workerdConditions);
  return { rows: [rows[0]!, workerdRows[0]!, rows[1]!, workerdRows[1]!], reps, workerdReps };
}

async function onNode(settings: Settings): Promise<Rep[]> {
  const server = await startServerChild("cellar", "cellar-server.ts", settings.child);
  const reps: Rep[] = [];
  try {
    const ids = Array.from({ length: settings.p3.rooms }, (_, i) => `v${i}`);
    const clients = await openClients(ids.map((id) => server.roomUrl("vault", id)));
    for (const ws of clients) await timedRequest(ws, "fill");
    const warmup = 20;
    for (let rep = 0; rep < settings.reps; rep++) {
      const r: Rep = { cold: [], warm: [], skipped: 0 };
      for (let s = 0; s < settings.p3.samples + (rep === 0 ? warmup : 0); s++) {
        const i = s % ids.length;
        const hibernated = await server.call<number>("hibernate", { kind: "vault", id: ids[i] });
        // The answer proves the woken room read its persisted value back.
        const cold = await timedRequest(clients[i]!, "get", `"data":${VAULT_VALUE_BYTES}`);
        const warm = await timedRequest(clients[i]!, "get", `"data":${VAULT_VALUE_BYTES}`);
        if (rep === 0 && s < warmup) continue;
        if (hibernated !== 1) {
          r.skipped++;
          continue;
        }
        r.cold.push(cold);
        r.warm.push(warm);
      }
      reps.push(r);
      settings.log(
        `P3 rep ${rep + 1}: warm p50 ${percentile(r.warm, 50).toFixed(0)} µs p90 ${percentile(r.warm, 90).toFixed(0)} µs; ` +
          `woken p50 ${percentile(r.cold, 50).toFixed(0)} µs p90 ${percentile(r.cold, 90).toFixed(0)} µs` +
          (r.skipped > 0 ? `; ${r.skipped} samples not hibernated` : ""),
      );
    }
    await closeClients(clients);
  } finally {
    await server.stop();
  }
  return reps;
}

/** The woken and warm samples of the workerd host: every room evicted at once, then one sample each. */
async function onWorkerd(settings: Settings): Promise<Rep[]> {
  const server = await startWorkerdChild(settings.child, settings.workerdData);
  const { rooms, idleMs } = settings.p3.workerd;
  const reps: Rep[] = [];
  try {
    const ids = Array.from({ length: rooms }, (_, i) => `w${i}`);
    const clients = await openClients(ids.map((id) => server.roomUrl("vault", id)));
    for (const ws of clients) {
      await timedRequest(ws, "fill");
      await probe(ws);
    }
    // The first wakes of the run warm up the code path (as the Node host's 20 warm-up samples).
    const warmup = Math.min(10, Math.floor(rooms / 4));
    for (let rep = 0; rep < settings.reps; rep++) {
      settings.log(`P3 workerd rep ${rep + 1}: ${rooms} rooms idle for ${idleMs / 1000} s…`);
      await sleep(idleMs);
      const r: Rep = { cold: [], warm: [], skipped: 0 };
      for (const [i, ws] of clients.entries()) {
        const cold = await timedRequest(ws, "get", `"data":${VAULT_VALUE_BYTES}`);
        const warm = await timedRequest(ws, "get", `"data":${VAULT_VALUE_BYTES}`);
        const woken = !(await probe(ws));
        if (rep === 0 && i < warmup) continue;
        if (!woken) {
          r.skipped++;
          continue;
        }
        r.cold.push(cold);
        r.warm.push(warm);
      }
      reps.push(r);
      settings.log(
        `P3 workerd rep ${rep + 1}: warm p50 ${percentile(r.warm, 50).toFixed(0)} µs p90 ${percentile(r.warm, 90).toFixed(0)} µs; ` +
          `woken p50 ${percentile(r.cold, 50).toFixed(0)} µs p90 ${percentile(r.cold, 90).toFixed(0)} µs (${r.cold.length} samples)` +
          (r.skipped > 0 ? `; ${r.skipped} rooms not evicted` : ""),
      );
    }
    await closeClients(clients);
  } finally {
    await server.stop();
  }
  return reps;
}

function hostRows(host: "node" | "workerd", reps: Rep[], conditions: string, target?: { max: number; text: string }): Row[] {
  const skipped = reps.reduce((n, r) => n + r.skipped, 0);
  const withSkipped = conditions + (skipped > 0 ? `; ${skipped} NOT HIBERNATED` : "");
  const at = (p: number, key: "cold" | "warm") => reps.map((r) => percentile(r[key], p));
  return [
    pairedRow(
      { id: "P3", figure: "request round trip p50", host, conditions: withSkipped, unit: "us" },
      { name: "warm", values: at(50, "warm") },
      { name: "woken", values: at(50, "cold") },
      target,
    ),
    pairedRow(
      { id: "P3", figure: "request round trip p90", host, conditions: withSkipped, unit: "us" },
      { name: "warm", values: at(90, "warm") },
      { name: "woken", values: at(90, "cold") },
    ),
  ];
}
