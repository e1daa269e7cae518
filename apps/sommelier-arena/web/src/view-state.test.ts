import { describe, expect, it } from "vitest";
import type { HostSnapshot, ParticipantSnapshot, QuestionView } from "../../src/shared/protocol.js";
import { reduceView, remainingAt, type ViewState } from "./view-state.js";

const question: QuestionView = {
  questionId: "q1",
  roundIndex: 0,
  questionIndex: 0,
  roundCount: 1,
  category: "color",
  prompt: "What colour is this wine?",
  options: ["A", "B", "C", "D"].map((id) => ({ id, text: `option ${id}` })),
  durationMs: 30_000,
  remainingMs: 30_000,
};

const lobby: ParticipantSnapshot = {
  role: "participant",
  code: "1234",
  phase: "waiting",
  title: "T",
  timerSeconds: 30,
  roundCount: 1,
  locked: false,
  participants: [{ id: "p1", pseudonym: "Ana", connected: true }],
  hostConnected: true,
  graceEndsAt: null,
  question: null,
  roundLeaderboard: null,
  finalRankings: null,
  endReason: null,
  you: { participantId: "p1", pseudonym: "Ana", score: 0, rank: 1 },
  yourAnswer: null,
  reveal: null,
};

function play(...actions: Parameters<typeof reduceView>[1][]): ViewState<ParticipantSnapshot> {
  let state = reduceView(null, { type: "snapshot", snapshot: lobby, at: 0 });
  for (const action of actions) state = reduceView(state, action);
  return state as ViewState<ParticipantSnapshot>;
}

describe("reduceView", () => {
  it("ignores events until the first snapshot", () => {
    expect(reduceView(null, { type: "event", event: "game:question", data: question, at: 0 })).toBeNull();
  });

  it("opens a question, counts down locally, pauses and resumes", () => {
    const open = play({ type: "event", event: "game:question", data: question, at: 1000 });
    expect(open.snapshot.phase).toBe("question_open");
    expect(remainingAt(open, 3500)).toBe(27_500);
    const paused = play(
      { type: "event", event: "game:question", data: question, at: 1000 },
      { type: "event", event: "game:timer_paused", data: { questionId: "q1", remainingMs: 20_000 }, at: 11_000 },
    );
    expect(paused.snapshot.phase).toBe("question_paused");
    expect(remainingAt(paused, 60_000)).toBe(20_000);
    const resumed = reduceView(paused, { type: "event", event: "game:timer_resumed", data: { questionId: "q1", remainingMs: 20_000 }, at: 70_000 })!;
    expect(resumed.snapshot.phase).toBe("question_open");
    expect(remainingAt(resumed, 71_000)).toBe(19_000);
  });

  it("applies the reveal, then standings with the participant's own rank", () => {
    const state = play(
      { type: "event", event: "game:question", data: question, at: 0 },
      { type: "event", event: "game:answer_revealed", data: { questionId: "q1", correctOptionId: "B", yourOptionId: "B", correct: true, points: 100, score: 100 }, at: 1 },
      { type: "event", event: "game:round_leaderboard", data: { roundIndex: 0, roundCount: 1, wineName: "W", rankings: [{ pseudonym: "Bo", score: 100, rank: 1 }, { pseudonym: "Ana", score: 100, rank: 1 }] }, at: 2 },
    );
    expect(state.snapshot.phase).toBe("round_leaderboard");
    expect(state.snapshot.you).toMatchObject({ score: 100, rank: 1 });
    const ended = reduceView(state, { type: "event", event: "session:ended", data: { reason: "completed", rankings: [{ pseudonym: "Ana", score: 100, rank: 1 }] }, at: 3 })!;
    expect(ended.snapshot).toMatchObject({ phase: "ended", endReason: "completed", finalRankings: [{ pseudonym: "Ana" }] });
  });

  it("ignores timer events of another question", () => {
    const open = play({ type: "event", event: "game:question", data: question, at: 0 });
    expect(reduceView(open, { type: "event", event: "game:timer_tick", data: { questionId: "other", remainingMs: 1 }, at: 5 })).toBe(open);
  });

  it("keeps the host's answered count in the snapshot, for the open question only", () => {
    const host: HostSnapshot = { ...lobby, role: "host", hostId: "h", wines: [], answeredCount: 0, reveal: null, rankings: [] } as unknown as HostSnapshot;
    let state = reduceView(null, { type: "snapshot", snapshot: host, at: 0 });
    state = reduceView(state, { type: "event", event: "game:question", data: question, at: 0 });
    state = reduceView(state, { type: "event", event: "game:participant_answered", data: { questionId: "q1", answeredCount: 1, participantCount: 1 }, at: 1 });
    expect(state!.snapshot).toMatchObject({ role: "host", answeredCount: 1 });
    expect(reduceView(state, { type: "event", event: "game:participant_answered", data: { questionId: "old", answeredCount: 0, participantCount: 1 }, at: 2 })).toBe(state);
  });

  it("takes the final standings from session:ended, which follows game:final_leaderboard", () => {
    const open = play({ type: "event", event: "game:question", data: question, at: 0 });
    const rankings = [{ pseudonym: "Ana", score: 0, rank: 1 }];
    const final = reduceView(open, { type: "event", event: "game:final_leaderboard", data: { rankings }, at: 1 });
    const ended = reduceView(final, { type: "event", event: "session:ended", data: { reason: "host_ended", rankings }, at: 2 })!;
    expect(ended.snapshot).toMatchObject({ phase: "ended", endReason: "host_ended", finalRankings: rankings, question: null });
  });
});
