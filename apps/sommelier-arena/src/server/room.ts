/**
 * The session room: one Cellar room instance per session code (`/rooms/session/<code>`).
 * Everything it knows is in its storage (model.ts); every handler loads what it needs, changes
 * it, and Cellar commits the writes before anything the handler emitted leaves (output gate),
 * so an acknowledged answer is on disk and a reveal's scores and emits are one commit.
 */
import {
  CellarError,
  defineConnection,
  randomToken,
  defineRoom,
  type ConnectionContext,
  type RoomContext,
  type RoomDefinition,
} from "cellar";
import { z } from "zod";
import {
  CLOSE_CODES,
  ERRORS,
  LIMITS,
  ROOM_KIND,
  type EndReason,
  type ErrorCode,
  type HostActionReply,
  type HostIndexEntry,
  type HostSnapshot,
  type JoinSessionReply,
  type ParticipantSnapshot,
  type SessionInput,
  type SubmitAnswerReply,
} from "../shared/protocol.js";
import { checkPseudonym, pseudonymKey, validateSession } from "../shared/validation.js";
import { UnknownCodeLimiter, type AttemptLimits } from "./attempts.js";
import {
  buildWines,
  currentQuestion,
  currentQuestionView,
  hostReveal,
  isOpen,
  lobbyView,
  participantReveal,
  questionView,
  rankings,
  remainingAt,
  scoreQuestion,
  shownQuestion,
} from "./game.js";
import { hostKeyMatches, HOSTS, upsertEntry } from "./host-index.js";
import {
  answeredKey,
  hostChannel,
  HOST_ID_KEY,
  HOST_KEY_HASH_KEY,
  participantChannel,
  participantKey,
  sessionChannel,
  PARTICIPANT_PREFIX,
  responseKey,
  STATE_KEY,
  type Participant,
  type ParticipantRecord,
  type ResponseRecord,
  type SessionState,
} from "./model.js";

export interface ArenaOptions {
  /** How long a session waits for its host to come back before it ends on its own (default 1 hour). */
  hostGraceMs?: number;
  /** How long an ended session's room keeps its data for rejoining clients (default 7 days). */
  retainEndedMs?: number;
  /** Lowest timer a session may have (default 15 s; lower it for tests and demos). */
  minTimerSeconds?: number;
  /** Unknown session codes one address may try (default a burst of 20, then 10 a minute). */
  unknownCodes?: AttemptLimits;
}

export type ResolvedArenaOptions = Required<ArenaOptions>;

export function resolveOptions(options: ArenaOptions = {}): ResolvedArenaOptions {
  const whole = (field: keyof ArenaOptions, value: number | undefined, fallback: number, min = 1) => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw new CellarError("INVALID_OPTION", `Sommelier Arena: ${field} must be a whole number ≥ ${min} (got ${String(value)})`);
    }
    return value;
  };
  return {
    hostGraceMs: whole("hostGraceMs", options.hostGraceMs, 3_600_000),
    retainEndedMs: whole("retainEndedMs", options.retainEndedMs, 7 * 24 * 3_600_000),
    minTimerSeconds: whole("minTimerSeconds", options.minTimerSeconds, LIMITS.timerSeconds.min),
    unknownCodes: options.unknownCodes ?? { burst: 20, perMinute: 10 },
  };
}

/** What a connection is to the session; kept with its Cellar session (through resumes and restarts). */
interface Binding {
  /** The `sessionId` of the session this connection was bound in. */
  sessionId: string | null;
  role: "host" | "participant" | null;
  /** A participant's rejoin token: the key of its record. */
  token: string | null;
  participantId: string | null;
}

type Ctx = RoomContext<object>;
type ConnCtx = ConnectionContext<object, Binding>;

/** The ticking timer writes a checkpoint every second; a longer gap means the server was not running. */
const TICK_MS = 1000;
const OUTAGE_GAP_MS = 1500;

function fail(code: ErrorCode, message: string = ERRORS[code], closeCode?: number): CellarError {
  return new CellarError(code, message, closeCode === undefined ? undefined : { closeCode });
}

const hostSchema = z.object({ hostId: z.string().max(64), hostKey: z.string().max(256) });
const joinSchema = z.object({ pseudonym: z.string().max(200) });
const rejoinSchema = z.object({ rejoinToken: z.string().max(128) });
const answerSchema = z.object({ questionId: z.string().max(32), optionId: z.string().max(8) });
const lockSchema = z.object({ locked: z.boolean().optional() }).optional();
const noPayload = z.union([z.undefined(), z.null(), z.object({}).strict()]);

/** The session room kind, with its options (openSession below opens a session in one of its instances). */
export function defineSessionRoom(resolved: ResolvedArenaOptions): RoomDefinition<object, Binding> {
  const limiter = new UnknownCodeLimiter(resolved.unknownCodes);

  const room = defineRoom<object, Binding>({
    name: ROOM_KIND,
    state: {},
    connection: defineConnection<Binding>({
      state: { sessionId: null, role: null, token: null, participantId: null },
      persistedKeys: ["sessionId", "role", "token", "participantId"],
    }),

    async authenticate(request, ctx) {
      const address = request.headers.get("cellar-remote-address") ?? "unknown";
      if (limiter.blocked(address)) throw fail("TOO_MANY_ATTEMPTS", ERRORS.TOO_MANY_ATTEMPTS, CLOSE_CODES.TOO_MANY_ATTEMPTS);
      if (!(await ctx.storage.get(STATE_KEY))) {
        limiter.fail(address);
        throw fail("SESSION_NOT_FOUND", `${ERRORS.SESSION_NOT_FOUND}: check the number on the host's screen`, CLOSE_CODES.SESSION_NOT_FOUND);
      }
      return {};
    },

    async onCreate(ctx) {
      // First load since a restart (or since it hibernated with nobody connected): nobody
      // is connected now, whatever the stored flags say, and an open question's timer did
      // not run while the server was down.
      const state = await loadState(ctx);
      if (!state || state.phase === "ended") return;
      const now = Date.now();
      // A ticking question keeps its room loaded: finding one open here means the process
      // stopped, however short the gap since the last tick.
      await catchUp(ctx, state, now, true);
      if (state.hostAwaySince === null && !hostPresent(ctx, state)) await hostLeft(ctx, state, resolved, now);
      const stale = (await listParticipants(ctx)).filter((p) => p.connected && !participantPresent(ctx, state, p.id));
      for (const p of stale) await putParticipant(ctx, { ...p, connected: false });
      if (stale.length > 0) everyone(ctx, state).emit("lobby:updated", lobbyView(state, await listParticipants(ctx)));
    },

    async onConnect(ctx) {
      // A resumed connection keeps its binding (and got what it missed by replay): it is back.
      if (!ctx.resumed) return;
      const binding = ctx.connection.state;
      const state = await loadState(ctx);
      if (!state || binding.sessionId !== state.sessionId) return;
      if (binding.role === "host") await hostArrived(ctx, state);
      else if (binding.role === "participant") await participantArrived(ctx, state);
    },

    async onDisconnect(ctx) {
      const binding = ctx.connection.state;
      const state = await loadState(ctx);
      if (!state || state.phase === "ended" || binding.sessionId !== state.sessionId) return;
      if (binding.role === "host" && !hostPresent(ctx, state)) {
        await hostLeft(ctx, state, resolved, Date.now());
      } else if (binding.role === "participant" && binding.token && binding.participantId && !participantPresent(ctx, state, binding.participantId)) {
        const record = await ctx.storage.get<ParticipantRecord>(participantKey(binding.token));
        if (record?.connected) {
          await ctx.storage.put(participantKey(binding.token), { ...record, connected: false });
          everyone(ctx, state).emit("lobby:updated", lobbyView(state, await listParticipants(ctx)));
        }
      }
    },

    async onAlarm(ctx, alarm) {
      const state = await loadState(ctx);
      if (!state) return;
      const now = Date.now();
      // Alarms fire at least once: one that is not the pending one the state names (it was
      // cancelled, replaced, or already ran) does nothing.
      switch (alarm.name) {
        case "tick": {
          const question = currentQuestion(state);
          if (state.phase !== "question_open" || alarm.id !== state.alarms.tick || !question) return;
          if (await catchUp(ctx, state, now)) return;
          state.lastTickAt = now;
          const remainingMs = remainingAt(state, now);
          state.alarms.tick = remainingMs > TICK_MS ? await ctx.schedule.at(now + TICK_MS, "tick", { questionId: question.id }) : null;
          await saveState(ctx, state);
          everyone(ctx, state).emit("game:timer_tick", { questionId: question.id, remainingMs }, { volatile: true });
          return;
        }
        case "expire": {
          if (state.phase !== "question_open" || alarm.id !== state.alarms.expire) return;
          if (await catchUp(ctx, state, now)) return;
          await reveal(ctx, state);
          return;
        }
        case "host-grace": {
          if (state.phase === "ended" || alarm.id !== state.alarms.grace) return;
          state.alarms.grace = null;
          await endSession(ctx, state, "host_away", resolved);
          return;
        }
        case "purge": {
          if (state.phase !== "ended") return;
          for (const pending of await ctx.schedule.list()) await ctx.schedule.cancel(pending.id);
          await ctx.storage.deleteAll();
          return;
        }
      }
    },
  });

  room.on("rejoin_host", { schema: hostSchema }, async (ctx, { hostId, hostKey }): Promise<HostSnapshot> => {
    const state = await requireState(ctx);
    const [storedId, storedHash] = await Promise.all([ctx.storage.get<string>(HOST_ID_KEY), ctx.storage.get<string>(HOST_KEY_HASH_KEY)]);
    const keyOk = storedHash !== undefined && (await hostKeyMatches(hostKey, storedHash));
    if (hostId !== storedId || !keyOk) throw fail("WRONG_HOST_KEY");
    const binding = bindingIn(ctx, state);
    if (binding.role === "participant") throw fail("ALREADY_JOINED", "This connection joined as a participant; the host needs its own");
    Object.assign(ctx.connection.state, { sessionId: state.sessionId, role: "host", token: null, participantId: null } satisfies Binding);
    await ctx.connection.join(sessionChannel(state.sessionId));
    await ctx.connection.join(hostChannel(state.sessionId));
    await hostArrived(ctx, state);
    return hostSnapshot(ctx, state, storedId);
  });

  room.on("update_session", async (ctx, data): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase !== "waiting") throw fail("WRONG_PHASE", "The session can only be edited before it starts");
    const session = validSession(data, resolved);
    state.title = session.title;
    state.timerSeconds = session.timerSeconds;
    state.wines = buildWines(session.wines);
    await saveState(ctx, state);
    await writeIndex(ctx, state);
    everyone(ctx, state).emit("lobby:updated", lobbyView(state, await listParticipants(ctx)));
    return { phase: state.phase };
  });

  room.on("join_session", { schema: joinSchema }, async (ctx, { pseudonym: typed }): Promise<JoinSessionReply> => {
    const state = await requireState(ctx);
    const binding = bindingIn(ctx, state);
    if (binding.role === "participant") throw fail("ALREADY_JOINED");
    if (binding.role === "host") throw fail("ALREADY_JOINED", "This connection is the host's; join from another device or tab");
    if (state.phase === "ended") throw fail("SESSION_ENDED");
    if (state.locked) throw fail("SESSION_LOCKED");
    const checked = checkPseudonym(typed);
    if (!checked.ok) throw fail("INVALID_PSEUDONYM", checked.message);
    const participants = await listParticipants(ctx);
    if (participants.length >= LIMITS.participants) throw fail("SESSION_FULL", `This session is full (${LIMITS.participants} participants)`);
    const wanted = pseudonymKey(checked.pseudonym);
    if (participants.some((p) => pseudonymKey(p.pseudonym) === wanted)) {
      throw fail("PSEUDONYM_TAKEN", `Someone here is already called "${checked.pseudonym}"; pick another pseudonym`);
    }
    const token = randomToken(24);
    const record: ParticipantRecord = {
      id: randomToken(9),
      pseudonym: checked.pseudonym,
      score: 0,
      connected: true,
      answered: [],
      joinedAt: Date.now(),
    };
    await ctx.storage.put(participantKey(token), record);
    state.participantCount = participants.length + 1;
    await saveState(ctx, state);
    await bindParticipant(ctx, state, token, record.id);
    const all = [...participants, { ...record, token }];
    everyone(ctx, state).emit("lobby:updated", lobbyView(state, all));
    await sendAnsweredCount(ctx, state);
    return { participantId: record.id, rejoinToken: token, pseudonym: record.pseudonym, snapshot: await participantSnapshot(ctx, state, token) };
  });

  room.on("rejoin_session", { schema: rejoinSchema }, async (ctx, { rejoinToken }): Promise<ParticipantSnapshot> => {
    const state = await requireState(ctx);
    const record = await ctx.storage.get<ParticipantRecord>(participantKey(rejoinToken));
    if (!record) throw fail("UNKNOWN_REJOIN_TOKEN");
    const binding = bindingIn(ctx, state);
    if (binding.role === "host") throw fail("ALREADY_JOINED", "This connection is the host's; rejoin from another device or tab");
    if (binding.role === "participant" && binding.token !== rejoinToken) throw fail("ALREADY_JOINED", "This connection belongs to another participant");
    await bindParticipant(ctx, state, rejoinToken, record.id);
    await participantArrived(ctx, state);
    return participantSnapshot(ctx, state, rejoinToken);
  });

  room.on("submit_answer", { schema: answerSchema }, async (ctx, { questionId, optionId }): Promise<SubmitAnswerReply> => {
    const state = await requireState(ctx);
    const { token, participantId } = requireParticipant(ctx, state);
    const question = currentQuestion(state);
    if (!isOpen(state) || !question) throw fail("QUESTION_CLOSED", closedMessage(state));
    if (question.id !== questionId) {
      const order = state.wines.flatMap((w) => w.questions.map((q) => q.id));
      const past = order.indexOf(questionId) !== -1 && order.indexOf(questionId) < order.indexOf(question.id);
      throw past
        ? fail("QUESTION_CLOSED", `Question ${questionId} is closed; the open one is ${question.id}`)
        : fail("WRONG_QUESTION", `Question ${questionId} is not open; the open one is ${question.id}`);
    }
    if (!question.options.some((o) => o.id === optionId)) {
      throw fail("UNKNOWN_OPTION", `"${optionId}" is not an option of this question (${question.options.map((o) => o.id).join(", ")})`);
    }
    const record = await ctx.storage.get<ParticipantRecord>(participantKey(token));
    if (!record) throw fail("NOT_JOINED");
    await ctx.storage.put(responseKey(participantId, questionId), { optionId, answeredAt: Date.now(), revealed: false, correct: null, points: 0 } satisfies ResponseRecord);
    if (!record.answered.includes(questionId)) {
      await ctx.storage.put(participantKey(token), { ...record, answered: [...record.answered, questionId] });
      const count = ((await ctx.storage.get<number>(answeredKey(questionId))) ?? 0) + 1;
      await ctx.storage.put(answeredKey(questionId), count);
      ctx.emit.to(hostChannel(state.sessionId)).emit("game:participant_answered", { questionId, answeredCount: count, participantCount: state.participantCount });
    }
    return { questionId, optionId };
  });

  room.on("host:start", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase !== "waiting") throw fail("WRONG_PHASE", "The session has already started");
    if (state.participantCount === 0) throw fail("NO_PARTICIPANTS");
    await openQuestion(ctx, state, 0, 0);
    await writeIndex(ctx, state);
    return { phase: state.phase };
  });

  room.on("host:pause", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase === "question_paused") return { phase: state.phase };
    if (state.phase !== "question_open") throw fail("WRONG_PHASE", "Only an open question can be paused");
    const now = Date.now();
    const question = currentQuestion(state)!;
    state.remainingMs = remainingAt(state, now);
    state.deadline = null;
    state.lastTickAt = null;
    state.phase = "question_paused";
    await cancelTimer(ctx, state);
    await saveState(ctx, state);
    everyone(ctx, state).emit("game:timer_paused", { questionId: question.id, remainingMs: state.remainingMs });
    return { phase: state.phase };
  });

  room.on("host:resume", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase === "question_open") return { phase: state.phase };
    if (state.phase !== "question_paused") throw fail("WRONG_PHASE", "Only a paused question can be resumed");
    const question = currentQuestion(state)!;
    const remainingMs = state.remainingMs ?? 0;
    await startTimer(ctx, state, Date.now(), remainingMs);
    await saveState(ctx, state);
    everyone(ctx, state).emit("game:timer_resumed", { questionId: question.id, remainingMs });
    return { phase: state.phase };
  });

  room.on("host:reveal", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    // Revealed already (the timer got there first): nothing more to do.
    if (state.phase === "question_revealed") return { phase: state.phase };
    if (!isOpen(state)) throw fail("WRONG_PHASE", "There is no open question to reveal");
    await reveal(ctx, state);
    return { phase: state.phase };
  });

  room.on("host:next", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    const lastQuestion = state.questionIndex === (state.wines[state.roundIndex]?.questions.length ?? 0) - 1;
    if (state.phase === "question_revealed" && !lastQuestion) {
      await openQuestion(ctx, state, state.roundIndex, state.questionIndex + 1);
    } else if (state.phase === "question_revealed") {
      state.phase = "round_leaderboard";
      await saveState(ctx, state);
      everyone(ctx, state).emit("game:round_leaderboard", roundLeaderboard(state, await listParticipants(ctx)));
    } else if (state.phase === "round_leaderboard" && state.roundIndex < state.wines.length - 1) {
      await openQuestion(ctx, state, state.roundIndex + 1, 0);
    } else if (state.phase === "round_leaderboard") {
      await endSession(ctx, state, "completed", resolved);
    } else {
      throw fail("WRONG_PHASE", isOpen(state) ? "Reveal the answer before moving on" : `Nothing comes next in phase ${state.phase}`);
    }
    return { phase: state.phase };
  });

  room.on("host:end", { schema: noPayload }, async (ctx): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase !== "ended") await endSession(ctx, state, "host_ended", resolved);
    return { phase: state.phase };
  });

  room.on("host:lock", { schema: lockSchema }, async (ctx, data): Promise<HostActionReply> => {
    const state = await requireHost(ctx);
    if (state.phase === "ended") throw fail("SESSION_ENDED");
    state.locked = data?.locked ?? true;
    await saveState(ctx, state);
    everyone(ctx, state).emit("lobby:updated", lobbyView(state, await listParticipants(ctx)));
    return { phase: state.phase };
  });

  // Server-side actions of the HTTP API (api.ts), the same on Node and on Cloudflare.
  room.action("open", (ctx, input: OpenInput) => openSession(ctx, input, resolved));
  room.action("indexEntry", (ctx, { createdAt }: { createdAt: number }) => indexEntryOf(ctx, createdAt));

  return room;
}

type OpenInput = { session: SessionInput; hostId: string; hostKeyHash: string; replaceEnded?: boolean };

/**
 * Opens a new session in the room `ctx` belongs to, unless a session holds its code: a live
 * one always does; an ended one (kept for late rejoins) unless `replaceEnded`, and then its
 * data is cleared first (its results stay in the host index).
 */
export async function openSession(
  ctx: Ctx,
  input: OpenInput,
  resolved: ResolvedArenaOptions,
): Promise<boolean> {
  const existing = await loadState(ctx);
  if (existing && (existing.phase !== "ended" || !input.replaceEnded)) return false;
  if (existing) {
    for (const pending of await ctx.schedule.list()) await ctx.schedule.cancel(pending.id);
    await ctx.storage.deleteAll();
  }
  const now = Date.now();
  const state: SessionState = {
    sessionId: randomToken(12),
    code: ctx.room.id,
    title: input.session.title,
    timerSeconds: input.session.timerSeconds,
    createdAt: now,
    wines: buildWines(input.session.wines),
    phase: "waiting",
    roundIndex: -1,
    questionIndex: -1,
    deadline: null,
    remainingMs: null,
    lastTickAt: null,
    alarms: { tick: null, expire: null, grace: null },
    locked: false,
    participantCount: 0,
    // The host has not connected yet: the session ends if it never does.
    hostAwaySince: now,
    graceEndsAt: now + resolved.hostGraceMs,
    endedAt: null,
    endReason: null,
    finalRankings: null,
  };
  state.alarms.grace = await ctx.schedule.at(state.graceEndsAt!, "host-grace");
  await ctx.storage.put({ [HOST_ID_KEY]: input.hostId, [HOST_KEY_HASH_KEY]: input.hostKeyHash });
  await saveState(ctx, state);
  await writeIndex(ctx, state, input.hostId);
  return true;
}

/** The host index entry of the session `ctx` belongs to (for healing the index), or undefined. */
export async function indexEntryOf(ctx: Ctx, createdAt: number): Promise<HostIndexEntry | undefined> {
  const state = await loadState(ctx);
  return state && state.createdAt === createdAt ? indexEntry(state) : undefined;
}

export function validSession(data: unknown, resolved: ResolvedArenaOptions): SessionInput {
  const result = validateSession(data, { minTimerSeconds: resolved.minTimerSeconds });
  if (result.ok) return result.session;
  const [first, ...rest] = result.problems;
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? "s" : ""})` : "";
  throw new CellarError(first!.code, `${first!.message}${more}`);
}

// ---------------------------------------------------------------------------------------

async function loadState(ctx: Ctx): Promise<SessionState | undefined> {
  return ctx.storage.get<SessionState>(STATE_KEY);
}

async function saveState(ctx: Ctx, state: SessionState): Promise<void> {
  await ctx.storage.put(STATE_KEY, state);
}

async function requireState(ctx: Ctx): Promise<SessionState> {
  const state = await loadState(ctx);
  if (!state) throw fail("SESSION_NOT_FOUND");
  return state;
}

/** The connection's binding if it was made in the current session; an unbound one otherwise. */
function bindingIn(ctx: ConnCtx, state: SessionState): Binding {
  const binding = ctx.connection.state;
  return binding.sessionId === state.sessionId ? binding : { sessionId: null, role: null, token: null, participantId: null };
}

async function requireHost(ctx: ConnCtx): Promise<SessionState> {
  const state = await requireState(ctx);
  if (bindingIn(ctx, state).role !== "host") throw fail("NOT_HOST");
  return state;
}

function requireParticipant(ctx: ConnCtx, state: SessionState): { token: string; participantId: string } {
  const { role, token, participantId } = bindingIn(ctx, state);
  if (role !== "participant" || !token || !participantId) throw fail("NOT_JOINED");
  return { token, participantId };
}

async function putParticipant(ctx: Ctx, participant: Participant): Promise<void> {
  const { token, ...record } = participant;
  await ctx.storage.put(participantKey(token), record satisfies ParticipantRecord);
}

async function listParticipants(ctx: Ctx): Promise<Participant[]> {
  const out: Participant[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await ctx.storage.list<ParticipantRecord>({ prefix: PARTICIPANT_PREFIX, limit: 1000, ...(startAfter ? { startAfter } : {}) });
    for (const [key, record] of page) out.push({ ...record, token: key.slice(PARTICIPANT_PREFIX.length) });
    if (page.size < 1000) return out;
    startAfter = [...page.keys()].at(-1);
  }
}

/** Gets many keys, 128 at a time (the storage's batch limit). */
async function getMany<T>(ctx: Ctx, keys: string[]): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (let i = 0; i < keys.length; i += 128) {
    for (const [key, value] of await ctx.storage.get<T>(keys.slice(i, i + 128))) out.set(key, value);
  }
  return out;
}

async function putMany(ctx: Ctx, entries: Array<[string, unknown]>): Promise<void> {
  for (let i = 0; i < entries.length; i += 128) await ctx.storage.put(Object.fromEntries(entries.slice(i, i + 128)));
}

/** Sends to every connection bound to the session (not to ones that have not joined). */
function everyone(ctx: Ctx, state: SessionState) {
  return ctx.emit.to(sessionChannel(state.sessionId));
}

function inChannel(ctx: Ctx, channel: string): boolean {
  return ctx.room.connections().some((c) => c.channels.has(channel));
}

const hostPresent = (ctx: Ctx, state: SessionState) => inChannel(ctx, hostChannel(state.sessionId));
const participantPresent = (ctx: Ctx, state: SessionState, participantId: string) => inChannel(ctx, participantChannel(state.sessionId, participantId));

async function bindParticipant(ctx: ConnCtx, state: SessionState, token: string, participantId: string): Promise<void> {
  Object.assign(ctx.connection.state, { sessionId: state.sessionId, role: "participant", token, participantId } satisfies Binding);
  await ctx.connection.join(sessionChannel(state.sessionId));
  await ctx.connection.join(participantChannel(state.sessionId, participantId));
}

async function participantArrived(ctx: ConnCtx, state: SessionState): Promise<void> {
  const { token } = ctx.connection.state;
  const record = token ? await ctx.storage.get<ParticipantRecord>(participantKey(token)) : undefined;
  if (!token || !record || record.connected) return;
  await ctx.storage.put(participantKey(token), { ...record, connected: true });
  everyone(ctx, state).emit("lobby:updated", lobbyView(state, await listParticipants(ctx)));
}

async function hostArrived(ctx: Ctx, state: SessionState): Promise<void> {
  if (state.hostAwaySince === null || state.phase === "ended") return;
  if (state.alarms.grace) await ctx.schedule.cancel(state.alarms.grace);
  state.alarms.grace = null;
  state.hostAwaySince = null;
  state.graceEndsAt = null;
  await saveState(ctx, state);
  everyone(ctx, state).emit("session:host_back", {});
}

async function hostLeft(ctx: Ctx, state: SessionState, resolved: ResolvedArenaOptions, now: number): Promise<void> {
  if (state.hostAwaySince !== null) return;
  state.hostAwaySince = now;
  state.graceEndsAt = now + resolved.hostGraceMs;
  state.alarms.grace = await ctx.schedule.at(state.graceEndsAt, "host-grace");
  await saveState(ctx, state);
  everyone(ctx, state).emit("session:host_away", { graceEndsAt: state.graceEndsAt });
}

async function startTimer(ctx: Ctx, state: SessionState, now: number, remainingMs: number): Promise<void> {
  const question = currentQuestion(state)!;
  await cancelTimer(ctx, state);
  state.phase = "question_open";
  state.deadline = now + remainingMs;
  state.remainingMs = null;
  state.lastTickAt = now;
  state.alarms.expire = await ctx.schedule.at(state.deadline, "expire", { questionId: question.id, deadline: state.deadline });
  state.alarms.tick = remainingMs > TICK_MS ? await ctx.schedule.at(now + TICK_MS, "tick", { questionId: question.id }) : null;
}

async function cancelTimer(ctx: Ctx, state: SessionState): Promise<void> {
  if (state.alarms.tick) await ctx.schedule.cancel(state.alarms.tick);
  if (state.alarms.expire) await ctx.schedule.cancel(state.alarms.expire);
  state.alarms.tick = null;
  state.alarms.expire = null;
}

/**
 * If the open question's timer has not ticked for longer than a tick should take (or
 * `afterRestart`), the server was not running: the question gets back the time it had at
 * its last tick, from now. Returns whether it moved the deadline.
 */
async function catchUp(ctx: Ctx, state: SessionState, now: number, afterRestart = false): Promise<boolean> {
  if (state.phase !== "question_open" || state.deadline === null || state.lastTickAt === null) return false;
  if (!afterRestart && now - state.lastTickAt <= OUTAGE_GAP_MS) return false;
  const remainingMs = Math.max(0, state.deadline - state.lastTickAt);
  await startTimer(ctx, state, now, remainingMs);
  await saveState(ctx, state);
  return true;
}

async function openQuestion(ctx: Ctx, state: SessionState, roundIndex: number, questionIndex: number): Promise<void> {
  state.roundIndex = roundIndex;
  state.questionIndex = questionIndex;
  const now = Date.now();
  await startTimer(ctx, state, now, state.timerSeconds * 1000);
  await saveState(ctx, state);
  everyone(ctx, state).emit("game:question", questionView(state, currentQuestion(state)!, now));
}

async function responsesTo(ctx: Ctx, questionId: string, participants: Participant[]): Promise<Map<string, ResponseRecord>> {
  const found = await getMany<ResponseRecord>(
    ctx,
    participants.map((p) => responseKey(p.id, questionId)),
  );
  const byParticipant = new Map<string, ResponseRecord>();
  for (const p of participants) {
    const response = found.get(responseKey(p.id, questionId));
    if (response) byParticipant.set(p.id, response);
  }
  return byParticipant;
}

/** Closes the open question: scores every answer and tells each participant their own result. */
async function reveal(ctx: Ctx, state: SessionState): Promise<void> {
  const question = currentQuestion(state)!;
  await cancelTimer(ctx, state);
  const participants = await listParticipants(ctx);
  const scored = scoreQuestion(question, participants, await responsesTo(ctx, question.id, participants), false);
  const writes: Array<[string, unknown]> = [];
  for (const { participant, response, correct, points, score } of scored.results) {
    if (!response) continue;
    writes.push([responseKey(participant.id, question.id), { ...response, revealed: true, correct, points } satisfies ResponseRecord]);
    if (points > 0) {
      const { token, ...record } = participant;
      writes.push([participantKey(token), { ...record, score } satisfies ParticipantRecord]);
    }
  }
  await putMany(ctx, writes);
  state.phase = "question_revealed";
  state.deadline = null;
  state.remainingMs = 0;
  state.lastTickAt = null;
  await saveState(ctx, state);
  ctx.emit.to(hostChannel(state.sessionId)).emit("game:answer_revealed", hostReveal(question, scored));
  for (const result of scored.results) {
    ctx.emit.to(participantChannel(state.sessionId, result.participantId)).emit("game:answer_revealed", participantReveal(question, result));
  }
}

function roundLeaderboard(state: SessionState, participants: Participant[]) {
  return {
    roundIndex: state.roundIndex,
    roundCount: state.wines.length,
    wineName: state.wines[state.roundIndex]?.input.name ?? "",
    rankings: rankings(participants),
  };
}

async function endSession(ctx: Ctx, state: SessionState, reason: EndReason, resolved: ResolvedArenaOptions): Promise<void> {
  await cancelTimer(ctx, state);
  if (state.alarms.grace) await ctx.schedule.cancel(state.alarms.grace);
  state.alarms.grace = null;
  const participants = await listParticipants(ctx);
  state.phase = "ended";
  state.deadline = null;
  state.remainingMs = null;
  state.lastTickAt = null;
  state.endedAt = Date.now();
  state.endReason = reason;
  state.finalRankings = rankings(participants);
  state.participantCount = participants.length;
  await ctx.schedule.after(resolved.retainEndedMs, "purge");
  await saveState(ctx, state);
  await writeIndex(ctx, state);
  everyone(ctx, state).emit("game:final_leaderboard", { rankings: state.finalRankings });
  everyone(ctx, state).emit("session:ended", { reason, rankings: state.finalRankings });
}

function indexEntry(state: SessionState): HostIndexEntry {
  const status = state.phase === "ended" ? "ended" : state.phase === "waiting" ? "waiting" : "live";
  return {
    code: state.code,
    title: state.title,
    createdAt: state.createdAt,
    status,
    participantCount: state.participantCount,
    ...(state.finalRankings ? { finalRankings: state.finalRankings } : {}),
  };
}

async function writeIndex(ctx: Ctx, state: SessionState, hostId?: string): Promise<void> {
  const id = hostId ?? (await ctx.storage.get<string>(HOST_ID_KEY));
  if (id) await upsertEntry(ctx.kv(HOSTS), id, indexEntry(state));
}

async function sendAnsweredCount(ctx: Ctx, state: SessionState): Promise<void> {
  const question = currentQuestion(state);
  if (!question || !isOpen(state)) return;
  const answeredCount = (await ctx.storage.get<number>(answeredKey(question.id))) ?? 0;
  ctx.emit.to(hostChannel(state.sessionId)).emit("game:participant_answered", { questionId: question.id, answeredCount, participantCount: state.participantCount });
}

function closedMessage(state: SessionState): string {
  if (state.phase === "waiting") return "No question is open yet: the tasting has not started";
  if (state.phase === "ended") return ERRORS.SESSION_ENDED;
  return "This question is closed; wait for the next one";
}

// ---------------------------------------------------------------------------------------
// Snapshots

function base(state: SessionState, participants: Participant[], now: number) {
  return {
    code: state.code,
    ...lobbyView(state, participants),
    phase: state.phase,
    hostConnected: state.hostAwaySince === null,
    graceEndsAt: state.graceEndsAt,
    question: currentQuestionView(state, now),
    roundLeaderboard: state.phase === "round_leaderboard" ? roundLeaderboard(state, participants) : null,
    finalRankings: state.finalRankings,
    endReason: state.endReason,
  };
}

async function participantSnapshot(ctx: Ctx, state: SessionState, token: string): Promise<ParticipantSnapshot> {
  const participants = await listParticipants(ctx);
  const me = participants.find((p) => p.token === token)!;
  const question = shownQuestion(state);
  const response = question ? await ctx.storage.get<ResponseRecord>(responseKey(me.id, question.id)) : undefined;
  const ranked = state.finalRankings ?? rankings(participants);
  const revealed = question && state.phase === "question_revealed";
  return {
    role: "participant",
    ...base(state, participants, Date.now()),
    you: { participantId: me.id, pseudonym: me.pseudonym, score: me.score, rank: ranked.find((r) => r.pseudonym === me.pseudonym)?.rank ?? participants.length },
    yourAnswer: response?.optionId ?? null,
    reveal: revealed
      ? participantReveal(question, {
          participantId: me.id,
          pseudonym: me.pseudonym,
          optionId: response?.optionId ?? null,
          correct: response?.correct ?? false,
          points: response?.points ?? 0,
          score: me.score,
        })
      : null,
  };
}

async function hostSnapshot(ctx: Ctx, state: SessionState, hostId: string): Promise<HostSnapshot> {
  const participants = await listParticipants(ctx);
  const question = shownQuestion(state);
  const answeredCount = question ? ((await ctx.storage.get<number>(answeredKey(question.id))) ?? 0) : 0;
  const reveal =
    question && state.phase === "question_revealed"
      ? hostReveal(question, scoreQuestion(question, participants, await responsesTo(ctx, question.id, participants), true))
      : null;
  return {
    role: "host",
    ...base(state, participants, Date.now()),
    hostId,
    wines: state.wines.map((w) => w.input),
    answeredCount,
    reveal,
    rankings: state.finalRankings ?? rankings(participants),
  };
}
