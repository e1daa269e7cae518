import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { WebSocket } from "ws";
import { hotFunctions } from "../lib/profile.js";
import { until } from "../lib/measure.js";
import { budgetRow, infoRow, type Row, zeroRow } from "../lib/report.js";
import { startServerChild, type ServerChild } from "../lib/server-child.js";
import type { Settings } from "../lib/settings.js";
import { median, percentile, sleep } from "../lib/stats.js";
import { closeClients, openClients, requestFrame } from "../lib/ws-clients.js";

/**
 * P6 quiz burst. Sommelier Arena (`createArenaServer`, servers/arena-server.ts) in its own
 * process; 20 sessions × 40 participants (800 sockets) and 20 hosts in this process, raw
 * `ws` sockets speaking Cellar's protocol. Each repetition creates the sessions over HTTP,
 * joins everyone, starts the game and plays a few questions of one wine. Per question:
 *
 * 1. Answers, open loop: every participant sends `submit_answer` (a random option) at its
 *    own moment drawn uniformly over a 1 s window, whatever the others do (~800 answers/s).
 *    Measured per answer: the request leaving this process → its ack arriving. The server's
 *    CPU over the window, divided by the answers, is the CPU per answer.
 * 2. Reveal, once every answer is acked: the 20 hosts send `host:reveal` at the same moment
 *    (the worst case for the last session, whose reveal waits for the others'). Measured per
 *    session: `host:reveal` leaving → the last of its 40 participants receiving its
 *    `game:answer_revealed`. Each participant's reveal is checked to carry its own answer.
 * 3. `host:next` opens the next question; the next answer window starts once every
 *    participant has it.
 *
 * Timestamps are `performance.now()` of this process, taken when a frame is sent and first
 * thing in the socket's message handler.
 */

/** The quality bars, in µs. */
const ANSWER_BUDGET_US = 50_000;
const REVEAL_BUDGET_US = 100_000;
/** How long a step may take before the rep gives up on it (the figures then show what is missing). */
const DEADLINE_MS = 30_000;
/** Between scheduling the answers and the window's start: timers are set, the CPU reading is back. */
const LEAD_MS = 20;
/** How often a wait checks whether its step is done (the answer window ends at the check that sees the last ack). */
const POLL_MS = 5;
const OPTION_IDS = ["A", "B", "C", "D"] as const;

interface Reply {
  ok: boolean;
  /** The ack's data, or the error frame. */
  data: any;
  /** `performance.now()` when the answer arrived. */
  at: number;
}

/**
 * A raw socket (lib/ws-clients.ts) that parses what it receives: answers are matched to
 * their request by id, events go to `onEvent` with the moment they arrived.
 */
class Peer {
  #nextId = 0;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  onEvent: (event: string, data: any, at: number) => void = () => {};

  constructor(readonly ws: WebSocket) {
    ws.on("message", (frame: Buffer) => {
      const at = performance.now();
      const message = JSON.parse(frame.toString());
      if (message.t === "event") {
        this.onEvent(message.event, message.data, at);
      } else if ((message.t === "ack" || message.t === "error") && typeof message.id === "number") {
        const done = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        done?.({ ok: message.t === "ack", data: message.t === "ack" ? message.data : message, at });
      }
    });
  }

  /** Sends a request; returns the moment it was handed to the socket. */
  send(event: string, data: unknown, done: (reply: Reply) => void): number {
    const id = this.#nextId++;
    this.#pending.set(id, done);
    const sentAt = performance.now();
    this.ws.send(requestFrame(id, event, JSON.stringify(data ?? {})));
    return sentAt;
  }

  request(event: string, data?: unknown): Promise<any> {
    return new Promise((resolve, reject) =>
      this.send(event, data, (reply) => (reply.ok ? resolve(reply.data) : reject(new Error(`${event}: ${reply.data.code} ${reply.data.message}`)))),
    );
  }
}

interface Participant {
  peer: Peer;
  /** The open question's id, from `game:question`. */
  questionId?: string;
  /** This participant's answer per question id. */
  answers: Map<string, string>;
  /** When `game:answer_revealed` arrived, per question id, and whether it carried this participant's answer. */
  revealed: Map<string, { at: number; ownAnswer: boolean }>;
}

interface Session {
  code: string;
  host: Peer;
  participants: Participant[];
}

interface Question {
  /** Per answer, request sent → ack, µs. */
  answerUs: number[];
  /** Per session, `host:reveal` sent → last participant's `game:answer_revealed`, µs (Infinity: some never got it). */
  revealUs: number[];
  /** Per session, `host:reveal` sent → its ack to the host, µs. */
  revealAckUs: number[];
  /** Server CPU over the answer window (first answer scheduled → last ack) and over the reveals, µs. */
  answerCpuUs: number;
  revealCpuUs: number;
  answerWindowMs: number;
  /** This process's CPU over the answer window, µs. */
  generatorCpuUs: number;
  /** Per answer, how late its timer fired (actual send − scheduled moment), ms. */
  latenessMs: number[];
  /** Answers refused, by error code, and never answered. */
  refused: Record<string, number>;
  unanswered: number;
  /** Participants who got no `game:answer_revealed`, or one without their own answer. */
  revealsMissing: number;
  revealsWrong: number;
  /** Committed writes per SQLite transaction over the answer window. */
  writesPerCommit: number;
  /** The answer window and the reveals, in µs of the monotonic clock (to read CPU profiles with). */
  monotonicUs: { answers: [number, number]; reveal: [number, number] };
}

interface Rep {
  questions: Question[];
  /** Run while another process kept one core busy (`startBurner`). */
  burner: boolean;
  /** 1-minute load average when the rep started and ended: other work on the machine shows in the tails. */
  loadAverage: [number, number];
}

type Stats = { commits: { transactions: number; writes: number } };

export async function runP6(settings: Settings): Promise<{ rows: Row[]; reps: Rep[] }> {
  const server = await startServerChild("arena", "arena-server.ts", settings.child);
  const reps: Rep[] = [];
  try {
    // One unmeasured question first, on sessions of the same size: every path (joins, answers,
    // reveals, next, end) runs hot before the first measured rep, as on a server that has been up.
    const warmup = await runRep(server, settings, "warmup", 1);
    settings.log(`P6 warm-up (1 question, not counted): answer→ack p99 ${ms(percentile(warmup.questions[0]!.answerUs, 99))}, reveal→last participant max ${ms(Math.max(...warmup.questions[0]!.revealUs))}`);
    // The same repetitions again while another process keeps one core busy: the bars must
    // hold with the server and the generator sharing the other core with it.
    for (let run = 0; run < 2 * settings.reps; run++) {
      const rep = run % settings.reps;
      const burner = run >= settings.reps ? await startBurner() : undefined;
      let r: Rep;
      try {
        r = { ...(await runRep(server, settings, `${run}`, settings.p6.questions)), burner: burner !== undefined };
      } finally {
        await burner?.stop();
      }
      reps.push(r);
      const answers = r.questions.flatMap((q) => q.answerUs);
      const reveals = r.questions.flatMap((q) => q.revealUs);
      const refused = r.questions.reduce((n, q) => n + Object.values(q.refused).reduce((a, b) => a + b, 0) + q.unanswered, 0);
      const wrong = r.questions.reduce((n, q) => n + q.revealsMissing + q.revealsWrong, 0);
      settings.log(
        `P6 rep ${rep + 1}${r.burner ? " (one core busy)" : ""}: answer→ack p50 ${ms(percentile(answers, 50))} p99 ${ms(percentile(answers, 99))} max ${ms(Math.max(...answers))}; ` +
          `reveal→last participant p50 ${ms(percentile(reveals, 50))} p99 ${ms(percentile(reveals, 99))} max ${ms(Math.max(...reveals))}; ` +
          `per question answer p99 / reveal max: ${r.questions.map((q) => `${ms(percentile(q.answerUs, 99))} / ${ms(Math.max(...q.revealUs))}`).join(", ")}; ` +
          `server CPU ${cpuPerAnswer([r]).toFixed(0)} µs/answer, ${cpuPerReveal([r]).toFixed(0)} µs/session reveal; ` +
          `server load in answer windows ${pct(serverLoad([r]))}, generator ${pct(generatorLoad([r]))}; ` +
          `timer lateness p99 ${percentile(r.questions.flatMap((q) => q.latenessMs), 99).toFixed(1)} ms; ` +
          `${median(r.questions.map((q) => q.writesPerCommit)).toFixed(1)} writes/commit; ` +
          `refused or unanswered ${refused}, reveals missing or wrong ${wrong}; load average ${r.loadAverage.join(" → ")}`,
      );
    }
  } finally {
    await server.stop();
  }
  if (settings.child.cpuProfDir) {
    // The whole-process list (printed at the end) is dominated by the joins; these are the measured windows.
    const dir = join(settings.child.cpuProfDir, "arena");
    for (const [what, windows] of [
      ["answer windows", reps.flatMap((r) => r.questions.map((q) => q.monotonicUs.answers))],
      ["reveals", reps.flatMap((r) => r.questions.map((q) => q.monotonicUs.reveal))],
    ] as const) {
      settings.log(`P6 arena, ${what} only: hottest functions by self time (% of busy samples)`);
      for (const f of hotFunctions(dir, 15, windows)) settings.log(`  ${f.selfPercent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
    }
  }
  return { rows: rows(reps, settings), reps };
}

const ms = (us: number) => (Number.isFinite(us) ? `${(us / 1000).toFixed(1)} ms` : "never");
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const cpuPerAnswer = (reps: Rep[]) => sum(reps.flatMap((r) => r.questions.map((q) => q.answerCpuUs))) / reps.flatMap((r) => r.questions.flatMap((q) => q.answerUs)).length;
const cpuPerReveal = (reps: Rep[]) => sum(reps.flatMap((r) => r.questions.map((q) => q.revealCpuUs))) / reps.flatMap((r) => r.questions.flatMap((q) => q.revealUs)).length;
const windowSeconds = (reps: Rep[]) => sum(reps.flatMap((r) => r.questions.map((q) => q.answerWindowMs))) / 1000;
const serverLoad = (reps: Rep[]) => sum(reps.flatMap((r) => r.questions.map((q) => q.answerCpuUs))) / 1e6 / windowSeconds(reps);
const generatorLoad = (reps: Rep[]) => sum(reps.flatMap((r) => r.questions.map((q) => q.generatorCpuUs))) / 1e6 / windowSeconds(reps);

/** The wine of every session: five questions, four options each. */
const WINE = {
  name: "Château Bench",
  questions: [
    { category: "color", correctAnswer: "Red", distractors: ["White", "Rosé", "Orange"] },
    { category: "country", correctAnswer: "France", distractors: ["Italy", "Spain", "Chile"] },
    { category: "grape_variety", correctAnswer: "Merlot", distractors: ["Syrah", "Pinot Noir", "Malbec"] },
    { category: "vintage_year", correctAnswer: "2015", distractors: ["2005", "2010", "2020"] },
    { category: "wine_name", correctAnswer: "Château Bench", distractors: ["Domaine A", "Domaine B", "Domaine C"] },
  ],
};

/** Another process spinning on one core, until `stop`. */
async function startBurner(): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  return {
    async stop() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

async function runRep(server: ServerChild, settings: Settings, label: string, questionCount: number): Promise<Omit<Rep, "burner">> {
  const { sessions: sessionCount, participants: perSession, answerWindowMs } = settings.p6;
  if (questionCount < 1 || questionCount > WINE.questions.length) throw new Error(`P6: 1 to ${WINE.questions.length} questions (one wine)`);
  const loadAtStart = Number(loadavg()[0]!.toFixed(2));
  const httpUrl = server.url.replace(/^ws/, "http");
  const sessions: Session[] = [];
  const sockets: WebSocket[] = [];
  try {
    // Sessions, as the editor creates them: one host each, a 60 s timer (the default), one wine.
    const hosts = Array.from({ length: sessionCount }, (_, i) => ({ hostId: `P6-HOST-${label}-${i}`, hostKey: randomBytes(32).toString("base64url") }));
    const codes: string[] = [];
    for (const host of hosts) {
      const response = await fetch(`${httpUrl}/api/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...host, title: "Quiz burst", timerSeconds: 60, wines: [WINE] }),
      });
      const body = (await response.json()) as { code?: string };
      if (response.status !== 201 || !body.code) throw new Error(`P6: session not created: ${response.status} ${JSON.stringify(body)}`);
      codes.push(body.code);
    }

    // Hosts and participants connect; hosts authenticate, participants join.
    const urls = codes.flatMap((code) => Array.from({ length: perSession + 1 }, () => server.roomUrl("session", code)));
    sockets.push(...(await openClients(urls)));
    for (const [i, code] of codes.entries()) {
      const peers = sockets.slice(i * (perSession + 1), (i + 1) * (perSession + 1)).map((ws) => new Peer(ws));
      const participants = peers.slice(1).map((peer): Participant => ({ peer, answers: new Map(), revealed: new Map() }));
      for (const p of participants) {
        p.peer.onEvent = (event, data: { questionId: string; yourOptionId?: string | null }, at) => {
          if (event === "game:question") p.questionId = data.questionId;
          else if (event === "game:answer_revealed") p.revealed.set(data.questionId, { at, ownAnswer: data.yourOptionId === p.answers.get(data.questionId) });
        };
      }
      sessions.push({ code, host: peers[0]!, participants });
    }
    await Promise.all(sessions.map((s, i) => s.host.request("rejoin_host", hosts[i])));
    await Promise.all(sessions.flatMap((s) => s.participants.map((p, i) => p.peer.request("join_session", { pseudonym: `Taster ${i + 1}` }))));
    const participants = sessions.flatMap((s) => s.participants);

    await Promise.all(sessions.map((s) => s.host.request("host:start")));
    const questions: Question[] = [];
    for (let q = 0; q < questionCount; q++) {
      await until(() => participants.every((p) => p.questionId !== undefined && !p.revealed.has(p.questionId)), DEADLINE_MS, POLL_MS);
      const questionId = participants[0]!.questionId!;
      if (!participants.every((p) => p.questionId === questionId)) throw new Error(`P6: not every participant got question ${q + 1} within ${DEADLINE_MS / 1000} s`);
      questions.push(await playQuestion(server, sessions, questionId, answerWindowMs));
      if (q < questionCount - 1) await Promise.all(sessions.map((s) => s.host.request("host:next")));
    }
    await Promise.all(sessions.map((s) => s.host.request("host:end")));
    return { questions, loadAverage: [loadAtStart, Number(loadavg()[0]!.toFixed(2))] };
  } finally {
    await closeClients(sockets);
  }
}

async function playQuestion(server: ServerChild, sessions: Session[], questionId: string, answerWindowMs: number): Promise<Question> {
  const participants = sessions.flatMap((s) => s.participants);
  const stats0 = await server.call<Stats>("stats");

  // 1. Answers: each at its own random moment of the window, open loop.
  const answerUs: number[] = [];
  const latenessMs: number[] = [];
  const refused: Record<string, number> = {};
  let answered = 0;
  const cpu0 = await server.cpuMicros();
  const gen0 = process.cpuUsage();
  const answersFrom = monotonicUs();
  const from = performance.now();
  const start = from + LEAD_MS;
  for (const p of participants) {
    const due = start + Math.random() * answerWindowMs;
    setTimeout(() => {
      const optionId = OPTION_IDS[Math.floor(Math.random() * OPTION_IDS.length)]!;
      p.answers.set(questionId, optionId);
      const sentAt = p.peer.send("submit_answer", { questionId, optionId }, (reply) => {
        answered++;
        if (reply.ok) answerUs.push(Math.round((reply.at - sentAt) * 1000));
        else refused[reply.data.code] = (refused[reply.data.code] ?? 0) + 1;
      });
      latenessMs.push(Math.round((sentAt - due) * 100) / 100);
    }, due - performance.now());
  }
  await until(() => answered === participants.length, answerWindowMs + DEADLINE_MS, POLL_MS);
  const answersTo = monotonicUs();
  const cpu1 = await server.cpuMicros();
  const gen1 = process.cpuUsage(gen0);
  const answerWindowMsMeasured = performance.now() - from;
  const stats1 = await server.call<Stats>("stats");

  // 2. Reveal: the 20 hosts at once.
  await sleep(50);
  const revealAckUs: number[] = new Array(sessions.length).fill(Infinity);
  const sentAt: number[] = [];
  const revealCpu0 = await server.cpuMicros();
  const revealFrom = monotonicUs();
  for (const [i, s] of sessions.entries()) {
    sentAt[i] = s.host.send("host:reveal", {}, (reply) => {
      if (reply.ok) revealAckUs[i] = Math.round((reply.at - sentAt[i]!) * 1000);
    });
  }
  await until(() => participants.every((p) => p.revealed.has(questionId)) && revealAckUs.every(Number.isFinite), DEADLINE_MS, POLL_MS);
  const revealTo = monotonicUs();
  const revealCpuUs = (await server.cpuMicros()) - revealCpu0;
  const revealUs = sessions.map((s, i) => Math.max(...s.participants.map((p) => Math.round(((p.revealed.get(questionId)?.at ?? Infinity) - sentAt[i]!) * 1000))));

  return {
    answerUs,
    revealUs,
    revealAckUs,
    answerCpuUs: cpu1 - cpu0,
    revealCpuUs,
    answerWindowMs: answerWindowMsMeasured,
    generatorCpuUs: gen1.user + gen1.system,
    latenessMs,
    refused,
    unanswered: participants.length - answered,
    revealsMissing: participants.filter((p) => !p.revealed.has(questionId)).length,
    revealsWrong: participants.filter((p) => p.revealed.get(questionId)?.ownAnswer === false).length,
    monotonicUs: { answers: [answersFrom, answersTo], reveal: [revealFrom, revealTo] },
    writesPerCommit: (stats1.commits.writes - stats0.commits.writes) / Math.max(1, stats1.commits.transactions - stats0.commits.transactions),
  };
}

/** µs on the monotonic clock that V8's CPU profiles use, in any process. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function rows(all: Rep[], settings: Settings): Row[] {
  const reps = all.filter((r) => !r.burner);
  const busy = all.filter((r) => r.burner);
  const { sessions, participants, questions, answerWindowMs } = settings.p6;
  const clients = sessions * participants;
  const lateness = percentile(reps.flatMap((r) => r.questions.flatMap((q) => q.latenessMs)), 99);
  const conditions =
    `${sessions} sessions × ${participants} participants (${clients.toLocaleString("en-US")} sockets, loopback), ${questions} question${questions > 1 ? "s" : ""}/rep; ` +
    `answers open loop, uniform over ${answerWindowMs / 1000} s (~${Math.round(clients / (answerWindowMs / 1000))}/s); ${reps.length} reps; ` +
    `generator ${pct(generatorLoad(reps))} CPU, timers late p99 ${lateness.toFixed(1)} ms`;
  const arena = (values: number[]) => ({ name: "arena", values });
  const budget = (figure: string, values: number[], budgetUs: number, conditionsText: string) =>
    budgetRow({ id: "P6", figure, conditions: conditionsText, unit: "us" }, arena(values), budgetUs, `≤ ${budgetUs / 1000} ms`);
  const info = (figure: string, values: number[], conditionsText = "same runs") => infoRow({ id: "P6", figure, conditions: conditionsText, unit: "us" }, arena(values));
  const answers = (r: Rep) => r.questions.flatMap((q) => q.answerUs);
  const reveals = (r: Rep) => r.questions.flatMap((q) => q.revealUs);
  const failures = all.map((r) =>
    r.questions.reduce((n, q) => n + sum(Object.values(q.refused)) + q.unanswered + q.revealsMissing + q.revealsWrong, 0),
  );
  return [
    budget("answer→ack p99", reps.map((r) => percentile(answers(r), 99)), ANSWER_BUDGET_US, conditions),
    info("answer→ack p50", reps.map((r) => percentile(answers(r), 50))),
    budget(
      "reveal→last participant p99",
      reps.map((r) => percentile(reveals(r), 99)),
      REVEAL_BUDGET_US,
      `per session and question (${sessions * questions} a rep); the ${sessions} hosts reveal at the same moment, after every answer was acked`,
    ),
    info("reveal→last participant p50", reps.map((r) => percentile(reveals(r), 50))),
    info("server CPU per answer", reps.map((r) => cpuPerAnswer([r])), "server process CPU over the answer windows (timer ticks included) / answers"),
    info("server CPU per session reveal", reps.map((r) => cpuPerReveal([r])), `scoring ${participants} answers, writing them, ${participants + 1} frames`),
    budget(
      "answer→ack p99, one core busy",
      busy.map((r) => percentile(answers(r), 99)),
      ANSWER_BUDGET_US,
      `the same while another process spins on one core (of ${cpus().length}); ${busy.length} reps; generator ${pct(generatorLoad(busy))} CPU`,
    ),
    budget("reveal→last participant p99, one core busy", busy.map((r) => percentile(reveals(r), 99)), REVEAL_BUDGET_US, "same runs"),
    info("server CPU per answer / per session reveal, one core busy", busy.map((r) => cpuPerAnswer([r])), `per reveal: ${(median(busy.map((r) => cpuPerReveal([r]))) / 1000).toFixed(2)} ms`),
    zeroRow(
      {
        id: "P6",
        figure: "answers refused or unanswered; reveals missing or without the participant's answer",
        conditions: `total over ${all.length} reps`,
        unit: "count",
      },
      arena(failures),
    ),
  ];
}
