import { DetachedSession, decodeChannels, type ConnectionRecord } from "../core/connection.js";
import type { RoomDefinition } from "../core/define-room.js";
import { CLOSE_CODES } from "../core/error-codes.js";
import { cellarError, toClientError } from "../core/errors.js";
import type { ResolvedHostOptions } from "../core/host-options.js";
import { createIdSource } from "../core/ids.js";
import { RoomInstance, type Task } from "../core/instance.js";
import { takeBinaryFrame, takeTextFrame, type IntakeHost } from "../core/intake.js";
import { LogThrottle } from "../core/log-throttle.js";
import type { Logger } from "../core/ports.js";
import { errorFrame, PING_FRAME, PONG_FRAME } from "../core/protocol.js";
import { TokenBucket } from "../core/rate-limiter.js";
import type { Router } from "../core/router.js";
import { CfConnection } from "./connections.js";
import { WorkersKv } from "./kv.js";
import { ObjectStore } from "./object-store.js";
import { ReplaySql } from "./replay-sql.js";

/** Headers the Worker uses to tell an object which instance it is. */
export const KIND_HEADER = "cellar-room-kind";
export const ID_HEADER = "cellar-room-id";

/** How long an outbox that KV refused waits before the next try. */
const KV_RETRY_MS = 5000;
const MAX_ALARM_BACKOFF_MS = 60_000;

/** An action's outcome as it crosses from the object to the Worker (errors keep their code). */
export type CallResult = { ok: true; value: unknown } | { ok: false; code: string; message: string };

export interface ObjectOptions extends ResolvedHostOptions {
  log: Logger;
}

/**
 * Internal: one room instance on a Durable Object: the object's sockets (hibernatable, with
 * what the core keeps per connection in their attachments), its commits (one
 * `transactionSync` per batch, which the platform's output gate then holds replies behind
 * until the write is durable), and its alarms (every durable alarm of the room multiplexed
 * onto the object's single alarm, with session expiry and KV retries).
 */
export class ObjectHost {
  readonly #ctx: DurableObjectState;
  readonly #o: ObjectOptions;
  readonly #router: Router;
  readonly #store: ObjectStore;
  readonly #sql: ReplaySql;
  readonly #kv: WorkersKv;
  readonly #throttle = new LogThrottle(10, Date.now);
  readonly #newId = createIdSource(Date.now);
  readonly #connections = new Set<ConnectionRecord>();
  readonly #sockets = new Map<WebSocket, CfConnection>();
  readonly #intake: IntakeHost;
  #def: RoomDefinition<any, any> | undefined;
  #id: string | undefined;
  #instance: RoomInstance | undefined;
  /** Sockets outlived the object that accepted them: the first load runs onHibernationRestore. */
  readonly #restoring: boolean;
  #commitScheduled = false;
  /** Alarms dispatched and not settled yet, with what to call when they are. */
  readonly #alarmsInFlight = new Map<string, () => void>();
  readonly #alarmFailures = new Map<string, number>();
  #lastTrim = 0;

  constructor(ctx: DurableObjectState, env: Record<string, unknown>, options: ObjectOptions, router: Router) {
    this.#ctx = ctx;
    this.#o = options;
    this.#router = router;
    this.#sql = new ReplaySql(ctx.storage);
    this.#store = new ObjectStore(ctx.storage, () => this.#sql);
    this.#kv = new WorkersKv(env, this.#store, options.log);
    this.#intake = this.#intakeHost();
    // Pings are answered by the platform without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    const kind = this.#store.getMeta("kind");
    this.#id = this.#store.getMeta("id");
    this.#def = kind === undefined ? undefined : router.kind(kind);
    for (const ws of ctx.getWebSockets()) {
      const c = CfConnection.restored(ws, this.#store, this.#bucket());
      if (!c) continue;
      this.#sockets.set(ws, c);
      this.#connections.add(c);
      // A hello lost with the object that received it: the client says it again.
      if (c.phase === "handshake") c.port.close(CLOSE_CODES.SERVICE_RESTART, "SERVICE_RESTART");
    }
    this.#restoring = this.#connections.size > 0;
    this.#loadSessions();
  }

  // Entry points (the Durable Object class forwards to these)

  async fetch(request: Request): Promise<Response> {
    const kind = request.headers.get(KIND_HEADER);
    const id = request.headers.get(ID_HEADER);
    const def = kind === null ? undefined : this.#router.kind(kind);
    if (!def || id === null) return Response.json({ code: "ROOM_NOT_FOUND" }, { status: 404 });
    this.#identify(def.name, id);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ code: "UPGRADE_REQUIRED" }, { status: 426 });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.#ctx.acceptWebSocket(server);
    const headers = new Headers(request.headers);
    headers.delete(KIND_HEADER);
    headers.delete(ID_HEADER);
    const c = CfConnection.accepted(server, this.#store, this.#bucket(), new Request(request.url, { headers }));
    this.#sockets.set(server, c);
    this.#connections.add(c);
    c.handshakeTimer = setTimeout(() => {
      if (c.phase !== "handshake") return;
      const error = cellarError("HANDSHAKE_TIMEOUT", `No hello within ${this.#o.handshakeTimeoutMs} ms`);
      c.send(errorFrame(error.toJSON()));
      c.port.close(CLOSE_CODES.HANDSHAKE_TIMEOUT, error.code);
    }, this.#o.handshakeTimeoutMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Runs a room action in the instance (the Worker checked that it exists). */
  call(kind: string, id: string, action: string, args: unknown): Promise<CallResult> {
    this.#identify(kind, id);
    const fn = this.#def?.actions.get(action);
    return new Promise((resolve) => {
      this.#dispatch({
        type: "invoke",
        fn: (ctx) => fn!(ctx, args),
        resolve: (value) => resolve({ ok: true, value }),
        reject: (error) => {
          const { code, message } = toClientError(error, "INTERNAL_ERROR", `Action "${action}" failed`);
          if (code === "INTERNAL_ERROR") this.#o.log.error({ err: error, room: kind, instance: id, action }, "room action failed");
          resolve({ ok: false, code, message });
        },
      });
    });
  }

  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const c = this.#sockets.get(ws);
    if (!c) return;
    if (typeof data !== "string") return takeBinaryFrame(this.#intake, c);
    // The platform takes frames up to 32 MiB; the room's own limit is enforced here.
    if (data.length > this.#o.maxPayloadBytes || (data.length * 3 > this.#o.maxPayloadBytes && new TextEncoder().encode(data).length > this.#o.maxPayloadBytes)) {
      this.#intake.refused("PAYLOAD_TOO_LARGE");
      c.port.close(CLOSE_CODES.MESSAGE_TOO_BIG, "MESSAGE_TOO_BIG");
      return;
    }
    takeTextFrame(this.#intake, c, data);
  }

  closed(ws: WebSocket, code: number, reason: string): void {
    const c = this.#sockets.get(ws);
    this.#sockets.delete(ws);
    // Completes the closing handshake (the platform leaves it to the object).
    try {
      ws.close(code === 1005 || code === 1006 ? CLOSE_CODES.NORMAL : code, reason);
    } catch {
      // Already closed.
    }
    if (!c) return;
    if (c.handshakeTimer !== undefined) clearTimeout(c.handshakeTimer);
    if (c.metaStored) this.#store.deleteSocketMeta(c.id);
    const wasOpen = c.phase === "open";
    c.phase = "closed";
    if (c.ended === "replaced") return void this.#connections.delete(c);
    const ended = c.ended === "closed" || code === CLOSE_CODES.NORMAL;
    if (wasOpen && c.resumable && !ended) this.#detach(c);
    const def = this.#def?.options;
    if (wasOpen && def && (def.onDisconnect || def.connection || (ended && c.resumable))) {
      this.#dispatch({ type: "disconnect", connection: c, code, reason, ended });
    }
    this.#connections.delete(c);
  }

  /** The object's alarm: due room alarms, sessions past their window, KV writes to retry. */
  async alarm(): Promise<void> {
    const now = Date.now();
    this.#expireSessions(now);
    await this.#kv.flush();
    const settled: Promise<void>[] = [];
    if (this.#def) {
      for (const alarm of this.#store.dueAlarms(now)) {
        if (this.#alarmsInFlight.has(alarm.id)) continue;
        settled.push(new Promise((resolve) => this.#alarmsInFlight.set(alarm.id, resolve)));
        this.#dispatch({ type: "alarm", alarm });
      }
    }
    await Promise.all(settled);
    this.#trimLog(now);
    await this.#scheduleWake();
  }

  /** The first request tells the object which instance it is; it keeps that for its alarms. */
  #identify(kind: string, id: string): void {
    if (this.#def) return;
    this.#store.setMeta("kind", kind);
    this.#store.setMeta("id", id);
    this.#def = this.#router.kind(kind);
    this.#id = id;
  }

  // The core's view of the object

  #instanceOf(): RoomInstance {
    if (this.#instance) return this.#instance;
    const o = this.#o;
    const instance: RoomInstance = new RoomInstance({
      def: this.#def!,
      kind: this.#def!.name,
      id: this.#id!,
      store: this.#store,
      kvStore: this.#kv,
      limits: o.limits,
      log: o.log,
      throttle: this.#throttle,
      restoring: this.#restoring,
      resumeWindowMs: o.resumeWindowMs,
      now: Date.now,
      newId: this.#newId,
      connections: () => this.#connections,
      requestCommit: () => this.#requestCommit(),
      alarmSettled: (id, retry) => this.#alarmSettled(id, retry),
      forgetSession: (record) => void this.#connections.delete(record),
      detach: (record) => this.#detach(record),
      broken: (broken) => {
        if (this.#instance === broken) this.#instance = undefined;
      },
    });
    return (this.#instance = instance);
  }

  #dispatch(task: Task): void {
    this.#instanceOf().enqueue(task);
  }

  #bucket(): TokenBucket {
    return new TokenBucket(this.#o.eventsPerSecond, this.#o.burst, Date.now());
  }

  #intakeHost(): IntakeHost {
    return {
      now: Date.now,
      closing: () => false,
      committedSeq: () => this.#instance?.gate.committedSeq ?? this.#store.logHead().seq,
      handles: (_connection, event) => this.#def?.handlerFor(event) !== undefined,
      hello: (connection, frame) => {
        const c = connection as CfConnection;
        if (c.handshakeTimer !== undefined) clearTimeout(c.handshakeTimer);
        c.handshakeTimer = undefined;
        const request = c.request;
        c.request = undefined;
        if (!request) return c.port.close(CLOSE_CODES.SERVICE_RESTART, "SERVICE_RESTART");
        this.#dispatch({ type: "connect", connection: c, request, params: frame.params ?? {}, resume: frame.resume });
      },
      event: (connection, event, data, id) => this.#dispatch({ type: "event", connection, event, data, id }),
      refused: () => {},
    };
  }

  // Commits

  /**
   * Group commit within the object: the commit waits for a timer turn, by which time workerd
   * has delivered the socket messages already waiting, so a burst of events shares one
   * transaction (and one durable write) instead of one each.
   */
  #requestCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setTimeout(() => this.#commit(), 0);
  }

  /**
   * Commits the instance's waiting batch in one `transactionSync`: the kept SQL statements,
   * then state, storage, alarms, log, sessions and KV outbox rows; a limit refuses the whole
   * of it. KV writes are sent to Workers KV before the batch's frames are released.
   */
  #commit(): void {
    this.#commitScheduled = false;
    const instance = this.#instance;
    const batch = instance?.takeBatch();
    if (!instance || !batch) return;
    try {
      this.#ctx.storage.transactionSync(() => {
        if (batch.sqlUsed) this.#sql.applyPending();
        this.#store.apply(batch.writes, this.#o.replayLogMaxEntries);
        this.#store.checkSize(this.#o.limits.maxInstanceBytes, batch.sqlUsed);
      });
    } catch (error) {
      this.#sql.clearPending();
      instance.gate.failed(batch, error);
      return;
    }
    this.#sql.clearPending();
    this.#trimLog(Date.now());
    if (batch.writes.alarms.size > 0) void this.#scheduleWake();
    if (batch.writes.kv.size === 0) return instance.gate.succeeded(batch);
    void this.#kv.flush().then((sent) => {
      if (!sent) void this.#scheduleWake();
      instance.gate.succeeded(batch);
    });
  }

  // Sessions

  /**
   * At construction: sessions stored without a socket here are away (since now, if the
   * object never saw them go: a restart); those away longer than the window end.
   */
  #loadSessions(): void {
    if (this.#o.resumeWindowMs <= 0) return;
    const held = new Set<string>();
    for (const c of this.#connections) held.add(c.id);
    const now = Date.now();
    for (const stored of this.#store.sessions()) {
      if (held.has(stored.connectionId)) continue;
      const detachedAt = stored.detachedAt ?? now;
      if (stored.detachedAt === undefined) this.#store.setDetached(stored.connectionId, now);
      if (detachedAt + this.#o.resumeWindowMs <= now) {
        this.#store.endSession(stored.connectionId, stored.userId === undefined);
        continue;
      }
      const session = new DetachedSession({ id: stored.connectionId, meta: {}, userId: stored.userId, channels: decodeChannels(stored.channels) }, detachedAt);
      this.#connections.add(session);
    }
    if (this.#connections.size > 0) void this.#scheduleWake();
  }

  #detach(record: ConnectionRecord): void {
    const session = new DetachedSession(record, Date.now());
    this.#connections.delete(record);
    this.#connections.add(session);
    this.#store.setDetached(session.id, session.detachedAt);
    void this.#scheduleWake();
  }

  #expireSessions(now: number): void {
    const cutoff = now - this.#o.resumeWindowMs;
    for (const c of this.#connections) {
      if (!(c instanceof DetachedSession) || c.detachedAt > cutoff) continue;
      this.#connections.delete(c);
      if (this.#instance) this.#dispatch({ type: "expire", connection: c });
      else this.#store.endSession(c.id, c.userId === undefined);
    }
  }

  #trimLog(now: number): void {
    if (this.#o.resumeWindowMs <= 0 || now - this.#lastTrim < 60_000) return;
    this.#lastTrim = now;
    // Frames older than the window plus a margin cannot be missed by a session still in it.
    this.#store.trimLogBefore(now - this.#o.resumeWindowMs - 60_000);
  }

  // Alarms

  #alarmSettled(id: string, retry = false): void {
    if (retry) {
      const failures = (this.#alarmFailures.get(id) ?? 0) + 1;
      this.#alarmFailures.set(id, failures);
      this.#store.deferAlarm(id, Date.now() + Math.min(MAX_ALARM_BACKOFF_MS, 1000 * 2 ** (failures - 1)));
    } else {
      this.#alarmFailures.delete(id);
    }
    const done = this.#alarmsInFlight.get(id);
    this.#alarmsInFlight.delete(id);
    done?.();
    void this.#scheduleWake();
  }

  /** Sets the object's alarm to the earliest of: a room alarm, a session's expiry, a KV retry. */
  async #scheduleWake(): Promise<void> {
    let next = this.#store.nextAlarmAt() ?? Infinity;
    for (const c of this.#connections) {
      if (c instanceof DetachedSession) next = Math.min(next, c.detachedAt + this.#o.resumeWindowMs);
    }
    if (this.#store.outbox(1).length > 0) next = Math.min(next, Date.now() + KV_RETRY_MS);
    if (next === Infinity) return this.#ctx.storage.deleteAlarm();
    const current = await this.#ctx.storage.getAlarm();
    if (current !== next) await this.#ctx.storage.setAlarm(next);
  }
}
