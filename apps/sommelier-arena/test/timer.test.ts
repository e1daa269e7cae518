/**
 * The question timer as players live it: it ticks once a second, the host can pause and
 * resume it, and when it runs out the answer is revealed without the host, exactly once.
 */
import { afterEach, expect, test } from "vitest";
import type { ParticipantReveal, QuestionView, TimerUpdate } from "../src/shared/protocol.js";
import { optionId, participantSnapshot, refused, sessionInput, startArena, startGame, wine, type Arena, type Participant, type Recorded } from "./helpers.js";

let arena: Arena;
afterEach(() => arena?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `event`s `c` received so far, each with its arrival time. */
const arrivals = <T>(c: Recorded, event: string): Array<{ at: number; data: T }> => c.frames.filter((f) => f.event === event);

/** A started one-wine session of `timerSeconds` with a host and the participant Ana, the first question open. */
async function startedGame(timerSeconds: number) {
  const { code, h, q, players: [ana] } = await startGame(arena.url, { pseudonyms: ["Ana"], input: sessionInput(1, { timerSeconds }) });
  return { code, h, ana, q };
}

/** Ana's snapshot as a second tab of hers would draw it now. */
const anaSnapshot = (code: string, ana: Participant) => participantSnapshot(arena.url, code, ana.joined.rejoinToken);

test("the open question's timer ticks about once a second with less time left each time", async () => {
  arena = await startArena({ minTimerSeconds: 2 });
  const { ana, q } = await startedGame(4);
  expect(q.durationMs).toBe(4000);
  expect(q.remainingMs).toBeGreaterThan(3800);
  await ana.until("game:answer_revealed", () => true, 8000);
  const ticks = arrivals<TimerUpdate>(ana, "game:timer_tick");
  const questions = arrivals<QuestionView>(ana, "game:question");

  // 4 s: ticks at about 3 s, 2 s and 1 s left.
  expect(ticks.length).toBeGreaterThanOrEqual(3);
  expect(ticks.length).toBeLessThanOrEqual(4);
  const openedAt = questions[0]!.at;
  for (const { at, data } of ticks) {
    expect(data.questionId).toBe(q.questionId);
    // Each tick tells the time actually left: what has run since the question opened, from 4 s.
    expect(Math.abs(data.remainingMs + (at - openedAt) - 4000), `tick ${data.remainingMs} ms left at +${at - openedAt} ms`).toBeLessThanOrEqual(300);
  }
  expect(ticks[0]!.at - openedAt).toBeGreaterThan(700);
  for (let i = 1; i < ticks.length; i++) {
    expect(ticks[i]!.data.remainingMs).toBeLessThan(ticks[i - 1]!.data.remainingMs);
    expect(ticks[i]!.at - ticks[i - 1]!.at).toBeGreaterThan(700);
    expect(ticks[i]!.at - ticks[i - 1]!.at).toBeLessThan(1500);
  }
});

test("a paused question stops ticking and keeps its time; resumed, it ticks on from there and still expires by itself", async () => {
  arena = await startArena({ minTimerSeconds: 2 });
  const { code, h, ana, q } = await startedGame(4);
  const ticks = () => arrivals<TimerUpdate>(ana, "game:timer_tick");
  await ana.until("game:timer_tick");

  expect(await h.request("host:pause")).toEqual({ phase: "question_paused" });
  const paused: TimerUpdate = await ana.until("game:timer_paused");
  expect(paused.questionId).toBe(q.questionId);
  expect(paused.remainingMs).toBeGreaterThan(2000);
  expect(paused.remainingMs).toBeLessThan(3100);
  const ticksWhenPaused = ticks().length;

  const before = await anaSnapshot(code, ana);
  expect(before.phase).toBe("question_paused");
  expect(before.question).toMatchObject({ questionId: q.questionId, paused: true, remainingMs: paused.remainingMs });
  // Longer than a tick: a running timer would have ticked and lost time.
  await sleep(1600);
  const after = await anaSnapshot(code, ana);
  expect(after.phase).toBe("question_paused");
  expect(after.question).toMatchObject({ questionId: q.questionId, paused: true, remainingMs: paused.remainingMs });
  expect(ticks().length).toBe(ticksWhenPaused);
  expect(ana.of("game:answer_revealed")).toEqual([]);

  const resumedAt = Date.now();
  expect(await h.request("host:resume")).toEqual({ phase: "question_open" });
  const resumed: TimerUpdate = await ana.until("game:timer_resumed");
  expect(resumed).toEqual({ questionId: q.questionId, remainingMs: paused.remainingMs });

  const nextTick = await ana.until("game:timer_tick", () => ticks().length > ticksWhenPaused).then(() => ticks()[ticksWhenPaused]!);
  expect(nextTick.data.remainingMs).toBeGreaterThan(paused.remainingMs - 1300);
  expect(nextTick.data.remainingMs).toBeLessThan(paused.remainingMs - 700);

  // Nobody reveals: the timer does, once the paused time has run out again.
  const reveal: ParticipantReveal = await ana.until("game:answer_revealed", () => true, 8000);
  const elapsed = Date.now() - resumedAt;
  expect(reveal.questionId).toBe(q.questionId);
  expect(elapsed).toBeGreaterThan(paused.remainingMs - 300);
  expect(elapsed).toBeLessThan(paused.remainingMs + 800);
});

test("when time is up the answer is revealed without the host, and later answers are refused", async () => {
  arena = await startArena({ minTimerSeconds: 2 });
  const { code, h, q, players: [ana, bo] } = await startGame(arena.url, { input: sessionInput(1, { timerSeconds: 2 }) });
  const openedAt = arrivals(ana, "game:question")[0]!.at;
  await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });

  const reveal: ParticipantReveal = await ana.until("game:answer_revealed", () => true, 6000);
  expect(arrivals(ana, "game:answer_revealed")[0]!.at - openedAt).toBeGreaterThan(1800);
  expect(reveal).toEqual({ questionId: q.questionId, correctOptionId: optionId(q, "Red"), yourOptionId: optionId(q, "Red"), correct: true, points: 100, score: 100 });
  expect(await bo.until("game:answer_revealed")).toMatchObject({ questionId: q.questionId, yourOptionId: null, correct: false, points: 0, score: 0 });
  expect(await h.until("game:answer_revealed")).toMatchObject({ questionId: q.questionId, answeredCount: 1 });

  const late = await refused(bo.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") }));
  expect(late.code).toBe("QUESTION_CLOSED");
  const changed = await refused(ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "White") }));
  expect(changed.code).toBe("QUESTION_CLOSED");
  const snapshot = await anaSnapshot(code, ana);
  expect(snapshot.phase).toBe("question_revealed");
  expect(snapshot.yourAnswer).toBe(optionId(q, "Red"));
  expect(snapshot.you.score).toBe(100);
});

test("a host reveal racing the timer's expiry reveals each question once and counts its points once", async () => {
  arena = await startArena({ minTimerSeconds: 2 });
  // 4 sessions × 5 questions: host:reveal is sent from 25 ms before to 15 ms after the
  // deadline the last tick announces, so some arrive just before and some just after expiry.
  const offsets = [-25, -15, -10, -6, -3, -1, 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, -20, -8, -2];
  const sessions = 4;
  const winners = { timer: 0, host: 0 };
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const { code, h, players: [ana, bo] } = await startGame(arena.url, { input: sessionInput(1, { timerSeconds: 2 }) });
      const correct = wine(1).questions.map((question) => question.correctAnswer);
      const asked: string[] = [];
      for (let i = 0; i < 5; i++) {
        const q: QuestionView = await ana.until("game:question", (d) => d.questionIndex === i);
        asked.push(q.questionId);
        await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, correct[i]!) });
        await bo.request("submit_answer", { questionId: q.questionId, optionId: q.options.find((o) => o.text !== correct[i])!.id });
        await h.until("game:timer_tick", (d) => d.questionId === q.questionId);
        const tick = arrivals<TimerUpdate>(h, "game:timer_tick").find((t) => t.data.questionId === q.questionId)!;
        const fireAt = tick.at + tick.data.remainingMs + offsets[(s * 5 + i) % offsets.length]!;
        await sleep(Math.max(0, fireAt - Date.now()));
        // Whether the timer got there first (its reveal already here when the host sends).
        if (h.of("game:answer_revealed").some((d) => d.questionId === q.questionId)) winners.timer++;
        else winners.host++;
        expect(await h.request("host:reveal")).toEqual({ phase: "question_revealed" });
        await ana.until("game:answer_revealed", (d) => d.questionId === q.questionId);
        await bo.until("game:answer_revealed", (d) => d.questionId === q.questionId);
        await h.request("host:next");
      }
      const board = await ana.until("game:round_leaderboard");
      expect(board.rankings).toEqual([
        { pseudonym: "Ana", score: 500, rank: 1 },
        { pseudonym: "Bo", score: 0, rank: 2 },
      ]);
      // Everything a double reveal would have sent came before the leaderboard.
      for (let i = 0; i < 5; i++) {
        const questionId = asked[i]!;
        const anaReveals: ParticipantReveal[] = ana.of("game:answer_revealed").filter((d) => d.questionId === questionId);
        expect(anaReveals, `session ${s}, question ${questionId}: Ana's reveals`).toHaveLength(1);
        expect(anaReveals[0]).toMatchObject({ correct: true, points: 100, score: 100 * (i + 1) });
        expect(bo.of("game:answer_revealed").filter((d) => d.questionId === questionId)).toHaveLength(1);
        const hostReveals = h.of("game:answer_revealed").filter((d) => d.questionId === questionId);
        expect(hostReveals).toHaveLength(1);
        expect(hostReveals[0].results.find((r: { pseudonym: string }) => r.pseudonym === "Ana").score).toBe(100 * (i + 1));
      }
      const snapshot = await anaSnapshot(code, ana);
      expect(snapshot.you.score).toBe(500);
    }),
  );
  // Both orders happened, so both paths were checked for double counting.
  expect(winners.timer, JSON.stringify(winners)).toBeGreaterThan(0);
  expect(winners.host, JSON.stringify(winners)).toBeGreaterThan(0);
});
