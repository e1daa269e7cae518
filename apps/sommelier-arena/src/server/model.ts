/**
 * What a session room keeps in its storage (the layout of ../../../shared/spec/sommelier-arena.md):
 *
 * - `state`: the session — phase, title, wines with their questions, where the game is, the
 *   timer (deadline while running, remaining ms while paused), host presence, end results.
 * - `hostId`, `hostKeyHash`: who may act as host (the key itself is never stored).
 * - `participant:<rejoinToken>`: id, pseudonym, score, connected, answered question ids.
 * - `response:<participantId>:<questionId>`: the chosen option; at reveal also whether it
 *   was correct and the points it earned.
 * - `answered:<questionId>`: how many participants answered it (for the host's progress).
 *
 * Invariant, true after every commit: a participant's score is the sum of the points of
 * their revealed responses (a reveal writes both in one commit).
 */
import type { Category, EndReason, OptionView, Phase, Ranking, WineInput } from "../shared/protocol.js";

export interface StoredQuestion {
  id: string;
  category: Category;
  prompt: string;
  /** The four options in the order shown (shuffled once), ids "A"–"D". */
  options: OptionView[];
  correctOptionId: string;
}

export interface StoredWine {
  /** As the host entered it (the editor's data). */
  input: WineInput;
  questions: StoredQuestion[];
}

export interface SessionState {
  /** Random, per session: a code is reused after a session ended, connections bound to the old one must not act on the new. */
  sessionId: string;
  code: string;
  title: string;
  timerSeconds: number;
  createdAt: number;
  wines: StoredWine[];
  phase: Phase;
  /** The current wine and question (0-based); -1 before the start. */
  roundIndex: number;
  questionIndex: number;
  /** While a question is open: when it closes (epoch ms). */
  deadline: number | null;
  /** While paused: the time left. */
  remainingMs: number | null;
  /** While open: when the timer last ticked; a longer gap means the server was not running. */
  lastTickAt: number | null;
  /** Ids of the pending alarms, to cancel them. */
  alarms: { tick: string | null; expire: string | null; grace: string | null };
  locked: boolean;
  participantCount: number;
  /** Set while no host connection is open. */
  hostAwaySince: number | null;
  graceEndsAt: number | null;
  endedAt: number | null;
  endReason: EndReason | null;
  finalRankings: Ranking[] | null;
}

export interface ParticipantRecord {
  id: string;
  pseudonym: string;
  score: number;
  connected: boolean;
  /** Ids of the questions this participant answered. */
  answered: string[];
  joinedAt: number;
}

export interface ResponseRecord {
  optionId: string;
  answeredAt: number;
  revealed: boolean;
  correct: boolean | null;
  points: number;
}

/** A participant with the rejoin token it is stored under. */
export interface Participant extends ParticipantRecord {
  token: string;
}

export const STATE_KEY = "state";
export const HOST_ID_KEY = "hostId";
export const HOST_KEY_HASH_KEY = "hostKeyHash";
export const PARTICIPANT_PREFIX = "participant:";
export const participantKey = (token: string) => `${PARTICIPANT_PREFIX}${token}`;
export const responseKey = (participantId: string, questionId: string) => `response:${participantId}:${questionId}`;
export const answeredKey = (questionId: string) => `answered:${questionId}`;

/**
 * Connection channels of a session: everyone bound to it (host and participants; a
 * connection that has not joined hears nothing), its host connections, one participant's
 * connections. Named by session id, so connections bound to
 * an ended session whose code was given to a new one hear nothing of the new one.
 */
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
export const hostChannel = (sessionId: string) => `host:${sessionId}`;
export const participantChannel = (sessionId: string, participantId: string) => `p:${sessionId}:${participantId}`;
