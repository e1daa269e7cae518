/**
 * Sommelier Arena's protocol: the shapes the server sends and accepts, shared by the server
 * and the web app. docs/protocol.md in this app describes the same contract in prose.
 */

/** The Cellar room kind: one instance per session code, at `/rooms/session/<code>`. */
export const ROOM_KIND = "session";

/** The five questions of a wine, always in this order. */
export const CATEGORIES = ["color", "country", "grape_variety", "vintage_year", "wine_name"] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_LABELS: Record<Category, string> = {
  color: "Colour",
  country: "Country",
  grape_variety: "Grape variety",
  vintage_year: "Vintage",
  wine_name: "Wine",
};

/** The prompt shown with each question. */
export const PROMPTS: Record<Category, string> = {
  color: "What colour is this wine?",
  country: "Which country does it come from?",
  grape_variety: "Which grape variety is it?",
  vintage_year: "Which vintage is it?",
  wine_name: "Which wine is it?",
};

export const LIMITS = {
  timerSeconds: { min: 15, max: 120, default: 60, step: 5 },
  wines: { min: 1, max: 12 },
  titleLength: 80,
  wineNameLength: 80,
  answerLength: 80,
  pseudonymLength: 24,
  participants: 500,
} as const;

export const POINTS_PER_CORRECT = 100;
export const OPTION_LETTERS = ["A", "B", "C", "D"] as const;

export type Phase = "waiting" | "question_open" | "question_paused" | "question_revealed" | "round_leaderboard" | "ended";

// ---------------------------------------------------------------------------------------
// HTTP

export interface QuestionInput {
  category: Category;
  correctAnswer: string;
  distractors: [string, string, string];
}

export interface WineInput {
  name: string;
  questions: QuestionInput[];
}

/** What the editor produces; `update_session` takes the same. */
export interface SessionInput {
  title: string;
  timerSeconds: number;
  wines: WineInput[];
}

/** `POST /api/sessions` body. */
export interface CreateSessionRequest extends SessionInput {
  hostId: string;
  hostKey: string;
}

/** `POST /api/sessions` → 201. */
export interface CreateSessionResponse {
  code: string;
}

/** One thing wrong with an input: `field` is a path such as `wines[0].questions[2].distractors[1]`. */
export interface Problem {
  code: string;
  field: string;
  message: string;
}

/**
 * Every refusal over HTTP (400, 401, 403, 404, 409, 429, 503): `code` and `message` say what
 * is wrong (the first problem when there are several), `problems` lists all of them.
 */
export interface ApiError {
  code: string;
  message: string;
  problems?: Problem[];
}

/** `GET /api/config`: what the web app needs to know about this server. */
export interface ServerConfig {
  /** The lowest timer this server accepts (15 unless lowered for demos and tests). */
  minTimerSeconds: number;
  /**
   * Origins (`http://192.168.1.20:8787`) at which phones on the same network reach this
   * server, when it listens on every interface (`HOST=0.0.0.0`); empty when it listens on
   * loopback only or on one specific address (then the page's own origin is the one to share).
   */
  lanOrigins: string[];
}

export type SessionStatus = "waiting" | "live" | "ended";

export interface Ranking {
  pseudonym: string;
  score: number;
  /** 1-based; equal scores share a rank (1, 1, 3). */
  rank: number;
}

/** One entry of the host index (`GET /api/hosts/<hostId>/sessions`, newest first). */
export interface HostIndexEntry {
  code: string;
  title: string;
  /** Epoch milliseconds. */
  createdAt: number;
  status: SessionStatus;
  participantCount: number;
  finalRankings?: Ranking[];
}

// ---------------------------------------------------------------------------------------
// Room events: client → server (all are requests; the reply is the ack)

export interface RejoinHostRequest {
  hostId: string;
  hostKey: string;
}
export interface JoinSessionRequest {
  pseudonym: string;
}
export interface JoinSessionReply {
  participantId: string;
  rejoinToken: string;
  pseudonym: string;
  /** The participant's view right after joining (so the lobby draws without another round trip). */
  snapshot: ParticipantSnapshot;
}
export interface RejoinSessionRequest {
  rejoinToken: string;
}
export interface SubmitAnswerRequest {
  questionId: string;
  optionId: string;
}
export interface SubmitAnswerReply {
  questionId: string;
  optionId: string;
}
/** `host:lock`: `{ locked: false }` unlocks; no payload locks. */
export interface LockRequest {
  locked?: boolean;
}
/** The ack of every `host:*` event and of `update_session`. */
export interface HostActionReply {
  phase: Phase;
}

/** Client → server event names with their payload and reply. */
export interface ClientEvents {
  rejoin_host: [RejoinHostRequest, HostSnapshot];
  update_session: [SessionInput, HostActionReply];
  join_session: [JoinSessionRequest, JoinSessionReply];
  rejoin_session: [RejoinSessionRequest, ParticipantSnapshot];
  submit_answer: [SubmitAnswerRequest, SubmitAnswerReply];
  "host:start": [undefined, HostActionReply];
  "host:pause": [undefined, HostActionReply];
  "host:resume": [undefined, HostActionReply];
  "host:reveal": [undefined, HostActionReply];
  "host:next": [undefined, HostActionReply];
  "host:end": [undefined, HostActionReply];
  "host:lock": [LockRequest | undefined, HostActionReply];
}

// ---------------------------------------------------------------------------------------
// Room events: server → clients

export interface ParticipantEntry {
  id: string;
  pseudonym: string;
  connected: boolean;
}

/** Sent to everyone when the participant list, the title, the timer or the lock changes. */
export interface LobbyUpdated {
  title: string;
  timerSeconds: number;
  roundCount: number;
  locked: boolean;
  participants: ParticipantEntry[];
}

export interface OptionView {
  id: string;
  text: string;
}

/** `game:question`: a question opens. Never says which option is correct. */
export interface QuestionView {
  questionId: string;
  /** 0-based wine index. */
  roundIndex: number;
  /** 0-based question index within the wine (0–4). */
  questionIndex: number;
  roundCount: number;
  category: Category;
  prompt: string;
  /** Four options, shuffled once when the session was created; ids are "A"–"D". */
  options: OptionView[];
  durationMs: number;
  remainingMs: number;
}

/** `game:timer_tick` (volatile, once a second), `game:timer_paused`, `game:timer_resumed`. */
export interface TimerUpdate {
  questionId: string;
  remainingMs: number;
}

/** `game:participant_answered`, to the host only: how many have answered the open question. */
export interface AnsweredCount {
  questionId: string;
  answeredCount: number;
  participantCount: number;
}

/** `game:answer_revealed` as a participant receives it: only their own result. */
export interface ParticipantReveal {
  questionId: string;
  correctOptionId: string;
  /** The option the participant chose, or null. */
  yourOptionId: string | null;
  correct: boolean;
  points: number;
  /** The participant's total after this question. */
  score: number;
}

export interface ParticipantResult {
  participantId: string;
  pseudonym: string;
  optionId: string | null;
  correct: boolean;
  points: number;
  score: number;
}

/** `game:answer_revealed` as the host receives it: counts per option and everyone's result. */
export interface HostReveal {
  questionId: string;
  correctOptionId: string;
  /** Answers per option id ("A"–"D"), zeros included. */
  counts: Record<string, number>;
  answeredCount: number;
  participantCount: number;
  results: ParticipantResult[];
}

/** `game:round_leaderboard`: standings after a wine. */
export interface RoundLeaderboard {
  roundIndex: number;
  roundCount: number;
  wineName: string;
  rankings: Ranking[];
}

export type EndReason = "completed" | "host_ended" | "host_away";

/** `game:final_leaderboard` then `session:ended`. */
export interface FinalLeaderboard {
  rankings: Ranking[];
}
export interface SessionEnded {
  reason: EndReason;
  rankings: Ranking[];
}

/** `session:host_away`: the host's last connection closed; the session ends at `graceEndsAt` unless the host returns. */
export interface HostAway {
  graceEndsAt: number;
}

/** Server → client event names with their payload. */
export interface ServerEvents {
  "lobby:updated": LobbyUpdated;
  "game:question": QuestionView;
  "game:timer_tick": TimerUpdate;
  "game:timer_paused": TimerUpdate;
  "game:timer_resumed": TimerUpdate;
  "game:participant_answered": AnsweredCount;
  "game:answer_revealed": ParticipantReveal | HostReveal;
  "game:round_leaderboard": RoundLeaderboard;
  "game:final_leaderboard": FinalLeaderboard;
  "session:ended": SessionEnded;
  "session:host_away": HostAway;
  "session:host_back": Record<string, never>;
}

/** Every server → client event name, for clients that listen to all of them. */
export const SERVER_EVENT_NAMES = [
  "lobby:updated",
  "game:question",
  "game:timer_tick",
  "game:timer_paused",
  "game:timer_resumed",
  "game:participant_answered",
  "game:answer_revealed",
  "game:round_leaderboard",
  "game:final_leaderboard",
  "session:ended",
  "session:host_away",
  "session:host_back",
] as const satisfies ReadonlyArray<keyof ServerEvents>;
// Fails to compile when ServerEvents gains a name the list above lacks.
const listsEveryEvent: Record<Exclude<keyof ServerEvents, (typeof SERVER_EVENT_NAMES)[number]>, never> = {};
void listsEveryEvent;

// ---------------------------------------------------------------------------------------
// Snapshots: everything a client needs to draw its screen, in any phase

export interface CurrentQuestion extends QuestionView {
  paused: boolean;
}

interface SnapshotBase extends LobbyUpdated {
  code: string;
  phase: Phase;
  /** Whether a host connection is open; when not, `graceEndsAt` says when the session ends. */
  hostConnected: boolean;
  graceEndsAt: number | null;
  /** The open, paused or just revealed question; null in other phases. */
  question: CurrentQuestion | null;
  /** In `round_leaderboard`. */
  roundLeaderboard: RoundLeaderboard | null;
  /** In `ended`. */
  finalRankings: Ranking[] | null;
  endReason: EndReason | null;
}

export interface ParticipantSnapshot extends SnapshotBase {
  role: "participant";
  you: { participantId: string; pseudonym: string; score: number; rank: number };
  /** The option this participant chose for the current question, or null. */
  yourAnswer: string | null;
  /** In `question_revealed`: this participant's result. */
  reveal: ParticipantReveal | null;
}

export interface HostSnapshot extends SnapshotBase {
  role: "host";
  hostId: string;
  /** The session as the host entered it (correct answers included): the editor's data. */
  wines: WineInput[];
  /** For the current question. */
  answeredCount: number;
  /** In `question_revealed`. */
  reveal: HostReveal | null;
  /** Current standings. */
  rankings: Ranking[];
}

export type Snapshot = ParticipantSnapshot | HostSnapshot;

// ---------------------------------------------------------------------------------------
// Error codes the server uses (besides Cellar's own, see packages/cellar/docs/errors.md)

/** Close codes of connections the session room refuses (the reason is the error code). */
export const CLOSE_CODES = {
  /** SESSION_NOT_FOUND: no session has this code (final: the client does not retry). */
  SESSION_NOT_FOUND: 4404,
  /** TOO_MANY_ATTEMPTS: this address tried too many unknown codes (Cellar's client retries it with backoff). */
  TOO_MANY_ATTEMPTS: 4429,
} as const;

export const ERRORS = {
  // HTTP
  INVALID_JSON: "The request body is not valid JSON",
  INVALID_SESSION: "The session is not valid (see problems)",
  INVALID_HOST_ID: "hostId must be 3 to 40 letters, digits or dashes",
  INVALID_HOST_KEY: "hostKey must be at least 128 random bits, base64url-encoded (22 to 128 characters)",
  HOST_ID_TAKEN: "This host id belongs to another host key",
  UNAUTHORIZED: "Send the host key as `Authorization: Bearer <hostKey>`",
  NO_CODE_AVAILABLE: "Every session code is in use; try again later",
  // Room
  SESSION_NOT_FOUND: "That code has no session",
  TOO_MANY_ATTEMPTS: "Too many attempts with unknown codes from this address; wait a minute",
  NOT_HOST: "Only the host can do that; send rejoin_host first",
  WRONG_HOST_KEY: "This host id and key do not open this session",
  WRONG_PHASE: "That is not possible in this phase",
  SESSION_LOCKED: "The host locked this session: no new participants",
  SESSION_ENDED: "This session has ended",
  SESSION_FULL: "This session is full",
  INVALID_PSEUDONYM: `A pseudonym is 1 to ${LIMITS.pseudonymLength} characters`,
  PSEUDONYM_TAKEN: "Someone here already uses that pseudonym",
  ALREADY_JOINED: "This connection already joined the session",
  UNKNOWN_REJOIN_TOKEN: "This rejoin token does not belong to this session",
  NOT_JOINED: "Join the session first (join_session or rejoin_session)",
  QUESTION_CLOSED: "This question is closed",
  WRONG_QUESTION: "That is not the open question",
  UNKNOWN_OPTION: "That option is not one of this question's",
  NO_PARTICIPANTS: "Wait for at least one participant to join",
} as const;
export type ErrorCode = keyof typeof ERRORS;
