import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { CellarClient, CellarError, RECONNECT_DEFAULTS, type WebSocketConstructor } from "cellar/client";
import type { Row } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { median, percentile, sleep } from "../lib/stats.js";

/**
 * P5 reconnect storm. 1,000 real `CellarClient`s (cellar/client over `ws`, default reconnect
 * options) in 50 `feed` rooms of 20; in each room one of them, the writer, sends `say`
 * requests one after another, paced, and the room broadcasts each numbered line (logged) to
 * all 20. While lines flow, the server process is SIGKILLed and started again on the same
 * port and data directory. Measured per client: time from the new process listening to the
 * client's `$resumed`; a `$resynced` (fresh session) or no resume at all counts as never.
 * Then every writer sends a few more lines, the room tells how many it committed (N), and
 * every client must hold exactly lines 1..N: a missing number is a lost frame, a repeated
 * one a duplicate. Writer requests in flight at the kill may or may not have committed;
 * either way N, read from the room afterwards, is the truth, and the client settles or
 * re-sends them.
 */

const SOCKLOG: any[] = ((globalThis as any).__socklog = []);
class LoggedWS extends WebSocket {
  constructor(url: string) {
    super(url);
    const rec: any = { created: performance.timeOrigin + performance.now() };
    SOCKLOG.push(rec);
    this.on("upgrade", () => (rec.upgrade = performance.timeOrigin + performance.now()));
    this.on("open", () => (rec.open = performance.timeOrigin + performance.now()));
    this.on("error", (e: any) => { rec.error = performance.timeOrigin + performance.now(); rec.code = e.code; });
    this.on("close", () => (rec.close = performance.timeOrigin + performance.now()));
    this.once("message", () => (rec.msg = performance.timeOrigin + performance.now()));
  }
}
const WS = LoggedWS as unknown as WebSocketConstructor;
/** Milliseconds since the epoch with sub-ms precision, comparable across processes of this machine. */
const wallClock = () => performance.timeOrigin + performance.now();
/** How long clients get to resume, and to receive the last lines, before the rep gives up on them. */
const RESUME_DEADLINE_MS = 30_000;
const DELIVERY_DEADLINE_MS = 15_000;

interface Member {
  client: CellarClient;
  room: number;
  /** Line numbers in the order received. */
  lines: number[];
  /** Lines received before the kill. */
  linesAtKill: number;
  resumedAt?: number;
  replayed?: number;
  resyncedAt?: number;
  /** Retries scheduled since the kill (one per failed or lost socket). */
  retries: Array<{ at: number; attempt: number; delayMs: number; code: number }>;
  /** Sockets lost before the kill (there should be none). */
  dropsBeforeKill: number;
}

interface Writer {
  member: Member;
  /** Acknowledged line numbers, in order. */
  acked: number[];
  errors: string[];
  inFlight: boolean;
  stop: boolean;
  done: Promise<void>;
}

interface Rep {
  clients: number;
  /** SIGKILL sent → new process listening, and the new process's own start → listening, in ms. */
  restartMs: number;
  bootMs: number;
  /** Listening → last client back, and the CPU share each process used from just after listening until then (1 = a core). */
  storm: { ms: number; serverCpu: number; generatorCpu: number };
  /** Per client, ms from listening to `$resumed` (Infinity: resynced or never resumed). */
  resumeMs: number[];
  resynced: number;
  notResumed: number;
  /** Per resumed client: ms from its successful attempt's start to `$resumed` (the server's share under the storm). */
  handshakeMs: number[];
  /** Resumed clients by the retry number that succeeded (1 = first retry). */
  attemptsHistogram: Record<string, number>;
  /** Frames replayed to resumed clients, in total, and how many clients got at least one. */
  replayedFrames: number;
  clientsWithReplay: number;
  writersInFlightAtKill: number;
  linesPerSecondBeforeKill: number;
  /** Lines committed per room at the end (N), summed over rooms. */
  linesCommitted: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Clients whose lines were not exactly 1..N. */
  clientsWithGaps: number;
  /** Committed lines that no writer ack accounts for (a request applied twice), and writer errors. */
  unaccountedLines: number;
  writerErrors: string[];
  dropsBeforeKill: number;
  undelivered: number;
}

export async function runP5(settings: Settings): Promise<{ rows: Row[]; reps: Rep[] }> {
  const reps: Rep[] = [];
  for (let rep = 0; rep < settings.reps; rep++) {
    const r = await runRep(settings);
    reps.push(r);
    const finite = r.resumeMs.filter(Number.isFinite);
    settings.log(
      `P5 rep ${rep + 1}: restart ${r.restartMs.toFixed(0)} ms (process boot ${r.bootMs.toFixed(0)} ms); ` +
        `resumed ${finite.length}/${r.clients}, after listening p50 ${fmt(percentile(r.resumeMs, 50))} p99 ${fmt(percentile(r.resumeMs, 99))} ` +
        `max ${fmt(Math.max(...r.resumeMs))}; handshake p50 ${fmt(percentile(r.handshakeMs, 50))} p99 ${fmt(percentile(r.handshakeMs, 99))}; ` +
        `retries ${JSON.stringify(r.attemptsHistogram)}; CPU while they came back: server ${pct(r.storm.serverCpu)}, clients ${pct(r.storm.generatorCpu)}; resynced ${r.resynced}; ` +
        `${r.writersInFlightAtKill} writer requests in flight at the kill, ${r.replayedFrames} frames replayed to ${r.clientsWithReplay} clients; ` +
        `${r.linesCommitted} lines, lost ${r.lost}, duplicates ${r.duplicates}, out of order ${r.outOfOrder}, unaccounted ${r.unaccountedLines}` +
        (r.writerErrors.length > 0 ? `; writer errors ${r.writerErrors.join(", ")}` : "") +
        (r.dropsBeforeKill > 0 ? `; ${r.dropsBeforeKill} DROPS BEFORE THE KILL` : ""),
    );
  }
  return { rows: rows(reps, settings), reps };
}

const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
const fmt = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : "never");

async function runRep(settings: Settings): Promise<Rep> {
  const { rooms, perRoom, messagesPerSecond, killAfterMs, linesAfterResume } = settings.p5;
  const dataDir = mkdtempSync(join(tmpdir(), "cellar-bench-p5-"));
  const child = settings.child;
  let server: ServerChild | undefined;
  const members: Member[] = [];
  const writers: Writer[] = [];
  try {
    server = await startServerChild("cellar", "resume-server.ts", { ...child, config: { dataDir, port: 0 } });
    const port = Number(new URL(server.url).port);
    let killedAt = Infinity;

    // 1,000 clients, 100 handshakes at a time; all in before any line is sent, so each must get 1..N.
    for (let room = 0; room < rooms; room++) {
      for (let i = 0; i < perRoom; i++) {
        const member: Member = { client: undefined!, room, lines: [], linesAtKill: 0, retries: [], dropsBeforeKill: 0 };
        members.push(member);
      }
    }
    for (let from = 0; from < members.length; from += 100) {
      const batch = members.slice(from, from + 100);
      for (const m of batch) {
        const client = new CellarClient(server.roomUrl("feed", `p5-${m.room}`), { WebSocket: WS });
        m.client = client;
        client.on("line", (data: { n: number }) => m.lines.push(data.n));
        client.on("$resumed", ({ replayed }: { replayed: number }) => {
          if (m.resumedAt !== undefined || m.resyncedAt !== undefined) return;
          m.resumedAt = wallClock();
          m.replayed = replayed;
        });
        client.on("$resynced", () => {
          if (m.resumedAt === undefined && m.resyncedAt === undefined) m.resyncedAt = wallClock();
        });
        client.on("$retry", (retry: { attempt: number; delayMs: number; code: number }) => {
          if (wallClock() < killedAt) m.dropsBeforeKill++;
          else m.retries.push({ at: wallClock(), ...retry });
        });
      }
      await Promise.all(batch.map((m) => m.client.waitForConnection()));
    }

    // One writer per room: a line, wait for its ack, pause, and again.
    const pauseMs = 1000 / messagesPerSecond;
    for (let room = 0; room < rooms; room++) {
      const w: Writer = { member: members[room * perRoom]!, acked: [], errors: [], inFlight: false, stop: false, done: Promise.resolve() };
      w.done = (async () => {
        while (!w.stop) {
          w.inFlight = true;
          try {
            w.acked.push(await w.member.client.request<number>("say"));
          } catch (error) {
            w.errors.push(error instanceof CellarError ? error.code : String(error));
          }
          w.inFlight = false;
          if (!w.stop) await sleep(pauseMs);
        }
      })();
      writers.push(w);
    }
    const flowStart = performance.now();
    await sleep(killAfterMs + Math.random() * 500);

    // The crash.
    const linesBeforeKill = writers.reduce((n, w) => n + w.acked.length, 0);
    const flowSeconds = (performance.now() - flowStart) / 1000;
    const writersInFlightAtKill = writers.filter((w) => w.inFlight).length;
    killedAt = wallClock();
    for (const m of members) m.linesAtKill = m.lines.length;
    await server.kill("SIGKILL");
    server = await startServerChild("cellar", "resume-server.ts", { ...child, config: { dataDir, port } });
    const { processStartedAt, listeningAt } = await server.call<{ processStartedAt: number; listeningAt: number }>("startup");

    // CPU of both sides while the clients come back: who is the bottleneck of the storm.
    const peld = monitorEventLoopDelay({ resolution: 5 }); peld.enable();
    const serverCpu0 = await server.cpuMicros();
    const generatorCpu0 = process.cpuUsage();
    const cpuFrom = wallClock();
    const settled = (m: Member) => m.resumedAt !== undefined || m.resyncedAt !== undefined;
    await until(() => members.every(settled), RESUME_DEADLINE_MS);
    const cpuSeconds = (wallClock() - cpuFrom) / 1000;
    (globalThis as any).__diag = await server.call<any>("diag");
    (globalThis as any).__diag.parentEld = { max: peld.max / 1e6, p50: peld.percentile(50) / 1e6, p99: peld.percentile(99) / 1e6 };
    (globalThis as any).__diag.listeningAt = listeningAt;
    const generatorCpu = process.cpuUsage(generatorCpu0);
    const storm = {
      ms: Math.max(...members.map((m) => (m.resumedAt ?? m.resyncedAt ?? Infinity) - listeningAt)),
      serverCpu: ((await server.cpuMicros()) - serverCpu0) / 1e6 / cpuSeconds,
      generatorCpu: (generatorCpu.user + generatorCpu.system) / 1e6 / cpuSeconds,
    };

    // A few more lines from every writer, then stop and read N from each room.
    const ackedAtResume = writers.map((w) => w.acked.length);
    await until(() => writers.every((w, i) => w.acked.length >= ackedAtResume[i]! + linesAfterResume), RESUME_DEADLINE_MS);
    for (const w of writers) w.stop = true;
    await Promise.all(writers.map((w) => w.done));
    const committed = await Promise.all(writers.map((w) => w.member.client.request<number>("count")));
    const delivered = () => members.every((m) => m.lines.length > 0 && m.lines[m.lines.length - 1]! >= committed[m.room]!);
    await until(delivered, DELIVERY_DEADLINE_MS);

    // Figures.
    const resumeMs = members.map((m) => (m.resumedAt === undefined ? Infinity : m.resumedAt - listeningAt));
    const handshakeMs: number[] = [];
    const attemptsHistogram: Record<string, number> = {};
    for (const m of members) {
      if (m.resumedAt === undefined) continue;
      const last = m.retries.filter((r) => r.at < m.resumedAt!).at(-1);
      if (!last) continue;
      handshakeMs.push(m.resumedAt - Math.max(last.at + last.delayMs, listeningAt));
      (globalThis as any).__tl ??= [];
      (globalThis as any).__tl.push([last.at + last.delayMs - listeningAt, m.resumedAt - listeningAt, last.attempt, m.retries.map((r) => [r.at - listeningAt, r.delayMs, r.code])]);
      attemptsHistogram[last.attempt] = (attemptsHistogram[last.attempt] ?? 0) + 1;
    }
    let lost = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let clientsWithGaps = 0;
    let undelivered = 0;
    for (const m of members) {
      const n = committed[m.room]!;
      const seen = new Set<number>();
      let dup = 0;
      for (const [i, line] of m.lines.entries()) {
        if (seen.has(line)) dup++;
        else seen.add(line);
        if (i > 0 && line <= m.lines[i - 1]!) outOfOrder++;
      }
      let missing = 0;
      for (let k = 1; k <= n; k++) if (!seen.has(k)) missing++;
      lost += missing;
      duplicates += dup;
      if (missing > 0 || dup > 0 || seen.size !== n) clientsWithGaps++;
      if (!seen.has(n)) undelivered++;
    }
    // Each committed line is one `say` executed once: the writer holds its ack (or an error,
    // for a request whose fate it could not learn). More lines than that: a request ran twice.
    const unaccountedLines = writers.reduce((sum, w, room) => sum + Math.max(0, committed[room]! - w.acked.length - w.errors.length), 0);
    const replayedFrames = members.reduce((n, m) => n + (m.replayed ?? 0), 0);
    return {
      clients: members.length,
      restartMs: listeningAt - killedAt,
      bootMs: listeningAt - processStartedAt,
      storm,
      tl: (globalThis as any).__tl,
      diag: (globalThis as any).__diag,
      socklog: SOCKLOG.filter((r) => r.created > killedAt).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? Math.round(v - listeningAt) : v]))),
      resumeMs,
      resynced: members.filter((m) => m.resyncedAt !== undefined).length,
      notResumed: members.filter((m) => !settled(m)).length,
      handshakeMs,
      attemptsHistogram,
      replayedFrames,
      clientsWithReplay: members.filter((m) => (m.replayed ?? 0) > 0).length,
      writersInFlightAtKill,
      linesPerSecondBeforeKill: linesBeforeKill / flowSeconds,
      linesCommitted: committed.reduce((a, b) => a + b, 0),
      lost,
      duplicates,
      outOfOrder,
      clientsWithGaps,
      unaccountedLines,
      writerErrors: writers.flatMap((w) => w.errors),
      dropsBeforeKill: members.reduce((n, m) => n + m.dropsBeforeKill, 0),
      undelivered,
    };
  } finally {
    for (const w of writers) w.stop = true;
    for (const m of members) m.client?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Polls `done` until it holds or `timeoutMs` passed (then returns; the figures show what is missing). */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(10);
}

function rows(reps: Rep[], settings: Settings): Row[] {
  const { rooms, perRoom, messagesPerSecond } = settings.p5;
  const d = RECONNECT_DEFAULTS;
  const restart = median(reps.map((r) => r.restartMs));
  const conditions =
    `${rooms * perRoom} clients = ${rooms} rooms × ${perRoom}, writer ${messagesPerSecond} lines/s/room; ` +
    `client reconnect defaults (${d.initialDelayMs} ms ×${d.multiplier} ±${d.jitter * 100} %); ` +
    `restart ${restart.toFixed(0)} ms kill→listening; ${reps.length} reps`;
  const at = (p: number) => reps.map((r) => percentile(r.resumeMs, p));
  const budget = 2000;
  const p99 = at(99);
  const ratios = p99.map((v) => v / budget);
  const countRow = (figure: string, values: number[], extra = ""): Row => {
    const total = values.reduce((a, b) => a + b, 0);
    return {
      id: "P5",
      figure,
      conditions: `total over ${reps.length} reps${extra}`,
      unit: "count",
      baseline: undefined,
      value: { name: "cellar", value: total },
      ratio: undefined,
      target: "0",
      verdict: total === 0 ? "PASS" : "MISS",
      samples: { value: values },
    };
  };
  const infoRow = (figure: string, values: number[]): Row => ({
    id: "P5",
    figure,
    conditions: "same runs",
    unit: "ms",
    baseline: undefined,
    value: { name: "cellar", value: median(values) },
    ratio: undefined,
    target: "—",
    verdict: "info",
    samples: { value: values },
  });
  const notResumed = reps.reduce((n, r) => n + r.notResumed, 0);
  const committed = reps.reduce((n, r) => n + r.linesCommitted, 0) * perRoom;
  return [
    {
      id: "P5",
      figure: "resumed after restart, p99",
      conditions: conditions + (notResumed > 0 ? `; ${notResumed} NEVER RESUMED` : ""),
      unit: "ms",
      baseline: { name: "budget", value: budget },
      value: { name: "cellar", value: median(p99) },
      ratio: median(ratios),
      target: "≤ 2 s",
      verdict: ratios.every(Number.isFinite) && median(ratios) <= 1 ? "PASS" : "MISS",
      samples: { baseline: reps.map(() => budget), value: p99, ratio: ratios },
    },
    infoRow("resumed after restart, p50", at(50)),
    infoRow("resumed after restart, max", reps.map((r) => Math.max(...r.resumeMs))),
    infoRow("restart, SIGKILL → listening", reps.map((r) => r.restartMs)),
    countRow("clients resynced instead of resumed", reps.map((r) => r.resynced)),
    countRow("frames lost", reps.map((r) => r.lost), `, of ${committed.toLocaleString("en-US")} line deliveries`),
    countRow("frames duplicated", reps.map((r) => r.duplicates)),
    countRow("lines out of order", reps.map((r) => r.outOfOrder)),
    countRow("writer requests applied twice", reps.map((r) => r.unaccountedLines), "; committed lines − acked − failed requests"),
  ];
}
