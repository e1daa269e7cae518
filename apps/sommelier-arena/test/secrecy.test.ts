/**
 * Secrecy: until a participant receives `game:answer_revealed` for a question, nothing they
 * receive says which option is correct, and nothing ever tells them what others answered.
 * Every frame is taken off the wire (a WebSocket subclass records each message string
 * before the client parses it), so nothing the client library drops or ignores escapes.
 */
import { afterEach, expect, test } from "vitest";
import { WebSocket } from "ws";
import type { ClientOptions, WebSocketConstructor } from "cellar/client";
import { SERVER_EVENT_NAMES, type HostReveal, type ParticipantSnapshot, type QuestionView } from "../src/shared/protocol.js";
import { connect, connectHost, createSession, joinAs, newHost, optionId, sessionInput, startArena, wine, type Arena, type Recorded } from "./helpers.js";

let arena: Arena;
afterEach(() => arena?.close());

/** Client options whose sockets push every incoming message string onto `log`, in order. */
function wiretap(log: string[]): ClientOptions {
  class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on("message", (data) => log.push(String(data)));
    }
  }
  return { WebSocket: RecordingWebSocket as unknown as WebSocketConstructor };
}

interface Identity {
  id: string;
  token: string;
  pseudonym: string;
}

interface Secret {
  questionId: string;
  correctOptionId: string;
  correctText: string;
}

const KNOWN_EVENTS = new Set<string>(SERVER_EVENT_NAMES);

/** Keys that carry somebody's chosen option (`options`, the list offered, is not one). */
const CHOICE_KEY = /optionId$|answer$|^option$|^choice/i;
const CORRECT_KEY = /correct/i;

/**
 * Everything in `log` (raw frames received by one connection of `me`, or of the host when
 * `me` is null) that a participant must not see: a correct* field of a question this
 * connection has not had revealed, the correct answer's text outside an options list,
 * a choice that is not `me`'s own, another participant's id beside anything but their
 * lobby entry, answer counts or others' results, `game:participant_answered`, others' tokens.
 */
function leaks(log: string[], me: Identity | null, own: Map<string, Set<string>>, secrets: Secret[], everyone: Identity[]): string[] {
  const problems: string[] = [];
  const revealed = new Set<string>();
  const others = everyone.filter((p) => p.id !== me?.id);
  const otherIds = new Set(others.map((p) => p.id));
  log.forEach((text, n) => {
    const frame = JSON.parse(text) as Record<string, any>;
    const where = `frame ${n} (${[frame.t, frame.event].filter(Boolean).join(" ")})`;
    // The reveal itself may name the correct option.
    if (frame.t === "event" && frame.event === "game:answer_revealed") revealed.add(frame.data?.questionId);
    if (frame.event === "game:participant_answered") problems.push(`${where}: game:participant_answered`);
    if (frame.t === "event" && !KNOWN_EVENTS.has(frame.event)) problems.push(`${where}: an event the protocol does not list`);
    for (const p of others) if (text.includes(p.token)) problems.push(`${where}: ${p.pseudonym}'s rejoin token`);
    const unrevealed = secrets.filter((s) => !revealed.has(s.questionId));

    const visit = (value: unknown, questionId: string | undefined, inOptions: boolean, path: string): void => {
      if (typeof value === "string") {
        if (!inOptions) {
          for (const s of unrevealed) if (value === s.correctText) problems.push(`${where} ${path}: "${value}", the answer to ${s.questionId}`);
        }
        return;
      }
      if (typeof value !== "object" || value === null) return;
      if (Array.isArray(value)) return value.forEach((v, i) => visit(v, questionId, inOptions, `${path}[${i}]`));
      const object = value as Record<string, unknown>;
      const nested = object.question as { questionId?: unknown } | null | undefined;
      const qid =
        typeof object.questionId === "string" ? object.questionId : typeof nested?.questionId === "string" ? nested.questionId : questionId;
      if (Object.values(object).some((v) => typeof v === "string" && otherIds.has(v))) {
        const extra = Object.keys(object).filter((k) => !["id", "pseudonym", "connected"].includes(k));
        if (extra.length > 0) problems.push(`${where} ${path}: another participant's id with ${extra.join(", ")}`);
      }
      for (const [key, v] of Object.entries(object)) {
        const at = `${path}.${key}`;
        if (CORRECT_KEY.test(key) && !(qid !== undefined && revealed.has(qid))) problems.push(`${where} ${at} while ${qid ?? "a question"} is not revealed`);
        if (key === "counts" || key === "results") problems.push(`${where} ${at}: everyone's answers`);
        if (!CORRECT_KEY.test(key) && CHOICE_KEY.test(key) && v !== null && v !== undefined) {
          const mine = typeof v === "string" && qid !== undefined && own.get(qid)?.has(v);
          if (!mine) problems.push(`${where} ${at} = ${JSON.stringify(v)}: not an answer ${me?.pseudonym ?? "anyone here"} gave to ${qid}`);
        }
        visit(v, qid, inOptions || key === "options", at);
      }
    };
    visit(frame, undefined, false, "");
  });
  return problems;
}

interface Player extends Identity {
  /** Each of this participant's connections: its raw frames. */
  logs: string[][];
  clients: Recorded[];
  /** Every option this participant sent, per question. */
  own: Map<string, Set<string>>;
  /** Which option (by distractor index, -1 = correct) this participant picks for question `i`; undefined: no answer. */
  picks: (i: number) => number[] | undefined;
}

test("no frame tells a participant the correct option before their reveal, nor anything others answered", async () => {
  arena = await startArena();
  const host = newHost();
  const input = sessionInput(2);
  const code = await createSession(arena.url, host, input);
  const hostLog: string[] = [];
  const h = await connectHost(arena.url, code, host, wiretap(hostLog));

  const players: Player[] = [];
  const join = async (pseudonym: string, picks: Player["picks"]): Promise<Player & { joinSnapshot: ParticipantSnapshot }> => {
    const log: string[] = [];
    const c = await joinAs(arena.url, code, pseudonym, wiretap(log));
    const player = { id: c.joined.participantId, token: c.joined.rejoinToken, pseudonym, logs: [log], clients: [c as Recorded], own: new Map(), picks };
    players.push(player);
    return Object.assign(player, { joinSnapshot: c.joined.snapshot });
  };
  /** Opens another tab of `player` (rejoin_session), recording its frames too; returns its snapshot. */
  const newTab = async (player: Player): Promise<ParticipantSnapshot> => {
    const log: string[] = [];
    const c = await connect(arena.url, code, wiretap(log));
    player.logs.push(log);
    player.clients.push(c);
    return c.request<ParticipantSnapshot>("rejoin_session", { rejoinToken: player.token });
  };

  // Ana is always right; Bo always picks the first distractor; Cy picks the right answer,
  // then changes to the second distractor; Dee (joining at the third question) picks the
  // third distractor every other question and leaves the rest unanswered.
  await join("Ana", () => [-1]);
  await join("Bo", () => [0]);
  await join("Cy", () => [-1, 1]);
  await h.request("host:start");

  const secrets: Secret[] = [];
  let answers = 0;
  for (let r = 0; r < 2; r++) {
    for (let i = 0; i < 5; i++) {
      const { correctAnswer, distractors } = wine(r + 1).questions[i]!;
      const q: QuestionView = await h.until("game:question", (d) => d.roundIndex === r && d.questionIndex === i);
      secrets.push({ questionId: q.questionId, correctOptionId: optionId(q, correctAnswer), correctText: correctAnswer });
      let late: Player | undefined;
      if (r === 0 && i === 2) {
        const dee = await join("Dee", (n) => (n % 2 === 0 ? [2] : undefined));
        expect(dee.joinSnapshot).toMatchObject({ phase: "question_open", yourAnswer: null, reveal: null });
        expect(dee.joinSnapshot.question?.questionId).toBe(q.questionId);
        late = dee;
      }
      for (const p of players) {
        if (p !== late) await p.clients[0]!.until("game:question", (d) => d.questionId === q.questionId);
        const picks = p.picks(r * 5 + i);
        for (const pick of picks ?? []) {
          const option = optionId(q, pick === -1 ? correctAnswer : distractors[pick]!);
          await p.clients[0]!.request("submit_answer", { questionId: q.questionId, optionId: option });
          p.own.set(q.questionId, (p.own.get(q.questionId) ?? new Set()).add(option));
        }
        if (picks) answers++;
      }
      const answered = players.filter((p) => p.own.has(q.questionId)).length;
      await h.until("game:participant_answered", (d) => d.questionId === q.questionId && d.answeredCount === answered);

      if (r === 0 && i === 1) {
        // Mid-question, paused: Bo opens a second tab (kept open to the end), Cy one too.
        await h.request("host:pause");
        const [bo, cy] = [players[1]!, players[2]!];
        for (const p of [bo, cy]) {
          const snapshot = await newTab(p);
          expect(snapshot.phase).toBe("question_paused");
          expect(snapshot.question?.questionId).toBe(q.questionId);
          expect(snapshot.question?.options.map((o) => o.text).sort()).toEqual([correctAnswer, ...distractors].sort());
          expect(snapshot.yourAnswer).toBe(optionId(q, distractors[p === bo ? 0 : 1]!));
          expect(snapshot.reveal).toBeNull();
          expect(JSON.stringify(snapshot)).not.toMatch(/correct/i);
          // Others appear only in the lobby list: who they are, not what they chose.
          const { participants, ...rest } = snapshot;
          for (const entry of participants) expect(Object.keys(entry).sort()).toEqual(["connected", "id", "pseudonym"]);
          for (const other of players.filter((o) => o !== p)) expect(JSON.stringify(rest)).not.toContain(other.id);
        }
        await h.request("host:resume");
      }

      await h.request("host:reveal");
      const hostReveal: HostReveal = await h.until("game:answer_revealed", (d) => d.questionId === q.questionId);
      expect(hostReveal.correctOptionId).toBe(optionId(q, correctAnswer));
      for (const p of players) for (const c of p.clients) await c.until("game:answer_revealed", (d) => d.questionId === q.questionId);
      await h.request("host:next");
    }
    for (const p of players) for (const c of p.clients) await c.until("game:round_leaderboard", (d) => d.roundIndex === r);
    await h.request("host:next");
  }
  for (const p of players) for (const c of p.clients) await c.until("session:ended");
  expect(answers).toBe(3 * 10 + 4); // Dee answered at questions 3, 5, 7, 9 (0-based 2, 4, 6, 8)

  // The participants' own views of the game are there (the check looks at real traffic).
  for (const p of players) {
    for (const log of p.logs) {
      const events = log.map((t) => JSON.parse(t)).filter((f) => f.t === "event");
      expect(events.filter((f) => f.event === "game:answer_revealed").length).toBeGreaterThanOrEqual(p.pseudonym === "Dee" ? 8 : 9);
      expect(events.some((f) => f.event === "game:question")).toBe(true);
    }
  }
  expect(players[0]!.clients[0]!.of("game:answer_revealed").filter((d) => d.correct)).toHaveLength(10);

  for (const p of players) {
    p.logs.forEach((log, tab) => {
      expect(leaks(log, p, p.own, secrets, players), `${p.pseudonym}, tab ${tab + 1}`).toEqual([]);
    });
  }
  // The same check does find what the host (rightly) receives: answers as entered, everyone's results.
  const hostLeaks = leaks(hostLog, null, new Map(), secrets, players);
  expect(hostLeaks.some((l) => l.includes("correctAnswer"))).toBe(true);
  expect(hostLeaks.some((l) => l.includes("game:participant_answered"))).toBe(true);
  expect(hostLeaks.some((l) => l.includes("another participant's id with"))).toBe(true);
});

test("the leak check flags each kind of leak (so a clean result means something)", () => {
  const ana: Identity = { id: "ana-id", token: "ana-token-0123456789abcdef", pseudonym: "Ana" };
  const bo: Identity = { id: "bo-id", token: "bo-token-0123456789abcdef", pseudonym: "Bo" };
  const secrets: Secret[] = [{ questionId: "w1q1", correctOptionId: "B", correctText: "Red" }];
  const own = new Map([["w1q1", new Set(["A"])]]);
  const event = (name: string, data: unknown) => JSON.stringify({ t: "event", event: name, data });
  const question = { questionId: "w1q1", options: ["A", "B", "C", "D"].map((id, i) => ({ id, text: ["White", "Red", "Rosé", "Orange"][i] })) };
  const check = (...log: string[]) => leaks(log, ana, own, secrets, [ana, bo]);

  // What a participant legitimately gets: the question, their own answer, then the reveal.
  expect(
    check(
      event("game:question", question),
      JSON.stringify({ t: "ack", id: 1, data: { questionId: "w1q1", optionId: "A" } }),
      event("lobby:updated", { participants: [{ id: "bo-id", pseudonym: "Bo", connected: true }] }),
      event("game:answer_revealed", { questionId: "w1q1", correctOptionId: "B", yourOptionId: "A", correct: false, points: 0, score: 0 }),
      JSON.stringify({ t: "ack", id: 2, data: { question: { ...question, paused: false }, yourAnswer: "A", reveal: { questionId: "w1q1", correctOptionId: "B" } } }),
    ),
  ).toEqual([]);
  // Each of these must be caught.
  expect(check(event("game:question", { ...question, correctOptionId: "B" }))).toHaveLength(1);
  expect(check(event("game:question", { ...question, options: question.options.map((o) => ({ ...o, correct: o.id === "B" })) })).length).toBeGreaterThan(0);
  expect(check(event("game:question", { ...question, hint: "Red" }))).toHaveLength(1);
  expect(check(event("game:timer_tick", { questionId: "w1q1", answers: [{ participantId: "bo-id", optionId: "C" }] })).length).toBeGreaterThan(0);
  expect(check(JSON.stringify({ t: "ack", id: 1, data: { questionId: "w1q1", optionId: "C" } }))).toHaveLength(1);
  expect(check(event("game:participant_answered", { questionId: "w1q1", answeredCount: 1 }))).toHaveLength(1);
  expect(check(event("game:answer_revealed", { questionId: "w1q1", correctOptionId: "B", counts: { A: 1, B: 0, C: 1, D: 0 } }))).toHaveLength(1);
  expect(check(event("lobby:updated", { note: bo.token }))).toHaveLength(1);
});
