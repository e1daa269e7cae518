/**
 * The game's pure rules: building questions, scoring, rankings and the views sent to
 * clients. No storage and no clock here: room.ts loads, calls these, saves.
 */
import {
  CATEGORIES,
  OPTION_LETTERS,
  POINTS_PER_CORRECT,
  PROMPTS,
  type CurrentQuestion,
  type HostReveal,
  type LobbyUpdated,
  type ParticipantResult,
  type ParticipantReveal,
  type QuestionView,
  type Ranking,
  type SessionInput,
} from "../shared/protocol.js";
import type { Participant, ResponseRecord, SessionState, StoredQuestion, StoredWine } from "./model.js";

/** The wines with their questions; each question's four options shuffled once, ids A–D. */
export function buildWines(input: SessionInput["wines"]): StoredWine[] {
  return input.map((wine, w) => ({
    input: wine,
    questions: wine.questions.map((question, q): StoredQuestion => {
      const texts = shuffle([question.correctAnswer, ...question.distractors]);
      const options = texts.map((text, i) => ({ id: OPTION_LETTERS[i]!, text }));
      return {
        id: `w${w + 1}q${q + 1}`,
        category: CATEGORIES[q]!,
        prompt: PROMPTS[CATEGORIES[q]!],
        options,
        correctOptionId: options.find((o) => o.text === question.correctAnswer)!.id,
      };
    }),
  }));
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  const random = crypto.getRandomValues(new Uint32Array(out.length));
  for (let i = out.length - 1; i > 0; i--) {
    const j = random[i]! % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function currentQuestion(state: SessionState): StoredQuestion | undefined {
  return state.wines[state.roundIndex]?.questions[state.questionIndex];
}

export function isOpen(state: SessionState): boolean {
  return state.phase === "question_open" || state.phase === "question_paused";
}

/** The time left on the current question at `now`. */
export function remainingAt(state: SessionState, now: number): number {
  if (state.phase === "question_open" && state.deadline !== null) return Math.max(0, state.deadline - now);
  if (state.phase === "question_paused") return state.remainingMs ?? 0;
  return 0;
}

/** A question as participants see it: no correct option. */
export function questionView(state: SessionState, question: StoredQuestion, now: number): QuestionView {
  return {
    questionId: question.id,
    roundIndex: state.roundIndex,
    questionIndex: state.questionIndex,
    roundCount: state.wines.length,
    category: question.category,
    prompt: question.prompt,
    options: question.options.map((o) => ({ id: o.id, text: o.text })),
    durationMs: state.timerSeconds * 1000,
    remainingMs: remainingAt(state, now),
  };
}

/** The question on screen: the current one while open, paused or just revealed. */
export function shownQuestion(state: SessionState): StoredQuestion | undefined {
  return isOpen(state) || state.phase === "question_revealed" ? currentQuestion(state) : undefined;
}

/** The question on screen as snapshots carry it. */
export function currentQuestionView(state: SessionState, now: number): CurrentQuestion | null {
  const question = shownQuestion(state);
  return question ? { ...questionView(state, question, now), paused: state.phase === "question_paused" } : null;
}

/** Participants in the order they joined. */
export function byJoinOrder(participants: Participant[]): Participant[] {
  return [...participants].sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
}

export function lobbyView(state: SessionState, participants: Participant[]): LobbyUpdated {
  return {
    title: state.title,
    timerSeconds: state.timerSeconds,
    roundCount: state.wines.length,
    locked: state.locked,
    participants: byJoinOrder(participants).map((p) => ({ id: p.id, pseudonym: p.pseudonym, connected: p.connected })),
  };
}

/** Highest score first; equal scores share a rank (1, 1, 3); then by pseudonym. */
export function rankings(participants: Array<{ pseudonym: string; score: number }>): Ranking[] {
  const sorted = [...participants].sort((a, b) => b.score - a.score || a.pseudonym.localeCompare(b.pseudonym));
  let rank = 0;
  return sorted.map((p, i) => {
    if (i === 0 || p.score !== sorted[i - 1]!.score) rank = i + 1;
    return { pseudonym: p.pseudonym, score: p.score, rank };
  });
}

/**
 * Scores the answers to `question`. `alreadyScored`: the responses were revealed before
 * (a snapshot redrawing a reveal), so scores already include their points.
 */
export function scoreQuestion(
  question: StoredQuestion,
  participants: Participant[],
  responses: Map<string, ResponseRecord>,
  alreadyScored: boolean,
): { results: Array<ParticipantResult & { participant: Participant; response?: ResponseRecord }>; counts: Record<string, number> } {
  const counts: Record<string, number> = Object.fromEntries(question.options.map((o) => [o.id, 0]));
  const results = byJoinOrder(participants).map((participant) => {
    const response = responses.get(participant.id);
    const correct = response?.optionId === question.correctOptionId;
    const points = correct ? POINTS_PER_CORRECT : 0;
    if (response) counts[response.optionId] = (counts[response.optionId] ?? 0) + 1;
    return {
      participant,
      response,
      participantId: participant.id,
      pseudonym: participant.pseudonym,
      optionId: response?.optionId ?? null,
      correct,
      points,
      score: alreadyScored ? participant.score : participant.score + points,
    };
  });
  return { results, counts };
}

export function hostReveal(question: StoredQuestion, scored: ReturnType<typeof scoreQuestion>): HostReveal {
  const results = scored.results.map(({ participantId, pseudonym, optionId, correct, points, score }) => ({
    participantId,
    pseudonym,
    optionId,
    correct,
    points,
    score,
  }));
  return {
    questionId: question.id,
    correctOptionId: question.correctOptionId,
    counts: scored.counts,
    answeredCount: results.filter((r) => r.optionId !== null).length,
    participantCount: results.length,
    results,
  };
}

export function participantReveal(question: StoredQuestion, result: ParticipantResult): ParticipantReveal {
  return {
    questionId: question.id,
    correctOptionId: question.correctOptionId,
    yourOptionId: result.optionId,
    correct: result.correct,
    points: result.points,
    score: result.score,
  };
}
