/**
 * The rules of the game (spec "Game" section), through the real server and real clients:
 * creating sessions over HTTP, codes, pseudonyms, joining late or locked out, every phase
 * transition and the events it sends, answering, scoring, the host index and editing a
 * session before it starts.
 */
import { describe, expect, test } from "vitest";
import { CATEGORIES, PROMPTS } from "../src/shared/protocol.js";
import {
  connectHost,
  createSession,
  newHost,
  optionId,
  postSession,
  refused,
  hostIndex as hostIndexOf,
  sessionInput,
  useSharedArena,
  wine,
  type Host,
  type Recorded,
} from "./helpers.js";

const { arena, track, host$, join$, game$, connect$, rejoin$ } = useSharedArena();
const hostIndex = (host: Host) => hostIndexOf(arena.url, host);

/** The game and session events a client received, in order (timer ticks, answer counts and host presence left out). */
const gameEvents = (c: Recorded) =>
  c.frames
    .map((f) => f.event)
    .filter((e) => /^(game|session):/.test(e) && !["game:timer_tick", "game:participant_answered", "session:host_back", "session:host_away"].includes(e));

/** The `game:question` for wine `round`, question `index` (0-based). */
const questionAt = (c: Recorded, round: number, index: number) =>
  c.until("game:question", (q) => q.roundIndex === round && q.questionIndex === index);

/** A valid create-session body (a fresh host, one wine) that `change` may break. */
function body(change: (b: any) => void = () => {}): any {
  const b: any = structuredClone({ ...newHost(), ...sessionInput(1) });
  change(b);
  return b;
}

// ---------------------------------------------------------------------------------------

describe("creating a session over HTTP", () => {
  test("a valid session gets 201 with only a 4-digit code from 1000 to 9999", async () => {
    const { status, body: reply } = await postSession(arena.url, body());
    expect(status).toBe(201);
    expect(Object.keys(reply)).toEqual(["code"]);
    expect(reply.code).toMatch(/^\d{4}$/);
    expect(Number(reply.code)).toBeGreaterThanOrEqual(1000);
    expect(Number(reply.code)).toBeLessThanOrEqual(9999);
  });

  test("the limits themselves are accepted: timer 15 and 120, 1 and 12 wines, an 80-character title", async () => {
    for (const b of [
      body((b) => (b.timerSeconds = 15)),
      body((b) => (b.timerSeconds = 120)),
      body((b) => (b.wines = sessionInput(12).wines)),
      body((b) => (b.title = "T".repeat(80))),
    ]) {
      const reply = await postSession(arena.url, b);
      expect(reply, JSON.stringify(reply.body)).toMatchObject({ status: 201 });
    }
  });

  test("the timer defaults to 60 seconds and texts are trimmed", async () => {
    const host = newHost();
    const { status, body: reply } = await postSession(arena.url, { ...host, title: "  Friday   tasting ", wines: [wine(1)] });
    expect(status).toBe(201);
    const h = await host$(reply.code, host);
    expect(h.snapshot).toMatchObject({ title: "Friday tasting", timerSeconds: 60, roundCount: 1, phase: "waiting" });
  });

  const cases: Array<[name: string, change: (b: any) => void, code: string, field: string, says: RegExp]> = [
    ["a missing title", (b) => delete b.title, "INVALID_TITLE", "title", /title/i],
    ["an empty title", (b) => (b.title = "   "), "INVALID_TITLE", "title", /title/i],
    ["a title of 81 characters", (b) => (b.title = "T".repeat(81)), "INVALID_TITLE", "title", /at most 80/],
    ["a timer of 14 s", (b) => (b.timerSeconds = 14), "INVALID_TIMER", "timerSeconds", /15 to 120.*got 14/],
    ["a timer of 121 s", (b) => (b.timerSeconds = 121), "INVALID_TIMER", "timerSeconds", /15 to 120.*got 121/],
    ["a timer that is not a whole number", (b) => (b.timerSeconds = 30.5), "INVALID_TIMER", "timerSeconds", /whole number.*got 30\.5/],
    ["a timer given as text", (b) => (b.timerSeconds = "60"), "INVALID_TIMER", "timerSeconds", /whole number/],
    ["no wines", (b) => (b.wines = []), "INVALID_WINES", "wines", /1 to 12 wines \(got 0\)/],
    ["13 wines", (b) => (b.wines = sessionInput(13).wines), "INVALID_WINES", "wines", /1 to 12 wines \(got 13\)/],
    ["a wine with 4 questions", (b) => b.wines[0].questions.pop(), "INVALID_QUESTIONS", "wines[0].questions", /exactly 5 questions/],
    [
      "questions out of the category order",
      (b) => b.wines[0].questions.reverse(),
      "INVALID_CATEGORY",
      "wines[0].questions[0].category",
      /must be the "color" question \(got "wine_name"\)/,
    ],
    ["an empty correct answer", (b) => (b.wines[0].questions[1].correctAnswer = " "), "INVALID_ANSWER", "wines[0].questions[1].correctAnswer", /correct answer is empty/],
    ["2 distractors", (b) => b.wines[0].questions[2].distractors.pop(), "INVALID_DISTRACTORS", "wines[0].questions[2].distractors", /exactly 3 wrong answers/],
    [
      "a distractor equal to the correct answer but for case",
      (b) => (b.wines[0].questions[0].distractors[1] = "RED"),
      "DUPLICATE_OPTION",
      "wines[0].questions[0].distractors[1]",
      /same as the correct answer/,
    ],
    [
      "two distractors equal but for case",
      (b) => (b.wines[0].questions[1].distractors = ["Italy", "italy", "Chile"]),
      "DUPLICATE_OPTION",
      "wines[0].questions[1].distractors[1]",
      /same as wrong answer 1/,
    ],
  ];
  test.each(cases)("%s is refused with 400 saying what is wrong", async (_name, change, code, field, says) => {
    const { status, body: reply } = await postSession(arena.url, body(change));
    expect(status).toBe(400);
    expect(reply.code).toBe(code);
    expect(reply.message).toMatch(says);
    expect(reply.problems).toContainEqual({ code, field, message: reply.message });
  });

  test.each([
    ["a body that is not JSON", "INVALID_JSON", "{ not json"],
    ["a bad host id", "INVALID_HOST_ID", body((b) => (b.hostId = "x"))],
    ["a host id with spaces", "INVALID_HOST_ID", body((b) => (b.hostId = "TANNIC FALCON"))],
    ["a short host key", "INVALID_HOST_KEY", body((b) => (b.hostKey = "abc"))],
    ["a missing host key", "INVALID_HOST_KEY", body((b) => delete b.hostKey)],
  ])("%s is refused with 400 %s", async (_name, code, sent) => {
    const { status, body: reply } = await postSession(arena.url, sent);
    expect(status).toBe(400);
    expect(reply.code).toBe(code);
    expect(reply.message.length).toBeGreaterThan(10);
  });

  test("every problem is listed with its field path; code and message are the first one's; nothing is created", async () => {
    const sent = body((b) => {
      b.title = "";
      b.timerSeconds = 5;
      b.wines = [wine(1), wine(2)];
      b.wines[1].name = "";
      b.wines[0].questions[3].distractors[2] = "";
    });
    const { status, body: reply } = await postSession(arena.url, sent);
    expect(status).toBe(400);
    const fields = reply.problems.map((p: { field: string }) => p.field);
    expect(fields).toEqual(expect.arrayContaining(["title", "timerSeconds", "wines[0].questions[3].distractors[2]", "wines[1].name"]));
    expect(reply.problems.length).toBe(4);
    for (const p of reply.problems) expect(p.message.length).toBeGreaterThan(10);
    expect(reply.code).toBe(reply.problems[0].code);
    expect(reply.message).toBe(reply.problems[0].message);
    // The refused session is nowhere: the host's index is empty.
    expect(await hostIndex({ hostId: sent.hostId, hostKey: sent.hostKey })).toEqual([]);
  });
});

test("60 sessions created at once all get distinct codes, each opening its own session", async () => {
  const host = newHost();
  const codes = await Promise.all(Array.from({ length: 60 }, (_, i) => createSession(arena.url, host, sessionInput(1, { title: `Tasting ${i}` }))));
  expect(new Set(codes).size).toBe(60);
  for (const code of codes) expect(Number(code)).toBeGreaterThanOrEqual(1000);
  const titles = await Promise.all(
    codes.map(async (code) => {
      const h = await host$(code, host);
      expect(h.snapshot.code).toBe(code);
      h.close();
      return h.snapshot.title;
    }),
  );
  expect(titles).toEqual(codes.map((_, i) => `Tasting ${i}`));
});

// ---------------------------------------------------------------------------------------

describe("pseudonyms", () => {
  test("1 to 24 characters, trimmed; empty, blank, 25 characters and control characters are refused", async () => {
    const code = await createSession(arena.url, newHost());
    const c = await connect$(code);
    for (const bad of ["", "   ", "A".repeat(25), "Bo\u0007b", "Bo\u0000", "Evil\u202Eknip"]) {
      const error = await refused(c.request("join_session", { pseudonym: bad }));
      expect(error.code, JSON.stringify(bad)).toBe("INVALID_PSEUDONYM");
      expect(error.message.length).toBeGreaterThan(10);
    }
    // The refusals left the connection free to join.
    const joined = await c.request("join_session", { pseudonym: "  Ana  " });
    expect(joined.pseudonym).toBe("Ana");
    expect(joined.snapshot.you.pseudonym).toBe("Ana");
    expect((await join$(code, "B".repeat(24))).joined.pseudonym).toBe("B".repeat(24));
    expect((await join$(code, "🍷".repeat(24))).joined.pseudonym).toBe("🍷".repeat(24));
    const lobby = await c.until("lobby:updated", (l) => l.participants.length === 3);
    expect(lobby.participants.map((p: { pseudonym: string }) => p.pseudonym)).toEqual(["Ana", "B".repeat(24), "🍷".repeat(24)]);
  });

  test("pseudonyms are unique in a session, case-insensitively", async () => {
    const code = await createSession(arena.url, newHost());
    await join$(code, "Ana");
    const c = await connect$(code);
    for (const taken of ["Ana", "ana", "ANA", "  aNa "]) {
      const error = await refused(c.request("join_session", { pseudonym: taken }));
      expect(error.code, taken).toBe("PSEUDONYM_TAKEN");
      expect(error.message).toContain("pseudonym");
    }
    expect((await c.request("join_session", { pseudonym: "Anabel" })).pseudonym).toBe("Anabel");
    // The same name is free in another session.
    const other = await createSession(arena.url, newHost());
    expect((await join$(other, "ana")).joined.pseudonym).toBe("ana");
  });
});

// ---------------------------------------------------------------------------------------

describe("joining during the game", () => {
  test("a late joiner starts at 0 with the open question in its snapshot, and may answer it", async () => {
    const { code, h, q, players: [ana] } = await game$({ pseudonyms: ["Ana"] });
    await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });

    const late = await join$(code, "Late");
    const snap = late.joined.snapshot;
    expect(snap).toMatchObject({ phase: "question_open", yourAnswer: null, reveal: null, you: { pseudonym: "Late", score: 0 } });
    expect(snap.question).toMatchObject({ questionId: q.questionId, options: q.options, category: "color", paused: false });
    expect(snap.question!.remainingMs).toBeGreaterThan(0);
    expect(snap.question).not.toHaveProperty("correctOptionId");
    // The host's count now counts the late joiner.
    await h.until("game:participant_answered", (d) => d.questionId === q.questionId && d.participantCount === 2 && d.answeredCount === 1);

    await late.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
    await h.request("host:reveal");
    expect(await late.until("game:answer_revealed")).toMatchObject({ correct: true, points: 100, score: 100 });
  });

  test("host:lock refuses new participants (SESSION_LOCKED), unlock lets them in, a session that ended refuses them (SESSION_ENDED)", async () => {
    const { code, h, players: [ana] } = await game$({ pseudonyms: ["Ana"] });

    expect(await h.request("host:lock")).toEqual({ phase: "question_open" });
    await ana.until("lobby:updated", (l) => l.locked === true);
    const bo = await connect$(code);
    const locked = await refused(bo.request("join_session", { pseudonym: "Bo" }));
    expect(locked.code).toBe("SESSION_LOCKED");
    expect(locked.message).toMatch(/locked/i);
    // Who already joined still gets back in with their token.
    const again = await rejoin$(code, ana.joined.rejoinToken);
    expect(again.snapshot.you.pseudonym).toBe("Ana");

    await h.request("host:lock", { locked: false });
    await ana.until("lobby:updated", (l) => l.locked === false);
    const joined = await bo.request("join_session", { pseudonym: "Bo" });
    expect(joined.snapshot).toMatchObject({ phase: "question_open", locked: false, you: { score: 0 } });

    await h.request("host:end");
    await ana.until("session:ended");
    const cy = await connect$(code);
    const ended = await refused(cy.request("join_session", { pseudonym: "Cy" }));
    expect(ended.code).toBe("SESSION_ENDED");
    expect(ended.message).toMatch(/ended/i);
  });
});

// ---------------------------------------------------------------------------------------

describe("phases", () => {
  test("a two-wine game goes through every phase, each transition sending its events to the right clients", async () => {
    const host = newHost();
    const code = await createSession(arena.url, host, sessionInput(2));
    const h = await host$(code, host);
    expect(h.snapshot.phase).toBe("waiting");
    const ana = await join$(code, "Ana");
    const bo = await join$(code, "Bo");
    const everyone = [h, ana, bo];

    // waiting → question_open: everyone gets the first question, without its answer.
    expect(await h.request("host:start")).toEqual({ phase: "question_open" });
    expect(await refused(h.request("host:start"))).toMatchObject({ code: "WRONG_PHASE" });
    for (const c of everyone) {
      const q = await questionAt(c, 0, 0);
      expect(Object.keys(q).sort()).toEqual(
        ["category", "durationMs", "options", "prompt", "questionId", "questionIndex", "remainingMs", "roundCount", "roundIndex"].sort(),
      );
      expect(q).toMatchObject({ roundCount: 2, category: "color", prompt: PROMPTS.color, durationMs: 60_000 });
      expect(q.options.map((o: { id: string }) => o.id)).toEqual(["A", "B", "C", "D"]);
      expect(q.options.map((o: { text: string }) => o.text).sort()).toEqual(["Orange", "Red", "Rosé", "White"]);
      expect(q.remainingMs).toBeGreaterThan(55_000);
      expect(q.remainingMs).toBeLessThanOrEqual(60_000);
    }
    const q1 = await questionAt(ana, 0, 0);
    expect(await refused(h.request("host:next"))).toMatchObject({ code: "WRONG_PHASE", message: expect.stringMatching(/reveal/i) });

    // question_open → question_paused → question_open.
    expect(await h.request("host:pause")).toEqual({ phase: "question_paused" });
    const paused = await ana.until("game:timer_paused");
    expect(paused.questionId).toBe(q1.questionId);
    expect(paused.remainingMs).toBeGreaterThan(0);
    for (const c of [h, bo]) expect(await c.until("game:timer_paused")).toEqual(paused);
    const looking = await rejoin$(code, ana.joined.rejoinToken);
    expect(looking.snapshot).toMatchObject({ phase: "question_paused", question: { questionId: q1.questionId, paused: true, remainingMs: paused.remainingMs } });
    looking.close();
    expect(await h.request("host:resume")).toEqual({ phase: "question_open" });
    for (const c of everyone) expect(await c.until("game:timer_resumed")).toEqual({ questionId: q1.questionId, remainingMs: paused.remainingMs });

    // question_open → question_revealed: participants get their own result, the host everything.
    const red = optionId(q1, "Red");
    const white = optionId(q1, "White");
    await ana.request("submit_answer", { questionId: q1.questionId, optionId: red });
    await bo.request("submit_answer", { questionId: q1.questionId, optionId: white });
    expect(await h.request("host:reveal")).toEqual({ phase: "question_revealed" });
    expect(await ana.until("game:answer_revealed")).toEqual({
      questionId: q1.questionId,
      correctOptionId: red,
      yourOptionId: red,
      correct: true,
      points: 100,
      score: 100,
    });
    expect(await bo.until("game:answer_revealed")).toEqual({
      questionId: q1.questionId,
      correctOptionId: red,
      yourOptionId: white,
      correct: false,
      points: 0,
      score: 0,
    });
    const counts = { A: 0, B: 0, C: 0, D: 0, [red]: 1, [white]: 1 };
    expect(await h.until("game:answer_revealed")).toEqual({
      questionId: q1.questionId,
      correctOptionId: red,
      counts,
      answeredCount: 2,
      participantCount: 2,
      results: [
        { participantId: ana.joined.participantId, pseudonym: "Ana", optionId: red, correct: true, points: 100, score: 100 },
        { participantId: bo.joined.participantId, pseudonym: "Bo", optionId: white, correct: false, points: 0, score: 0 },
      ],
    });

    // question_revealed → the wine's next questions, in category order.
    for (let i = 1; i < 5; i++) {
      expect(await h.request("host:next")).toEqual({ phase: "question_open" });
      for (const c of everyone) expect(await questionAt(c, 0, i)).toMatchObject({ category: CATEGORIES[i], prompt: PROMPTS[CATEGORIES[i]!] });
      expect(await h.request("host:reveal")).toEqual({ phase: "question_revealed" });
    }

    // After the 5th question: round_leaderboard, then the next wine's first question.
    expect(await h.request("host:next")).toEqual({ phase: "round_leaderboard" });
    const round1 = { roundIndex: 0, roundCount: 2, wineName: "Château Test 1", rankings: [{ pseudonym: "Ana", score: 100, rank: 1 }, { pseudonym: "Bo", score: 0, rank: 2 }] };
    for (const c of everyone) expect(await c.until("game:round_leaderboard")).toEqual(round1);
    expect(await h.request("host:next")).toEqual({ phase: "question_open" });
    const w2q1 = await questionAt(bo, 1, 0);
    expect(w2q1).toMatchObject({ category: "color" });
    expect(w2q1.questionId).not.toBe(q1.questionId);
    await bo.request("submit_answer", { questionId: w2q1.questionId, optionId: optionId(w2q1, "Red") });
    await h.request("host:reveal");
    for (let i = 1; i < 5; i++) {
      await h.request("host:next");
      await questionAt(ana, 1, i);
      await h.request("host:reveal");
    }
    expect(await h.request("host:next")).toEqual({ phase: "round_leaderboard" });
    const tied = [{ pseudonym: "Ana", score: 100, rank: 1 }, { pseudonym: "Bo", score: 100, rank: 1 }];
    for (const c of everyone) {
      expect(await c.until("game:round_leaderboard", (l) => l.roundIndex === 1)).toEqual({ roundIndex: 1, roundCount: 2, wineName: "Château Test 2", rankings: tied });
    }

    // The last round_leaderboard → final_leaderboard and session:ended (completed).
    expect(await h.request("host:next")).toEqual({ phase: "ended" });
    for (const c of everyone) {
      expect(await c.until("game:final_leaderboard")).toEqual({ rankings: tied });
      expect(await c.until("session:ended")).toEqual({ reason: "completed", rankings: tied });
    }
    expect(await refused(h.request("host:next"))).toMatchObject({ code: "WRONG_PHASE" });
    // The host index records the completed game with its final rankings.
    expect((await hostIndex(host))[0]).toMatchObject({ code, status: "ended", participantCount: 2, finalRankings: tied });

    const wineEvents = (first: string[]) => [...first, ...Array.from({ length: 4 }, () => ["game:question", "game:answer_revealed"]).flat(), "game:round_leaderboard"];
    const expected = [
      ...wineEvents(["game:question", "game:timer_paused", "game:timer_resumed", "game:answer_revealed"]),
      ...wineEvents(["game:question", "game:answer_revealed"]),
      "game:final_leaderboard",
      "session:ended",
    ];
    for (const c of everyone) expect(gameEvents(c)).toEqual(expected);
  });

  test("host:start without participants is refused with NO_PARTICIPANTS and the session keeps waiting", async () => {
    const host = newHost();
    const code = await createSession(arena.url, host);
    const h = await host$(code, host);
    const error = await refused(h.request("host:start"));
    expect(error.code).toBe("NO_PARTICIPANTS");
    expect(error.message).toMatch(/participant/);
    const ana = await join$(code, "Ana");
    expect(ana.joined.snapshot.phase).toBe("waiting");
    expect(await h.request("host:start")).toEqual({ phase: "question_open" });
  });

  test("host:end ends the session from any phase with reason host_ended, telling everyone", async () => {
    const reach: Record<string, (h: Recorded, ana: Recorded) => Promise<void>> = {
      waiting: async () => {},
      question_open: async (h, ana) => {
        await h.request("host:start");
        await ana.until("game:question");
      },
      question_paused: async (h) => {
        await h.request("host:start");
        await h.request("host:pause");
      },
      question_revealed: async (h) => {
        await h.request("host:start");
        await h.request("host:reveal");
      },
      round_leaderboard: async (h) => {
        await h.request("host:start");
        for (let i = 0; i < 5; i++) {
          if (i > 0) await h.request("host:next");
          await h.request("host:reveal");
        }
        expect(await h.request("host:next")).toEqual({ phase: "round_leaderboard" });
      },
    };
    for (const [phase, go] of Object.entries(reach)) {
      const host = newHost();
      const code = await createSession(arena.url, host, sessionInput(2));
      const h = await host$(code, host);
      const ana = await join$(code, "Ana");
      await go(h, ana);
      const before = await rejoin$(code, ana.joined.rejoinToken);
      expect(before.snapshot.phase).toBe(phase);
      expect(await h.request("host:end")).toEqual({ phase: "ended" });
      const rankings = [{ pseudonym: "Ana", score: 0, rank: 1 }];
      for (const c of [h, ana]) {
        expect(await c.until("game:final_leaderboard")).toEqual({ rankings });
        expect(await c.until("session:ended"), phase).toEqual({ reason: "host_ended", rankings });
      }
      const after = await rejoin$(code, ana.joined.rejoinToken);
      expect(after.snapshot).toMatchObject({ phase: "ended", endReason: "host_ended", finalRankings: rankings, question: null });
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("answering", () => {
  test("an answer may change while open and while paused; the last one counts", async () => {
    const { h, q: q1, players: [ana, bo] } = await game$();

    // Question 1: wrong, then wrong again, then (paused) right → 100.
    const answer = (c: Recorded, q: any, text: string) => c.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, text) });
    expect(await answer(ana, q1, "White")).toEqual({ questionId: q1.questionId, optionId: optionId(q1, "White") });
    await answer(ana, q1, "Rosé");
    await h.request("host:pause");
    expect(await answer(ana, q1, "Red")).toEqual({ questionId: q1.questionId, optionId: optionId(q1, "Red") });
    await h.request("host:resume");
    await answer(bo, q1, "Orange");
    await h.request("host:reveal");
    expect(await ana.until("game:answer_revealed")).toMatchObject({ yourOptionId: optionId(q1, "Red"), correct: true, points: 100, score: 100 });
    const r1 = await h.until("game:answer_revealed");
    expect(r1.counts).toEqual({ A: 0, B: 0, C: 0, D: 0, [optionId(q1, "Red")]: 1, [optionId(q1, "Orange")]: 1 });
    expect(r1.answeredCount).toBe(2);

    // The host heard of each participant's first answer only: counts 1 then 2.
    const answered = h.of("game:participant_answered").filter((d) => d.questionId === q1.questionId);
    expect(answered).toEqual([
      { questionId: q1.questionId, answeredCount: 1, participantCount: 2 },
      { questionId: q1.questionId, answeredCount: 2, participantCount: 2 },
    ]);

    // Question 2: right, then (paused) wrong → 0; the score stays 100.
    await h.request("host:next");
    const q2 = await ana.until("game:question", (q) => q.questionIndex === 1);
    await answer(ana, q2, "France");
    await h.request("host:pause");
    await answer(ana, q2, "Chile");
    await h.request("host:reveal");
    expect(await ana.until("game:answer_revealed", (r) => r.questionId === q2.questionId)).toEqual({
      questionId: q2.questionId,
      correctOptionId: optionId(q2, "France"),
      yourOptionId: optionId(q2, "Chile"),
      correct: false,
      points: 0,
      score: 100,
    });
    expect(h.of("game:participant_answered").filter((d) => d.questionId === q2.questionId).map((d) => d.answeredCount)).toEqual([1]);
  });

  test("answers for a closed, past, unknown or other question, an unknown option, or before joining are refused and change nothing", async () => {
    const host = newHost();
    const code = await createSession(arena.url, host);
    const h = await host$(code, host);
    const ana = await join$(code, "Ana");
    const stranger = await connect$(code);

    const early = await refused(ana.request("submit_answer", { questionId: "w1q1", optionId: "A" }));
    expect(early).toMatchObject({ code: "QUESTION_CLOSED", message: expect.stringMatching(/not started/) });

    await h.request("host:start");
    const q1 = await ana.until("game:question");
    const red = optionId(q1, "Red");
    expect(await refused(stranger.request("submit_answer", { questionId: q1.questionId, optionId: red }))).toMatchObject({ code: "NOT_JOINED" });
    expect(await refused(h.request("submit_answer", { questionId: q1.questionId, optionId: red }))).toMatchObject({ code: "NOT_JOINED" });

    await ana.request("submit_answer", { questionId: q1.questionId, optionId: red });
    const unknownOption = await refused(ana.request("submit_answer", { questionId: q1.questionId, optionId: "E" }));
    expect(unknownOption.code).toBe("UNKNOWN_OPTION");
    expect(unknownOption.message).toContain('"E"');
    const wrongQuestion = await refused(ana.request("submit_answer", { questionId: "no-such-question", optionId: red }));
    expect(wrongQuestion.code).toBe("WRONG_QUESTION");
    expect(wrongQuestion.message).toContain(q1.questionId);

    await h.request("host:reveal");
    // The refused answers did not replace Ana's: she scores for Red.
    expect(await ana.until("game:answer_revealed")).toMatchObject({ yourOptionId: red, correct: true, score: 100 });
    const wrong = optionId(q1, "White");
    const closed = await refused(ana.request("submit_answer", { questionId: q1.questionId, optionId: wrong }));
    expect(closed.code).toBe("QUESTION_CLOSED");
    expect(closed.message).toMatch(/closed/);

    await h.request("host:next");
    const q2 = await ana.until("game:question", (q) => q.questionIndex === 1);
    const past = await refused(ana.request("submit_answer", { questionId: q1.questionId, optionId: wrong }));
    expect(past.code).toBe("QUESTION_CLOSED");
    expect(past.message).toContain(q2.questionId);
    // A later question of the session is not open yet: not "closed".
    const future = await refused(ana.request("submit_answer", { questionId: "w1q3", optionId: wrong }));
    expect(future).toMatchObject({ code: "WRONG_QUESTION", message: expect.stringContaining("not open") });
    // The revealed result stands (a fresh snapshot still shows 100).
    await h.request("host:reveal");
    const again = await rejoin$(code, ana.joined.rejoinToken);
    expect(again.snapshot.you.score).toBe(100);
    // No refused answer was counted for the host.
    expect(h.of("game:participant_answered").map((d) => [d.questionId, d.answeredCount])).toEqual([[q1.questionId, 1]]);
  });
});

// ---------------------------------------------------------------------------------------

test("100 points per correct answer; equal scores share a rank (200, 200, 100 → 1, 1, 3) in round and final leaderboards", async () => {
  const { code, h, players: [ana, bo, cy] } = await game$({ pseudonyms: ["Ana", "Bo", "Cy"] });
  const plan: Array<Record<string, string>> = [
    { Ana: "Red", Bo: "Red", Cy: "Red" },
    { Ana: "France", Bo: "Italy" },
    { Ana: "Syrah", Bo: "Merlot", Cy: "Syrah" },
    {},
    {},
  ];
  const players: Record<string, Recorded> = { Ana: ana, Bo: bo, Cy: cy };
  const questionIds: string[] = [];
  for (const [i, answers] of plan.entries()) {
    if (i > 0) await h.request("host:next");
    const q = await questionAt(ana, 0, i);
    questionIds.push(q.questionId);
    for (const [name, text] of Object.entries(answers)) await players[name]!.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, text) });
    await h.request("host:reveal");
    const results = (await h.until("game:answer_revealed", (r) => r.questionId === q.questionId)).results;
    for (const r of results) expect(r.points, `${r.pseudonym} on question ${i + 1}`).toBe(r.correct ? 100 : 0);
  }
  // Cy did not answer question 2: no points, the total stays.
  expect(await cy.until("game:answer_revealed", (r) => r.questionId === questionIds[1])).toMatchObject({ yourOptionId: null, correct: false, points: 0, score: 100 });

  const rankings = [
    { pseudonym: "Ana", score: 200, rank: 1 },
    { pseudonym: "Bo", score: 200, rank: 1 },
    { pseudonym: "Cy", score: 100, rank: 3 },
  ];
  await h.request("host:next");
  for (const c of [h, ana, bo, cy]) expect((await c.until("game:round_leaderboard")).rankings).toEqual(rankings);
  await h.request("host:next");
  for (const c of [h, ana, bo, cy]) {
    expect((await c.until("game:final_leaderboard")).rankings).toEqual(rankings);
    expect(await c.until("session:ended")).toEqual({ reason: "completed", rankings });
  }
  const back = await rejoin$(code, cy.joined.rejoinToken);
  expect(back.snapshot.you).toMatchObject({ pseudonym: "Cy", score: 100, rank: 3 });
  expect(back.snapshot.finalRankings).toEqual(rankings);
});

// ---------------------------------------------------------------------------------------

test("the host index follows a session from waiting to live to ended with its final rankings, newest first", async () => {
  const host = newHost();
  const code = await createSession(arena.url, host, sessionInput(1, { title: "First tasting" }));
  const [created] = await hostIndex(host);
  expect(created).toEqual({ code, title: "First tasting", createdAt: expect.any(Number), status: "waiting", participantCount: 0 });
  expect(Math.abs(created!.createdAt - Date.now())).toBeLessThan(60_000);

  const h = await host$(code, host);
  const ana = await join$(code, "Ana");
  await join$(code, "Bo");
  await h.request("host:start");
  expect(await hostIndex(host)).toEqual([{ ...created, status: "live", participantCount: 2 }]);

  const q = await ana.until("game:question");
  await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
  await h.request("host:reveal");
  await h.request("host:end");
  const final = await h.until("game:final_leaderboard");
  expect(final.rankings).toEqual([
    { pseudonym: "Ana", score: 100, rank: 1 },
    { pseudonym: "Bo", score: 0, rank: 2 },
  ]);
  expect(await hostIndex(host)).toEqual([{ ...created, status: "ended", participantCount: 2, finalRankings: final.rankings }]);

  const second = await createSession(arena.url, host, sessionInput(1, { title: "Second tasting" }));
  const index = await hostIndex(host);
  expect(index.map((e) => [e.title, e.code, e.status])).toEqual([
    ["Second tasting", second, "waiting"],
    ["First tasting", code, "ended"],
  ]);
  expect(index[0]!.createdAt).toBeGreaterThanOrEqual(index[1]!.createdAt);
});

test("update_session edits the title and timer while waiting (lobby:updated), refuses invalid input clearly and anything after the start", async () => {
  const host = newHost();
  const code = await createSession(arena.url, host);
  const h = await host$(code, host);
  const ana = await join$(code, "Ana");

  const invalid = await refused(h.request("update_session", sessionInput(1, { timerSeconds: 5 })));
  expect(invalid.code).toBe("INVALID_TIMER");
  expect(invalid.message).toMatch(/15 to 120/);
  const many = await refused(h.request("update_session", { ...sessionInput(1), title: "", wines: [] }));
  expect(many.code).toBe("INVALID_TITLE");
  expect(many.message).toMatch(/1 more problem/);

  expect(await h.request("update_session", sessionInput(2, { title: "Saturday tasting", timerSeconds: 30 }))).toEqual({ phase: "waiting" });
  const lobby = await ana.until("lobby:updated", (l) => l.title === "Saturday tasting");
  expect(lobby).toMatchObject({ timerSeconds: 30, roundCount: 2, locked: false });
  // The refused updates sent nothing: the only title change Ana saw is the accepted one.
  expect(new Set(ana.of("lobby:updated").map((l) => `${l.title}/${l.timerSeconds}`))).toEqual(new Set(["Friday tasting/60", "Saturday tasting/30"]));
  expect((await hostIndex(host))[0]).toMatchObject({ code, title: "Saturday tasting" });

  await h.request("host:start");
  const q = await ana.until("game:question");
  expect(q).toMatchObject({ durationMs: 30_000, roundCount: 2 });
  const late = await refused(h.request("update_session", sessionInput(1, { title: "Too late" })));
  expect(late.code).toBe("WRONG_PHASE");
  expect(late.message).toMatch(/before it starts/);
  const again = await connectHost(arena.url, code, host);
  track(again);
  expect(again.snapshot).toMatchObject({ title: "Saturday tasting", timerSeconds: 30, phase: "question_open" });
});
