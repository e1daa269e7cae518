import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { CellarClient, CellarError, RECONNECT_DEFAULTS, type WebSocketConstructor } from "cellar/client";
import { until } from "../lib/measure.js";
import { budgetRow, infoRow, type Row, zeroRow } from "../lib/report.js";
import { startServerChild, type ChildOptions, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { median, percentile, sleep } from "../lib/stats.js";

/**
 * P5 reconnect storm. 1,000 real `CellarClient`s (cellar/client over `ws`, default reconnect
 * options) in 50 `feed` rooms of 20. In each room one of them, the writer, sends `say`
 * requests one after another, paced; the room broadcasts each numbered line (a logged
 * frame) to all 20. While lines flow, the server process is SIGKILLed and started again on
 * the same port and data directory. Measured per client: the time from the new process
 * listening to the client's `$resumed`; a `$resynced` (a fresh session) or no resume at all
 * counts as never. Then every writer sends a few more lines, each room tells how many lines
 * it committed (N), and every client must hold exactly lines 1..N, in order: a missing
 * number is a lost frame, a repeated one a duplicate. Writer requests in flight at the kill
 * may or may not have committed; the client rejects them with CONNECTION_LOST (their fate
 * is unknown to it) and the writer goes on. N, read from the room afterwards, is the truth
 * either way, and a line that committed must reach every client, through the replay.
 */

const WS = WebSocket as unknown as WebSocketConstructor;
/** Milliseconds since the epoch with sub-ms precision, comparable across processes of this machine. */
const wallClock = () => performance.timeOrigin + performance.now();
/** How long clients get to connect or resume, and to receive the last lines, before a rep gives up on them. */
const DEADLINE_MS = 30_000;
/** The quality bar: p99 of the resume times. */
const BUDGET_MS = 2000;

interface Member {
  client: CellarClient;
  room: number;
  /** Line numbers in the order received. */
  lines: number[];
  openedAt?: number;
  /** The session's id before the kill: a resume keeps it. */
  connectionId?: string;
  resumedAt?: number;
  /** Frames replayed after the resume's welcome (`$resumed.replayed`). */
  replayed?: number;
  resyncedAt?: number;
  /** Retries scheduled since the kill (one per lost or refused socket). */
  retries: Array<{ at: number; attempt: number; delayMs: number }>;
  /** Sockets lost before the kill (there should be none). */
  dropsBeforeKill: number;
}

interface Writer {
  member: Member;
  /** Acknowledged line numbers. */
  acked: number[];
  /** Codes of failed requests (CONNECTION_LOST, TIMEOUT: applied or not, the writer cannot know). */
  errors: string[];
  inFlight: boolean;
  /** Ends the current pause at once. */
  wake: () => void;
  stop: boolean;
  done: Promise<void>;
}

interface Rep {
  clients: number;
  /** 1-minute load average when the rep ended: other work on the machine slows the storm. */
  loadAverage: number;
  /** Per client, ms from creating all 1,000 clients at once to its welcome, on the just-started server. */
  freshConnectMs: number[];
  /** SIGKILL sent → new process listening; the new process's own start → listening (ms). */
  restartMs: number;
  bootMs: number;
  /** Per client, ms from the new process listening to its `$resumed` (Infinity: resynced or never resumed). */
  resumeMs: number[];
  resynced: number;
  notResumed: number;
  /** Per resumed client, ms from its successful attempt's (scheduled) start to `$resumed`. */
  handshakeMs: number[];
  /** Resumed clients by the retry that succeeded (1 = the first retry after the drop). */
  retryThatResumed: Record<string, number>;
  /** Listening → last client back, and the CPU each process used meanwhile (1 = one core). */
  storm: { ms: number; serverCpu: number; clientsCpu: number };
  /** Writer requests sent but not answered at the kill, and how many of those the room had committed. */
  writersInFlightAtKill: number;
  inFlightCommitted: number;
  /** Frames replayed to resumed clients (`$resumed.replayed`), and to how many clients. */
  replayedFrames: number;
  clientsWithReplay: number;
  linesPerSecondBeforeKill: number;
  /** Lines committed (N), summed over rooms, and deliveries expected (N × clients of the room). */
  linesCommitted: number;
  deliveriesExpected: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Committed lines beyond the writers' acks and failed requests: a request applied twice. */
  appliedTwice: number;
  /** Failed writer requests by error code. */
  writerErrors: Record<string, number>;
  dropsBeforeKill: number;
  /** Resumed clients whose connectionId changed (a resume keeps it: should be 0). */
  idChanged: number;
  /** Sockets the restarted server counts once every client is back (should be the number of clients). */
  serverConnections: number;
}

export async function runP5(settings: Settings): Promise<{ rows: Row[]; reps: Rep[] }> {
  const reps: Rep[] = [];
  for (let rep = 0; rep < settings.reps; rep++) {
    const r = await runRep(settings);
    reps.push(r);
    const resumed = r.resumeMs.filter(Number.isFinite).length;
    settings.log(
      `P5 rep ${rep + 1}: fresh connect p50 ${ms(percentile(r.freshConnectMs, 50))} p99 ${ms(percentile(r.freshConnectMs, 99))}; ` +
        `restart ${ms(r.restartMs)} (boot ${ms(r.bootMs)}); resumed ${resumed}/${r.clients}, after listening ` +
        `p50 ${ms(percentile(r.resumeMs, 50))} p99 ${ms(percentile(r.resumeMs, 99))} max ${ms(Math.max(...r.resumeMs))}; ` +
        `handshake p50 ${ms(percentile(r.handshakeMs, 50))} p99 ${ms(percentile(r.handshakeMs, 99))}; ` +
        `resumed at retry ${JSON.stringify(r.retryThatResumed)}; CPU meanwhile server ${pct(r.storm.serverCpu)}, clients ${pct(r.storm.clientsCpu)}; ` +
        `resynced ${r.resynced}; ${r.writersInFlightAtKill} writer requests in flight at the kill (${r.inFlightCommitted} had committed), ` +
        `${r.replayedFrames} frames replayed to ${r.clientsWithReplay} clients; ` +
        `${r.linesCommitted} lines (${r.linesPerSecondBeforeKill.toFixed(0)}/s), lost ${r.lost}, duplicates ${r.duplicates}, out of order ${r.outOfOrder}, applied twice ${r.appliedTwice}` +
        (Object.keys(r.writerErrors).length > 0 ? `; failed writer requests ${JSON.stringify(r.writerErrors)}` : "") +
        (r.dropsBeforeKill > 0 ? `; ${r.dropsBeforeKill} DROPS BEFORE THE KILL` : "") +
        (r.idChanged > 0 ? `; ${r.idChanged} RESUMED WITH ANOTHER CONNECTION ID` : "") +
        (r.serverConnections !== r.clients ? `; SERVER COUNTS ${r.serverConnections} SOCKETS` : "") +
        `; load average ${r.loadAverage}`,
    );
  }
  return { rows: rows(reps, settings), reps };
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : "never");
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

async function runRep(settings: Settings): Promise<Rep> {
  const { rooms, perRoom, messagesPerSecond, killAfterMs, linesAfterResume } = settings.p5;
  const dataDir = mkdtempSync(join(tmpdir(), "cellar-bench-p5-"));
  // Bundled: the restart is timed, and a deployed server boots from compiled JS, not through a TS loader.
  const child: ChildOptions = { ...settings.child, bundle: true };
  let server: ServerChild | undefined;
  const members: Member[] = [];
  const writers: Writer[] = [];
  try {
    server = await startServerChild("cellar", "resume-server.ts", { ...child, config: { dataDir, port: 0 } });
    const port = Number(new URL(server.url).port);
    let killedAt = Infinity;

    // All clients at once, before any line, so that each must get lines 1..N.
    const connectFrom = wallClock();
    for (let room = 0; room < rooms; room++) {
      for (let i = 0; i < perRoom; i++) {
        const m: Member = { client: new CellarClient(server.roomUrl("feed", `p5-${room}`), { WebSocket: WS }), room, lines: [], retries: [], dropsBeforeKill: 0 };
        m.client.on("line", (data: { n: number }) => m.lines.push(data.n));
        m.client.once("$state", () => (m.openedAt = wallClock()));
        m.client.on("$resumed", ({ replayed }: { replayed: number }) => {
          if (m.resumedAt !== undefined || m.resyncedAt !== undefined) return;
          m.resumedAt = wallClock();
          m.replayed = replayed;
        });
        m.client.on("$resynced", () => {
          if (m.resumedAt === undefined && m.resyncedAt === undefined) m.resyncedAt = wallClock();
        });
        m.client.on("$retry", ({ attempt, delayMs }: { attempt: number; delayMs: number }) => {
          if (wallClock() < killedAt) m.dropsBeforeKill++;
          else m.retries.push({ at: wallClock(), attempt, delayMs });
        });
        members.push(m);
      }
    }
    await until(() => members.every((m) => m.client.state === "open"), DEADLINE_MS);
    if (!members.every((m) => m.client.state === "open")) throw new Error("P5: not every client connected within 30 s");
    const freshConnectMs = members.map((m) => m.openedAt! - connectFrom);

    // One writer per room: a line, wait for its ack, pause, and again.
    const pauseMs = 1000 / messagesPerSecond;
    for (let room = 0; room < rooms; room++) {
      const w: Writer = { member: members[room * perRoom]!, acked: [], errors: [], inFlight: false, wake: () => {}, stop: false, done: Promise.resolve() };
      w.done = (async () => {
        while (!w.stop) {
          w.inFlight = true;
          try {
            w.acked.push(await w.member.client.request<number>("say"));
          } catch (error) {
            w.errors.push(error instanceof CellarError ? error.code : String(error));
          }
          w.inFlight = false;
          if (!w.stop) await new Promise<void>((resolve) => setTimeout((w.wake = resolve), pauseMs));
        }
      })();
      writers.push(w);
    }
    const flowFrom = performance.now();
    await sleep(killAfterMs + Math.random() * 500);

    // The crash. Writers that are pausing send their next line now, so that every room has a
    // request in flight: the kill, 1–15 ms later, finds some of them unread, some read but
    // not committed, some committed but not answered (their lines must still reach everyone).
    for (const w of writers) if (!w.inFlight) w.wake();
    await sleep(1 + Math.random() * 14);
    const linesBeforeKill = writers.reduce((n, w) => n + w.acked.length, 0);
    const flowSeconds = (performance.now() - flowFrom) / 1000;
    const inFlightAtKill = writers.map((w) => (w.inFlight ? w.acked.length + w.errors.length : -1));
    for (const m of members) m.connectionId = m.client.connectionId;
    killedAt = wallClock();
    await server.kill("SIGKILL");
    server = await startServerChild("cellar", "resume-server.ts", { ...child, config: { dataDir, port } });
    const { processStartedAt, listeningAt } = await server.call<{ processStartedAt: number; listeningAt: number }>("startup");

    const serverCpu0 = await server.cpuMicros();
    const clientsCpu0 = process.cpuUsage();
    const cpuFrom = wallClock();
    const settled = (m: Member) => m.resumedAt !== undefined || m.resyncedAt !== undefined;
    await until(() => members.every(settled), DEADLINE_MS);
    const cpuSeconds = (wallClock() - cpuFrom) / 1000;
    const clientsCpu = process.cpuUsage(clientsCpu0);
    const storm = {
      ms: Math.max(...members.map((m) => (m.resumedAt ?? m.resyncedAt ?? Infinity) - listeningAt)),
      serverCpu: ((await server.cpuMicros()) - serverCpu0) / 1e6 / cpuSeconds,
      clientsCpu: (clientsCpu.user + clientsCpu.system) / 1e6 / cpuSeconds,
    };

    const { connections: serverConnections } = await server.call<{ connections: number }>("stats");

    // A few more lines from every writer; then stop, and read N from each room.
    const ackedAtResume = writers.map((w) => w.acked.length);
    await until(() => writers.every((w, i) => w.acked.length >= ackedAtResume[i]! + linesAfterResume), DEADLINE_MS);
    for (const w of writers) w.stop = true;
    await Promise.all(writers.map((w) => w.done));
    const roomMembers = (room: number) => members.filter((m) => m.room === room);
    const committed = await Promise.all(writers.map((_, room) => countLines(roomMembers(room), "count")));
    // Lines each room had at the restart: more than its writer's answered requests at the kill
    // means the request in flight had committed, though its answer was lost.
    const atRestart = await Promise.all(writers.map((_, room) => countLines(roomMembers(room), "countAtLoad")));
    await until(() => members.every((m) => (m.lines.at(-1) ?? 0) >= committed[m.room]!), DEADLINE_MS);

    // Figures.
    const handshakeMs: number[] = [];
    const retryThatResumed: Record<string, number> = {};
    for (const m of members) {
      const last = m.retries.filter((r) => r.at < (m.resumedAt ?? -Infinity)).at(-1);
      if (!last) continue;
      handshakeMs.push(m.resumedAt! - Math.max(last.at + last.delayMs, listeningAt));
      retryThatResumed[last.attempt] = (retryThatResumed[last.attempt] ?? 0) + 1;
    }
    let lost = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const m of members) {
      const seen = new Set<number>();
      for (const [i, line] of m.lines.entries()) {
        if (seen.has(line)) duplicates++;
        seen.add(line);
        if (i > 0 && line <= m.lines[i - 1]!) outOfOrder++;
      }
      for (let n = 1; n <= committed[m.room]!; n++) if (!seen.has(n)) lost++;
    }
    // Each committed line is one `say` run once: its writer holds the ack, or an error for a
    // request whose fate it could not learn. Lines beyond those: a request ran twice.
    const appliedTwice = writers.reduce((sum, w, room) => sum + Math.max(0, committed[room]! - w.acked.length - w.errors.length), 0);
    return {
      clients: members.length,
      loadAverage: Number(loadavg()[0]!.toFixed(2)),
      freshConnectMs,
      restartMs: listeningAt - killedAt,
      bootMs: listeningAt - processStartedAt,
      resumeMs: members.map((m) => (m.resumedAt === undefined ? Infinity : m.resumedAt - listeningAt)),
      resynced: members.filter((m) => m.resyncedAt !== undefined).length,
      notResumed: members.filter((m) => !settled(m)).length,
      handshakeMs,
      retryThatResumed,
      storm,
      writersInFlightAtKill: inFlightAtKill.filter((answered) => answered >= 0).length,
      inFlightCommitted: inFlightAtKill.filter((answered, room) => answered >= 0 && atRestart[room]! > answered).length,
      replayedFrames: members.reduce((n, m) => n + (m.replayed ?? 0), 0),
      clientsWithReplay: members.filter((m) => (m.replayed ?? 0) > 0).length,
      linesPerSecondBeforeKill: linesBeforeKill / flowSeconds,
      linesCommitted: committed.reduce((a, b) => a + b, 0),
      deliveriesExpected: committed.reduce((a, b) => a + b * perRoom, 0),
      lost,
      duplicates,
      outOfOrder,
      appliedTwice,
      writerErrors: writers.flatMap((w) => w.errors).reduce<Record<string, number>>((counts, code) => ({ ...counts, [code]: (counts[code] ?? 0) + 1 }), {}),
      dropsBeforeKill: members.reduce((n, m) => n + m.dropsBeforeKill, 0),
      idChanged: members.filter((m) => m.resumedAt !== undefined && m.client.connectionId !== m.connectionId).length,
      serverConnections,
    };
  } finally {
    for (const w of writers) w.stop = true;
    for (const m of members) m.client.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Lines the room committed, asked through the first of its clients that can ask. */
async function countLines(clients: Member[], event: "count" | "countAtLoad"): Promise<number> {
  let failure: unknown;
  for (const { client } of clients) {
    if (client.state !== "open") continue;
    try {
      return await client.request<number>(event);
    } catch (error) {
      failure = error;
    }
  }
  throw new Error(`P5: no client of the room could ask for its line count (${String(failure)})`);
}

function rows(reps: Rep[], settings: Settings): Row[] {
  const { rooms, perRoom, messagesPerSecond } = settings.p5;
  const d = RECONNECT_DEFAULTS;
  const restart = median(reps.map((r) => r.restartMs));
  const notResumed = reps.reduce((n, r) => n + r.notResumed, 0);
  const conditions =
    `${(rooms * perRoom).toLocaleString("en-US")} clients = ${rooms} rooms × ${perRoom}, 1 writer/room at ${messagesPerSecond} lines/s; ` +
    `client reconnect defaults (${d.initialDelayMs} ms ×${d.multiplier} ±${d.jitter * 100} %); restart ${restart.toFixed(0)} ms; ${reps.length} reps` +
    (notResumed > 0 ? `; ${notResumed} NEVER RESUMED` : "");
  const cellar = (values: number[]) => ({ name: "cellar", values });
  const info = (figure: string, values: number[], conditionsText = "same runs") => infoRow({ id: "P5", figure, conditions: conditionsText, unit: "ms" }, cellar(values));
  const zero = (figure: string, values: number[], conditionsText: string) => zeroRow({ id: "P5", figure, conditions: conditionsText, unit: "count" }, cellar(values));
  const deliveries = reps.reduce((n, r) => n + r.deliveriesExpected, 0);
  return [
    budgetRow(
      { id: "P5", figure: "resumed after restart, p99 (from listening)", conditions, unit: "ms" },
      cellar(reps.map((r) => percentile(r.resumeMs, 99))),
      BUDGET_MS,
      "≤ 2 s",
    ),
    info("resumed after restart, p50", reps.map((r) => percentile(r.resumeMs, 50))),
    info("resumed after restart, max", reps.map((r) => Math.max(...r.resumeMs))),
    info("restart, SIGKILL → listening", reps.map((r) => r.restartMs), "server bundled to JS (as deployed), same data dir and port"),
    info("first connect, all 1,000 at once, p99", reps.map((r) => percentile(r.freshConnectMs, 99)), "fresh sessions, just-started server, no backoff"),
    zero("clients resynced instead of resumed", reps.map((r) => r.resynced), `total over ${reps.length} reps`),
    zero("frames lost", reps.map((r) => r.lost), `total over ${reps.length} reps, of ${deliveries.toLocaleString("en-US")} line deliveries`),
    zero("frames duplicated", reps.map((r) => r.duplicates), "same"),
    zero("frames out of order", reps.map((r) => r.outOfOrder), "same"),
    zero("writer requests applied twice", reps.map((r) => r.appliedTwice), "committed lines − acks − failed requests"),
  ];
}
