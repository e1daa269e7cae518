/**
 * Snapshots let a client that reconnects redraw its screen exactly: in every phase, what a
 * fresh `rejoin_session` / `rejoin_host` returns matches what a client that watched every
 * event from the start knows.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type {
  EndReason,
  HostSnapshot,
  LobbyUpdated,
  ParticipantSnapshot,
  Phase,
  QuestionView,
  Ranking,
  RoundLeaderboard,
} from "../src/shared/protocol.js";
import { connect, createSession, newHost, optionId, participantSnapshot, sessionInput, startArena, wine, type Arena, type Host, type Recorded } from "./helpers.js";

let arena: Arena;
beforeAll(async () => {
  arena = await startArena();
});
afterAll(() => arena?.close());

/** A frame with its arrival time. */
type Stamped = Recorded["frames"][number];

/** A client that has watched the session since it connected: every frame with its arrival time (`frames`). */
type Watcher = Recorded;

const watcher = (code: string): Promise<Watcher> => connect(arena.url, code);

/** What a client knows after the events it watched, starting from the reply it got when it came in. */
interface Known {
  phase: Phase;
  lobby: LobbyUpdated;
  hostConnected: boolean;
  graceEndsAt: number | null;
  question: (QuestionView & { paused: boolean }) | null;
  /** The time left as last announced, when, and whether it is running down. */
  clock: { ms: number; at: number; running: boolean };
  reveal: any;
  roundLeaderboard: RoundLeaderboard | null;
  finalRankings: Ranking[] | null;
  endReason: EndReason | null;
  /** Host: answers to the current question. */
  answeredCount: number;
  /** Host: everyone's score, as last told (reveal results or a leaderboard). */
  scores: Map<string, number>;
  /** Participant: own score, as last told. */
  score: number;
}

function know(start: ParticipantSnapshot | HostSnapshot, seen: Stamped[]): Known {
  const lobby = ({ title, timerSeconds, roundCount, locked, participants }: LobbyUpdated): LobbyUpdated => ({ title, timerSeconds, roundCount, locked, participants });
  const k: Known = {
    phase: start.phase,
    lobby: lobby(start),
    hostConnected: start.hostConnected,
    graceEndsAt: start.graceEndsAt,
    question: start.question,
    clock: { ms: start.question?.remainingMs ?? 0, at: Date.now(), running: start.phase === "question_open" },
    reveal: start.reveal,
    roundLeaderboard: start.roundLeaderboard,
    finalRankings: start.finalRankings,
    endReason: start.endReason,
    answeredCount: start.role === "host" ? start.answeredCount : 0,
    scores: new Map(start.participants.map((p) => [p.pseudonym, 0])),
    score: start.role === "participant" ? start.you.score : 0,
  };
  for (const { event, data, at } of seen) {
    switch (event) {
      case "lobby:updated":
        k.lobby = lobby(data);
        for (const p of data.participants) if (!k.scores.has(p.pseudonym)) k.scores.set(p.pseudonym, 0);
        break;
      case "game:question":
        Object.assign(k, { phase: "question_open", question: { ...data, paused: false }, reveal: null, roundLeaderboard: null, answeredCount: 0 });
        k.clock = { ms: data.remainingMs, at, running: true };
        break;
      case "game:timer_tick":
        k.clock = { ms: data.remainingMs, at, running: true };
        break;
      case "game:timer_paused":
        k.phase = "question_paused";
        k.question = { ...k.question!, paused: true };
        k.clock = { ms: data.remainingMs, at, running: false };
        break;
      case "game:timer_resumed":
        k.phase = "question_open";
        k.question = { ...k.question!, paused: false };
        k.clock = { ms: data.remainingMs, at, running: true };
        break;
      case "game:participant_answered":
        k.answeredCount = data.answeredCount;
        break;
      case "game:answer_revealed":
        k.phase = "question_revealed";
        k.question = { ...k.question!, paused: false };
        k.clock = { ms: 0, at, running: false };
        k.reveal = data;
        if ("results" in data) for (const r of data.results) k.scores.set(r.pseudonym, r.score);
        else k.score = data.score;
        break;
      case "game:round_leaderboard":
        Object.assign(k, { phase: "round_leaderboard", question: null, reveal: null, roundLeaderboard: data, answeredCount: 0 });
        for (const r of data.rankings) k.scores.set(r.pseudonym, r.score);
        break;
      case "session:ended":
        Object.assign(k, { phase: "ended", question: null, reveal: null, roundLeaderboard: null, answeredCount: 0 });
        k.finalRankings = data.rankings;
        k.endReason = data.reason;
        break;
      case "session:host_away":
        k.hostConnected = false;
        k.graceEndsAt = data.graceEndsAt;
        break;
      case "session:host_back":
        k.hostConnected = true;
        k.graceEndsAt = null;
        break;
    }
  }
  return k;
}

/** Standings from scores: highest first, equal scores share a rank; compared in pseudonym order. */
function standings(scores: Map<string, number>): Ranking[] {
  const list = [...scores].map(([pseudonym, score]) => ({ pseudonym, score }));
  return list
    .map(({ pseudonym, score }) => ({ pseudonym, score, rank: 1 + list.filter((o) => o.score > score).length }))
    .sort((a, b) => a.pseudonym.localeCompare(b.pseudonym));
}
const byPseudonym = (rankings: Ranking[]) => [...rankings].sort((a, b) => a.pseudonym.localeCompare(b.pseudonym));

/** The fields every snapshot has, against what the watcher knows. */
function expectCommon(s: ParticipantSnapshot | HostSnapshot, k: Known, code: string, who: string): void {
  expect(s.code, who).toBe(code);
  expect(s.phase, who).toBe(k.phase);
  const { title, timerSeconds, roundCount, locked, participants } = s;
  expect({ title, timerSeconds, roundCount, locked, participants }, `${who}: lobby`).toEqual(k.lobby);
  expect({ hostConnected: s.hostConnected, graceEndsAt: s.graceEndsAt }, who).toEqual({ hostConnected: k.hostConnected, graceEndsAt: k.graceEndsAt });
  if (k.question === null) {
    expect(s.question, `${who}: question`).toBeNull();
  } else {
    const { remainingMs, ...rest } = s.question!;
    const { remainingMs: _announced, ...expected } = k.question;
    expect(rest, `${who}: question`).toEqual(expected);
    const left = k.clock.running ? Math.max(0, k.clock.ms - (Date.now() - k.clock.at)) : k.clock.ms;
    if (k.clock.running) expect(Math.abs(remainingMs - left), `${who}: remainingMs ${remainingMs} vs ${left}`).toBeLessThanOrEqual(1000);
    else expect(remainingMs, `${who}: remainingMs (stopped)`).toBe(left);
  }
  expect(s.roundLeaderboard, `${who}: roundLeaderboard`).toEqual(k.roundLeaderboard);
  expect(s.finalRankings, `${who}: finalRankings`).toEqual(k.finalRankings);
  expect(s.endReason, `${who}: endReason`).toBe(k.endReason);
}

interface Game {
  code: string;
  host: Host;
  input: ReturnType<typeof sessionInput>;
  hw: Watcher & { start: HostSnapshot };
  players: Array<Watcher & { start: ParticipantSnapshot; token: string; id: string; pseudonym: string; answers: Map<string, string> }>;
}

/** Compares fresh snapshots (each participant's, the host's) with what the watchers know. */
async function expectFreshSnapshotsMatch(g: Game, hostStart: HostSnapshot = g.hw.start, hostSeen: Stamped[] = g.hw.frames): Promise<void> {
  for (const p of g.players) {
    const s = await participantSnapshot(arena.url, g.code, p.token);
    const k = know(p.start, p.frames);
    const who = `${p.pseudonym} in ${k.phase}`;
    expectCommon(s, k, g.code, who);
    expect(s.role).toBe("participant");
    expect({ participantId: s.you.participantId, pseudonym: s.you.pseudonym, score: s.you.score }, who).toEqual({ participantId: p.id, pseudonym: p.pseudonym, score: k.score });
    const board = k.finalRankings ?? k.roundLeaderboard?.rankings;
    if (board) expect(s.you.rank, `${who}: rank`).toBe(board.find((r) => r.pseudonym === p.pseudonym)!.rank);
    expect(s.yourAnswer, `${who}: yourAnswer`).toBe((k.question && p.answers.get(k.question.questionId)) ?? null);
    expect(s.reveal, `${who}: reveal`).toEqual(k.reveal);
  }
  const tab = await connect(arena.url, g.code);
  const s = await tab.request<HostSnapshot>("rejoin_host", g.host);
  tab.close();
  const k = know(hostStart, hostSeen);
  const who = `host in ${k.phase}`;
  expectCommon(s, k, g.code, who);
  expect(s.role).toBe("host");
  expect(s.hostId).toBe(g.host.hostId);
  expect(s.wines, `${who}: wines as entered`).toEqual(g.input.wines);
  expect(s.answeredCount, `${who}: answeredCount`).toBe(k.answeredCount);
  expect(s.reveal, `${who}: reveal`).toEqual(k.reveal);
  expect(byPseudonym(s.rankings), `${who}: rankings`).toEqual(standings(k.scores));
}

/** Resolves once every watcher (host and participants) has received `event` matching `match`. */
async function allSee(g: Game, event: string, match: (data: any) => boolean = () => true): Promise<void> {
  await Promise.all([g.hw, ...g.players].map((w) => w.until(event, match)));
}

const PHASES: Phase[] = ["waiting", "question_open", "question_paused", "question_revealed", "round_leaderboard", "ended"];

/**
 * A two-wine session driven to `target`: Ana, Bo and Cy joined (Cy then left), the host
 * locked the lobby; Ana answers right, Bo wrong or not at all; the host pauses question 2.
 */
async function gameAt(target: Phase): Promise<Game> {
  const host = newHost();
  const input = sessionInput(2, { title: "Snapshot night", timerSeconds: 45 });
  const code = await createSession(arena.url, host, input);
  const hw = Object.assign(await watcher(code), { start: undefined as unknown as HostSnapshot });
  hw.start = await hw.request<HostSnapshot>("rejoin_host", host);
  const players: Game["players"] = [];
  const g: Game = { code, host, input, hw, players };
  for (const pseudonym of ["Ana", "Bo"]) {
    const w = await watcher(code);
    const joined = await w.request("join_session", { pseudonym });
    players.push(Object.assign(w, { start: joined.snapshot, token: joined.rejoinToken, id: joined.participantId, pseudonym, answers: new Map<string, string>() }));
  }
  const [ana, bo] = players as [Game["players"][number], Game["players"][number]];
  const cy = await connect(arena.url, code);
  await cy.request("join_session", { pseudonym: "Cy" });
  cy.close();
  await allSee(g, "lobby:updated", (d) => d.participants.some((p: any) => p.pseudonym === "Cy" && !p.connected));
  await hw.request("host:lock");
  await allSee(g, "lobby:updated", (d) => d.locked);
  if (target === "waiting") return g;

  const answer = async (p: typeof ana, q: QuestionView, text: string) => {
    await p.request("submit_answer", { questionId: q.questionId, optionId: optionId(q, text) });
    p.answers.set(q.questionId, optionId(q, text));
  };
  const w1 = wine(1).questions;
  await hw.request("host:start");
  await allSee(g, "game:question", (d) => d.questionIndex === 0);
  let q: QuestionView = ana.of("game:question").at(-1);
  await answer(ana, q, w1[0]!.correctAnswer);
  await answer(bo, q, w1[0]!.distractors[0]);
  await hw.request("host:reveal");
  await allSee(g, "game:answer_revealed", (d) => d.questionId === q.questionId);
  await hw.request("host:next");
  await allSee(g, "game:question", (d) => d.questionIndex === 1);
  q = ana.of("game:question").at(-1);
  await answer(ana, q, w1[1]!.correctAnswer);
  await hw.until("game:participant_answered", (d) => d.questionId === q.questionId && d.answeredCount === 1);
  // A tick, so the watchers' clocks are not just the question's opening time.
  await allSee(g, "game:timer_tick", (d) => d.questionId === q.questionId);
  if (target === "question_open") return g;

  await hw.request("host:pause");
  await allSee(g, "game:timer_paused");
  if (target === "question_paused") return g;

  await hw.request("host:resume");
  await allSee(g, "game:timer_resumed");
  await answer(bo, q, w1[1]!.distractors[2]);
  await hw.until("game:participant_answered", (d) => d.questionId === q.questionId && d.answeredCount === 2);
  await hw.request("host:reveal");
  await allSee(g, "game:answer_revealed", (d) => d.questionId === q.questionId);
  if (target === "question_revealed") return g;

  for (let i = 2; i < 5; i++) {
    await hw.request("host:next");
    await allSee(g, "game:question", (d) => d.questionIndex === i);
    q = ana.of("game:question").at(-1);
    await answer(ana, q, w1[i]!.correctAnswer);
    if (i === 3) await answer(bo, q, w1[i]!.correctAnswer);
    await hw.request("host:reveal");
    await allSee(g, "game:answer_revealed", (d) => d.questionId === q.questionId);
  }
  await hw.request("host:next");
  await allSee(g, "game:round_leaderboard");
  if (target === "round_leaderboard") return g;

  await hw.request("host:next");
  await allSee(g, "game:question", (d) => d.roundIndex === 1);
  q = ana.of("game:question").at(-1);
  await answer(ana, q, wine(2).questions[0]!.correctAnswer);
  await hw.request("host:end");
  await allSee(g, "session:ended");
  return g;
}

describe("a fresh client's snapshot matches what a client that watched every event knows", () => {
  test.each(PHASES)("in phase %s", async (phase) => {
    const g = await gameAt(phase);
    await expectFreshSnapshotsMatch(g);
    expect(know(g.players[0]!.start, g.players[0]!.frames).phase).toBe(phase);
    for (const w of [g.hw, ...g.players]) w.close();
  });

  test("while the host is away, and for the host coming back and carrying on", async () => {
    const g = await gameAt("question_revealed");
    g.hw.close();
    await Promise.all(g.players.map((p) => p.until("session:host_away")));
    const known = know(g.players[0]!.start, g.players[0]!.frames);
    expect(known.hostConnected).toBe(false);
    // Participants' snapshots say the host is away and until when; the host's old view is what a returning host must get.
    for (const p of g.players) {
      const s = await participantSnapshot(arena.url, g.code, p.token);
      expectCommon(s, know(p.start, p.frames), g.code, `${p.pseudonym} while the host is away`);
      expect(s.graceEndsAt).toBeGreaterThan(Date.now());
    }

    const back = Object.assign(await watcher(g.code), { start: undefined as unknown as HostSnapshot });
    back.start = await back.request<HostSnapshot>("rejoin_host", g.host);
    // What the returning host draws is what the host tab that left knew.
    const old = know(g.hw.start, g.hw.frames);
    expectCommon(back.start, old, g.code, "returning host");
    expect(back.start.reveal).toEqual(old.reveal);
    expect(back.start.answeredCount).toBe(old.answeredCount);
    expect(back.start.wines).toEqual(g.input.wines);
    await Promise.all(g.players.map((p) => p.until("session:host_back")));

    await back.request("host:next");
    await Promise.all([back, ...g.players].map((w) => w.until("game:question", (d) => d.questionIndex === 2)));
    await expectFreshSnapshotsMatch(g, g.hw.start, [...g.hw.frames, ...back.frames]);
    for (const w of [back, ...g.players]) w.close();
  });
});
