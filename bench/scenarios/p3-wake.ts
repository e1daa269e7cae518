import { performance } from "node:perf_hooks";
import type { WebSocket } from "ws";
import { pairedRow, type Row } from "../lib/report.js";
import { startServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { percentile } from "../lib/stats.js";
import { VAULT_VALUE_BYTES } from "../servers/rooms.js";
import { closeClients, isAck, openClients, requestFrame } from "../lib/ws-clients.js";

/**
 * P3 wake from hibernation. A few `vault` rooms each hold 100 persisted keys of ~1 KB. Each
 * sample hibernates one room (`server.hibernate`, over IPC, not timed; its socket stays
 * open), times a request to it (cold: load from SQLite, run onHibernationRestore, handle),
 * then times the same request again (warm).
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

interface Rep {
  cold: number[];
  warm: number[];
  /** Samples where hibernate() did not hibernate the room (it was busy): left out. */
  skipped: number;
}

export async function runP3(settings: Settings): Promise<{ rows: Row[]; reps: Rep[] }> {
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
  const skipped = reps.reduce((n, r) => n + r.skipped, 0);
  const conditions =
    `${settings.p3.rooms} rooms × 100 keys × 1 KB, ${settings.p3.samples} samples × ${settings.reps} reps` +
    (skipped > 0 ? `; ${skipped} NOT HIBERNATED` : "");
  const at = (p: number, key: "cold" | "warm") => reps.map((r) => percentile(r[key], p));
  return {
    rows: [
      pairedRow(
        { id: "P3", figure: "request round trip p50", conditions, unit: "us" },
        { name: "warm", values: at(50, "warm") },
        { name: "woken", values: at(50, "cold") },
        { max: 3, text: "≤ 3×" },
      ),
      pairedRow(
        { id: "P3", figure: "request round trip p90", conditions, unit: "us" },
        { name: "warm", values: at(90, "warm") },
        { name: "woken", values: at(90, "cold") },
      ),
    ],
    reps,
  };
}
