/**
 * The screen's state: the last snapshot, kept current by the server's events. A snapshot
 * (after a join, a rejoin or a resync) replaces everything; events are applied in order.
 */
import type {
  HostReveal,
  HostSnapshot,
  ParticipantReveal,
  ParticipantSnapshot,
  Ranking,
  ServerEvents,
  Snapshot,
} from "../../src/shared/protocol.js";

export interface ViewState<S extends Snapshot = Snapshot> {
  snapshot: S;
  /** `performance.now()` when the question's `remainingMs` was last set: the timer counts down from there. */
  timerAt: number;
}

export type ServerEventName = keyof ServerEvents;

export type ViewAction =
  | { type: "snapshot"; snapshot: Snapshot; at: number }
  | { [E in ServerEventName]: { type: "event"; event: E; data: ServerEvents[E]; at: number } }[ServerEventName];

/** A participant's own score and rank after standings arrive. */
function withStandings(snapshot: Snapshot, rankings: readonly Ranking[]): Snapshot {
  if (snapshot.role === "host") return { ...snapshot, rankings: [...rankings] };
  const own = rankings.find((r) => r.pseudonym === snapshot.you.pseudonym);
  return own ? { ...snapshot, you: { ...snapshot.you, score: own.score, rank: own.rank } } : snapshot;
}

export function reduceView(state: ViewState | null, action: ViewAction): ViewState | null {
  if (action.type === "snapshot") return { snapshot: action.snapshot, timerAt: action.at };
  // Events before the first snapshot are covered by it (it is taken after them).
  if (state === null) return null;
  const s = state.snapshot;
  const question = s.question;
  switch (action.event) {
    case "lobby:updated": {
      const { title, timerSeconds, roundCount, locked, participants } = action.data;
      return { ...state, snapshot: { ...s, title, timerSeconds, roundCount, locked, participants } };
    }
    case "game:question": {
      const q = action.data;
      const base = { ...s, phase: "question_open" as const, question: { ...q, paused: false }, roundLeaderboard: null, reveal: null };
      const snapshot: Snapshot = base.role === "host" ? { ...base, answeredCount: 0 } : { ...base, yourAnswer: null };
      return { snapshot, timerAt: action.at };
    }
    case "game:timer_tick":
    case "game:timer_paused":
    case "game:timer_resumed": {
      if (!question || question.questionId !== action.data.questionId) return state;
      const paused = action.event === "game:timer_paused" ? true : action.event === "game:timer_resumed" ? false : question.paused;
      const phase = s.phase === "question_open" || s.phase === "question_paused" ? (paused ? "question_paused" : "question_open") : s.phase;
      return { ...state, timerAt: action.at, snapshot: { ...s, phase, question: { ...question, paused, remainingMs: action.data.remainingMs } } };
    }
    case "game:participant_answered": {
      if (s.role !== "host" || question?.questionId !== action.data.questionId) return state;
      // Its participantCount is the participant list's length, which lobby:updated already brought.
      return { ...state, snapshot: { ...s, answeredCount: action.data.answeredCount } };
    }
    case "game:answer_revealed": {
      if (question && question.questionId !== action.data.questionId) return state;
      const revealedQuestion = question ? { ...question, paused: false, remainingMs: 0 } : null;
      if (s.role === "host") {
        const reveal = action.data as HostReveal;
        const snapshot: HostSnapshot = { ...s, phase: "question_revealed", question: revealedQuestion, reveal, answeredCount: reveal.answeredCount };
        return { ...state, snapshot };
      }
      const reveal = action.data as ParticipantReveal;
      const snapshot: ParticipantSnapshot = {
        ...s,
        phase: "question_revealed",
        question: revealedQuestion,
        reveal,
        yourAnswer: reveal.yourOptionId,
        you: { ...s.you, score: reveal.score },
      };
      return { ...state, snapshot };
    }
    case "game:round_leaderboard": {
      const snapshot = withStandings({ ...s, phase: "round_leaderboard", question: null, reveal: null, roundLeaderboard: action.data } as Snapshot, action.data.rankings);
      return { ...state, snapshot };
    }
    case "game:final_leaderboard":
      // session:ended follows at once with the same rankings, and sets them with the phase.
      return state;
    case "session:ended": {
      const ended = { ...s, phase: "ended", question: null, reveal: null, roundLeaderboard: null, finalRankings: action.data.rankings, endReason: action.data.reason };
      return { ...state, snapshot: withStandings(ended as Snapshot, action.data.rankings) };
    }
    case "session:host_away":
      return { ...state, snapshot: { ...s, hostConnected: false, graceEndsAt: action.data.graceEndsAt } };
    case "session:host_back":
      return { ...state, snapshot: { ...s, hostConnected: true, graceEndsAt: null } };
  }
}

/** Milliseconds left on the question's timer at `now` (counted down locally between ticks). */
export function remainingAt(state: ViewState, now: number): number {
  const q = state.snapshot.question;
  if (!q) return 0;
  if (q.paused || state.snapshot.phase !== "question_open") return Math.max(0, q.remainingMs);
  return Math.max(0, q.remainingMs - (now - state.timerAt));
}
