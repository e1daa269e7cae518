/**
 * The host going away mid-game: participants are told, the open question still closes on
 * time, the game then waits, and after the grace period the session ends by itself with its
 * results recorded. A host coming back in time carries on as if nothing happened.
 */
import { afterEach, expect, test } from "vitest";
import type { HostAway, ParticipantReveal, SessionEnded } from "../src/shared/protocol.js";
import {
  connectHost,
  hostIndex as hostIndexOf,
  optionId,
  participantSnapshot,
  refused,
  sessionInput,
  startArena,
  startGame,
  type Arena,
  type Host,
  type Participant,
} from "./helpers.js";

let arena: Arena;
afterEach(() => arena?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A started session with a host tab and participants Ana and Bo, the first question open. */
async function liveGame(timerSeconds = 60) {
  const { host, code, h, q, players: [ana, bo] } = await startGame(arena.url, { input: sessionInput(1, { timerSeconds }) });
  return { host, code, h, ana, bo, q };
}

/** What a participant's second tab would draw now. */
const snapshotOf = (code: string, who: Participant) => participantSnapshot(arena.url, code, who.joined.rejoinToken);

const hostIndex = (host: Host) => hostIndexOf(arena.url, host);

test("participants are told when the host leaves and comes back, and a host back in time carries on past the grace period", async () => {
  arena = await startArena({ hostGraceMs: 2000, minTimerSeconds: 2 });
  const { host, code, h, ana, bo, q } = await liveGame();

  const closedAt = Date.now();
  h.close();
  const away: HostAway = await ana.until("session:host_away");
  expect(away.graceEndsAt).toBeGreaterThanOrEqual(closedAt + 2000 - 50);
  expect(away.graceEndsAt).toBeLessThan(closedAt + 2000 + 500);
  expect(await bo.until("session:host_away")).toEqual(away);
  const whileAway = await snapshotOf(code, ana);
  expect(whileAway).toMatchObject({ phase: "question_open", hostConnected: false, graceEndsAt: away.graceEndsAt });

  // The host's laptop wakes up: a new client, same identity, within the grace period.
  const back = await connectHost(arena.url, code, host);
  expect(back.snapshot).toMatchObject({ phase: "question_open", hostConnected: true, graceEndsAt: null });
  expect(back.snapshot.question?.questionId).toBe(q.questionId);
  await ana.until("session:host_back");
  await bo.until("session:host_back");
  expect(await back.request("host:reveal")).toEqual({ phase: "question_revealed" });
  expect(await back.request("host:next")).toEqual({ phase: "question_open" });
  await ana.until("game:question", (d) => d.questionIndex === 1);

  // The old grace period passes: the session goes on.
  await sleep(away.graceEndsAt + 1000 - Date.now());
  expect(ana.of("session:ended")).toEqual([]);
  expect(bo.of("session:ended")).toEqual([]);
  const later = await snapshotOf(code, ana);
  expect(later).toMatchObject({ phase: "question_open", hostConnected: true, graceEndsAt: null });
  expect(later.question?.questionIndex).toBe(1);
  expect(await back.request("host:reveal")).toEqual({ phase: "question_revealed" });
  expect((await hostIndex(host))[0]).toMatchObject({ code, status: "live" });
});

test("while the host is away the open question still closes on time, then the game waits", async () => {
  arena = await startArena({ hostGraceMs: 3000, minTimerSeconds: 2 });
  const { code, h, ana, bo, q } = await liveGame(2);
  await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
  h.close();
  const away: HostAway = await ana.until("session:host_away");

  const reveal: ParticipantReveal = await ana.until("game:answer_revealed", () => true, 5000);
  expect(reveal).toMatchObject({ questionId: q.questionId, correct: true, points: 100, score: 100 });
  expect(Date.now()).toBeLessThan(away.graceEndsAt);
  expect((await refused(bo.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") }))).code).toBe("QUESTION_CLOSED");
  expect(await snapshotOf(code, bo)).toMatchObject({ phase: "question_revealed", hostConnected: false });

  // Nothing moves on without the host until the grace period ends the session.
  const ended: SessionEnded = await ana.until("session:ended", () => true, 6000);
  expect(ended.reason).toBe("host_away");
  expect(ana.of("game:question")).toHaveLength(1);
  expect(ana.of("game:round_leaderboard")).toEqual([]);
  const seen = ana.frames.map((f) => f.event).filter((e) => !e.startsWith("$") && e !== "game:timer_tick");
  expect(seen.slice(seen.indexOf("game:question"))).toEqual([
    "game:question",
    "session:host_away",
    "game:answer_revealed",
    "game:final_leaderboard",
    "session:ended",
  ]);
});

test("after the grace period the session ends by itself and its final rankings are recorded for the host", async () => {
  arena = await startArena({ hostGraceMs: 2000, minTimerSeconds: 2 });
  const { host, code, h, ana, bo, q } = await liveGame();
  await ana.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "Red") });
  await bo.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, "White") });
  await h.request("host:reveal");
  await bo.until("game:answer_revealed");
  h.close();
  const away: HostAway = await ana.until("session:host_away");

  const ended: SessionEnded = await ana.until("session:ended", () => true, 6000);
  expect(Date.now()).toBeGreaterThanOrEqual(away.graceEndsAt - 50);
  const rankings = [
    { pseudonym: "Ana", score: 100, rank: 1 },
    { pseudonym: "Bo", score: 0, rank: 2 },
  ];
  expect(ended).toEqual({ reason: "host_away", rankings });
  expect(await bo.until("session:ended")).toEqual(ended);
  expect(await ana.until("game:final_leaderboard")).toEqual({ rankings });

  const [entry] = await hostIndex(host);
  expect(entry).toMatchObject({ code, status: "ended", participantCount: 2, finalRankings: rankings });
  expect(await snapshotOf(code, bo)).toMatchObject({ phase: "ended", endReason: "host_away", finalRankings: rankings });
  // Too late: the host finds the session over and cannot restart it.
  const late = await connectHost(arena.url, code, host);
  expect(late.snapshot).toMatchObject({ phase: "ended", endReason: "host_away", finalRankings: rankings });
  expect((await refused(late.request("host:next"))).code).toBe("WRONG_PHASE");
});

test("a host with two tabs open can close one without participants being told the host left", async () => {
  arena = await startArena({ hostGraceMs: 2000, minTimerSeconds: 2 });
  const { host, code, h, ana } = await liveGame();
  const tab2 = await connectHost(arena.url, code, host);

  h.close();
  // Longer than the grace period: had the server taken the host for gone, the session would end.
  await sleep(3000);
  expect(ana.of("session:host_away")).toEqual([]);
  expect(ana.of("session:ended")).toEqual([]);
  expect(await snapshotOf(code, ana)).toMatchObject({ phase: "question_open", hostConnected: true, graceEndsAt: null });
  expect(await tab2.request("host:reveal")).toEqual({ phase: "question_revealed" });

  // Closing the last tab is what tells them.
  tab2.close();
  expect(await ana.until("session:host_away")).toHaveProperty("graceEndsAt");
});
