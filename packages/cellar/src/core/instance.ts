import { connectionInfo, encodeChannels, type ConnectionPhase, type ConnectionRecord } from "./connection.js";
import type { RoomAccess, RoomDefinition, RoomInfo } from "./define-room.js";
import { deliver, type OutboxItem, type Sequencer } from "./emitter.js";
import { CLOSE_CODES } from "./error-codes.js";
import { constantTimeEqual, randomToken, sha256 } from "./ids.js";
import { cellarError, hookError, toClientError, type CellarError } from "./errors.js";
import { Invocation, type InvocationHost } from "./invocation.js";
import { checkValueSize, type StorageLimits } from "./limits.js";
import type { LogThrottle } from "./log-throttle.js";
import { OutputGate, type Batch, type BatchEntry } from "./output-gate.js";
import { REQUEST_ID_HEADER, type ConnectOutcome, type InstanceStore, type KvStore, type Logger, type RoomObserver, type StoredSession } from "./ports.js";
import { ackFrame, errorFrame, welcomeFrame, type ResumeRequest } from "./protocol.js";
import { toAlarm } from "./schedule-api.js";
import { validate } from "./schema.js";
import { clearSqlTables } from "./sql-clear.js";
import { commitFailure, refuse, RoomFailures } from "./room-failures.js";
import { RoomStates } from "./room-states.js";
import type { StateTracker } from "./state-tracker.js";
import type { StorageEnv } from "./storage-api.js";
import { createSqlStorage } from "./sql-api.js";
import { overlayAlarm, WriteSet, type AlarmRecord } from "./write-set.js";

/** Retries of a failing `onAlarm` before the alarm is dropped (with an error log). */
export const MAX_ALARM_ATTEMPTS = 6;

/** What a handler that changed no state hands the output gate (never written to). */
const NO_STATE_CHANGES: Map<StateTracker<any>, Map<string, string>> = new Map();
const NO_FRAMES: OutboxItem[] = [];

/** What `#onConnect` found out before a connect's writes go to the gate. */
interface Opening {
  request: UpgradeRequest;
  resume: ResumeRequest | undefined;
  /** The stored session a resume matched. */
  match: { stored: StoredSession } | undefined;
  /** The record of that session, which this connection takes over. */
  resumed: ConnectionRecord | undefined;
  seqAtOpen: number;
  /** A new session's secret, and its hash. */
  secret: string | undefined;
  freshHash: string;
}

/** A connection that closed while it was being opened: nothing to refuse, nothing to log. */
const GONE = new Error("connection closed during its handshake");

/** A resume found its session's old socket still open: that socket must go first. */
class TakeOver extends Error {
  constructor(readonly record: ConnectionRecord) {
    super("session taken over");
  }
}

/** What a host provides to run one instance. */
export interface InstanceEnv {
  readonly def: RoomDefinition<any, any>;
  readonly kind: string;
  readonly id: string;
  readonly store: InstanceStore;
  readonly kvStore: KvStore;
  readonly limits: StorageLimits;
  readonly log: Logger;
  readonly throttle: LogThrottle;
  /** Other rooms of the host, for cellar/verani's rooms (see `ROOM_ACCESS`); absent on hosts that give none. */
  readonly rooms?: RoomAccess | undefined;
  /** Counts events and connects (metrics); absent when the host counts nothing. */
  readonly observer?: RoomObserver | undefined;
  /** True when this process hibernated the instance before: run `onHibernationRestore`. */
  readonly restoring: boolean;
  /** How long a session whose socket went away may resume; 0 turns resume (and the replay log) off. */
  readonly resumeWindowMs: number;
  /**
   * The platform's synchronous SHA-256 (base64url, as `sha256`), where it has one: a resume
   * secret is hashed on every new session and every resume, and Web Crypto's digest is a
   * round trip to a worker thread (~35 µs of CPU on Node against ~3 µs for `node:crypto`).
   */
  readonly hashSecret?: ((secret: string) => string) | undefined;
  /** The host's source of secrets (as `randomToken()`), where it has a cheaper one than a CSPRNG call per token. */
  readonly randomToken?: (() => string) | undefined;
  now(): number;
  newId(): string;
  /** The instance's connections, kept by the host (they outlive the instance). */
  connections(): Iterable<ConnectionRecord>;
  /** Asks the host to commit this instance's pending batch soon (group commit). */
  requestCommit(instance: RoomInstance): void;
  /**
   * Asks the host to commit a batch of connects only (see `GateHost.requestCommitSoon`)
   * within a short while, or with an earlier group commit. Absent: as `requestCommit`.
   */
  readonly requestCommitSoon?: ((instance: RoomInstance) => void) | undefined;
  /**
   * Asks the host to commit the instance's deferred writes (see `OutputGate.defer`) with a
   * later group commit, within a short while. Absent: they commit with the next batch.
   */
  readonly requestCommitLater?: ((instance: RoomInstance) => void) | undefined;
  /**
   * An alarm's run is over: done (committed, dropped, or no longer pending), or to be tried
   * again (`retry`) after a backoff the host chooses.
   */
  alarmSettled(id: string, retry?: boolean): void;
  /** A session was resumed by another connection: its old record goes. */
  forgetSession(record: ConnectionRecord): void;
  /** A session's socket was closed by the room's side (taken over): keep the session for a resume. */
  detach(record: ConnectionRecord): void;
  /** The instance could not load; the host forgets it so the next event tries again. */
  broken(instance: RoomInstance, error: unknown): void;
}

/**
 * The upgrade request as a host hands it to the room: the Web `Request`, or, for a room kind
 * without `authenticate` (the one hook that reads it), only the request's id for log lines.
 * Making a Web `Request` from Node's own costs more than the rest of Cellar's part of a
 * connect, so the Node host makes one only for the rooms that read it.
 */
export type UpgradeRequest = Request | { readonly requestId: string | undefined };

export type Task =
  | { type: "connect"; connection: ConnectionRecord; request: UpgradeRequest; params: Record<string, unknown>; resume?: ResumeRequest }
  | { type: "event"; connection: ConnectionRecord; event: string; data: unknown; id: number | undefined }
  /** `ended`: the session ends with the socket (no resume will come). */
  | { type: "disconnect"; connection: ConnectionRecord; code: number; reason: string; ended: boolean }
  /** A session that went away was not resumed in time. */
  | { type: "expire"; connection: ConnectionRecord }
  | { type: "alarm"; alarm: AlarmRecord }
  | { type: "invoke"; fn: (ctx: any) => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void };


type Outcome = { ok: true; value: unknown; writes: WriteSet; changes: Map<StateTracker<any>, Map<string, string>> } | { ok: false; error: unknown };

/**
 * One live room instance: its state, its queue of tasks (run one at a time, in arrival
 * order, even across `await`s), and its output gate. Runtime-agnostic: storage, sockets
 * and commits come through `InstanceEnv`.
 */
export class RoomInstance implements InvocationHost {
  readonly env: InstanceEnv;
  readonly gate: OutputGate;
  readonly room: RoomInfo;
  readonly storageEnv: StorageEnv;
  /** When the last task ended (or the instance was created). */
  lastActive: number;
  readonly #states: RoomStates;
  readonly #failures: RoomFailures;
  readonly #queue: Task[] = [];
  #running = false;
  #loaded = false;
  #current: Invocation | undefined;
  /** The last sequence number given to a frame (committed or not). */
  #seq = 0;
  readonly sequencer: Sequencer;

  constructor(env: InstanceEnv) {
    this.env = env;
    this.sequencer = env.resumeWindowMs > 0 ? () => ++this.#seq : undefined;
    this.lastActive = env.now();
    this.#failures = new RoomFailures(env.def, env.id, env.log, env.throttle);
    this.#states = new RoomStates(env.def, env.store, (key, error) => this.#failures.persist(key, error));
    this.gate = new OutputGate({
      requestCommit: () => env.requestCommit(this),
      ...(env.requestCommitSoon && { requestCommitSoon: () => env.requestCommitSoon!(this) }),
      ...(env.requestCommitLater && { requestCommitLater: () => env.requestCommitLater!(this) }),
      onFailed: (batch, error) => {
        this.#failures.commit(batch.stateKeys(), error);
        // A handler still running has read what just failed to commit: it cannot succeed.
        if (this.#current) this.#current.tainted ??= error;
      },
      onSettled: () => this.#states.sweep(this.env.connections(), (tracker) => this.gate.holds(tracker)),
    });
    this.room = {
      kind: env.kind,
      id: env.id,
      connections: () => [...env.connections()].filter((c) => c.phase === "open").map(connectionInfo),
    };
    this.storageEnv = {
      store: env.store,
      limits: env.limits,
      sql: (scope) => createSqlStorage(() => env.store.sql(), (sql) => scope.enterSqlHere(sql)),
      sqlBackend: () => env.store.sql(),
      clearSql: (scope) => {
        if (!env.store.hasSql()) return;
        const sql = env.store.sql();
        scope.enterSqlHere(sql);
        clearSqlTables(sql);
      },
    };
  }

  // InvocationHost
  get stateProxy(): object {
    return this.#states.room.proxy;
  }
  get store(): InstanceStore {
    return this.env.store;
  }
  get kvStore(): KvStore {
    return this.env.kvStore;
  }
  get rooms(): RoomAccess | undefined {
    return this.env.rooms;
  }
  now(): number {
    return this.env.now();
  }
  newId(): string {
    return this.env.newId();
  }
  connections(): Iterable<ConnectionRecord> {
    return this.env.connections();
  }
  pendingLayers(): WriteSet[] {
    return this.gate.layers();
  }
  connectionState(connection: ConnectionRecord): StateTracker<any> | undefined {
    return this.#states.of(connection);
  }

  /** Queues a task; tasks run one at a time in the order they were queued. */
  enqueue(task: Task): void {
    this.#queue.push(task);
    if (!this.#running) void this.#drain();
  }

  /** Nothing queued, running or waiting to commit: the instance may hibernate. */
  isIdle(): boolean {
    return !this.#running && this.#queue.length === 0 && this.gate.idle();
  }

  /** The batch to commit now, if any. Not while a handler holds an SQL savepoint open. */
  takeBatch(): Batch | undefined {
    if (this.#current?.scope.sqlToken !== undefined) return undefined;
    return this.gate.take();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      if (!this.#loaded && !(await this.#load())) return;
      for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
        try {
          // A task that finished synchronously (a hook-less disconnect) costs no await.
          const running = this.#run(task);
          if (running) await running;
        } catch (error) {
          // #run handles every failure it expects; this is a bug in Cellar, not in the room.
          this.env.log.error({ err: error, room: this.env.kind, instance: this.env.id }, "room task failed unexpectedly");
        }
        // A commit skipped while this task held an SQL savepoint is due now.
        this.gate.requestPending();
      }
    } finally {
      this.#running = false;
      this.lastActive = this.env.now();
    }
  }

  #run(task: Task): Promise<void> | void {
    switch (task.type) {
      case "event":
        return this.#onEvent(task.connection, task.event, task.data, task.id);
      case "connect":
        return this.#onConnect(task.connection, task.request, task.params, task.resume);
      case "disconnect":
        return this.#onDisconnect(task.connection, task.code, task.reason, task.ended);
      case "expire":
        return this.#onExpire(task.connection);
      case "alarm":
        return this.#onAlarm(task.alarm);
      case "invoke":
        return this.#onInvoke(task);
    }
  }

  async #load(): Promise<boolean> {
    const { def } = this.env;
    let hookFailure: unknown;
    try {
      this.#seq = this.gate.committedSeq = this.env.store.logHead().seq;
      await this.#states.loadRoom();
      for (const connection of this.env.connections()) {
        if (connection.phase === "open") await this.#states.loadConnection(connection);
      }
      this.#loaded = true;
      const hookName = this.env.restoring ? "onHibernationRestore" : "onCreate";
      const hook = def.options[hookName];
      if (hook) {
        const inv = new Invocation(this, undefined, {});
        const outcome = await this.#invoke(inv, (ctx) => hook.call(def.options, ctx as any), hookName);
        if (outcome.ok) this.#finish(inv, outcome, { deliver: () => deliver(inv.outbox), fail: () => {} });
        else hookFailure = outcome.error;
      }
    } catch (error) {
      hookFailure = error;
    }
    if (hookFailure === undefined) return true;
    this.#failures.logged(hookFailure, "room could not load");
    const refusal = cellarError("ROOM_UNAVAILABLE", `Room "${this.env.kind}/${this.env.id}" is unavailable`);
    for (let task = this.#queue.shift(); task; task = this.#queue.shift()) this.#refuseTask(task, refusal);
    this.env.broken(this, hookFailure);
    return false;
  }

  #refuseTask(task: Task, error: CellarError): void {
    const frame = errorFrame(error);
    switch (task.type) {
      case "connect":
        refuse(task.connection, error);
        break;
      case "event":
        task.connection.send(task.id === undefined ? frame : errorFrame(error, { id: task.id }));
        break;
      case "alarm":
        this.env.alarmSettled(task.alarm.id, true);
        break;
      case "invoke":
        task.reject(error);
        break;
      case "disconnect":
      case "expire":
        break;
    }
  }

  /**
   * Runs one handler or hook. On success its state changes are encoded into its write set;
   * on failure everything it did (state, storage, SQL) is undone and it sends nothing.
   */
  async #invoke(inv: Invocation, fn: (ctx: Record<string, unknown>) => unknown, hook?: string): Promise<Outcome> {
    this.#current = inv;
    try {
      let value: unknown;
      try {
        value = await fn(inv.ctx);
      } catch (error) {
        throw hook ? hookError(hook, error) : error;
      }
      if (inv.tainted !== undefined) {
        throw cellarError("PERSIST_FAILED", "An earlier change this handler read could not be saved", { cause: inv.tainted });
      }
      // Listed after the run: onConnect creates the connection's tracker while it runs.
      // Every tracker encodes before any records its flush, so an unstorable value in one
      // leaves all of them as they were.
      // (Indexed loops, and no Map unless something changed: this runs after every event.)
      const trackers = this.#states.trackersFor(inv.connection);
      const encoded = trackers.map(([, tracker]) => tracker.encodeTouched());
      for (const entries of encoded) {
        if (entries.size > 0) for (const [key, text] of entries) checkValueSize(key, text, this.env.limits);
      }
      let changes = NO_STATE_CHANGES;
      for (let i = 0; i < trackers.length; i++) {
        const [scope, tracker] = trackers[i]!;
        const entries = encoded[i]!;
        tracker.acceptFlush(entries);
        if (entries.size === 0) continue;
        if (changes === NO_STATE_CHANGES) changes = new Map();
        changes.set(tracker, entries);
        for (const [key, text] of entries) inv.scope.writes.setState(scope, key, text);
      }
      inv.scope.keep(this.storageEnv.sqlBackend);
      const at = this.env.now();
      for (const item of inv.outbox) {
        if (item.kind === "frame" && item.seq !== undefined) inv.scope.writes.pushLog({ seq: item.seq, at, to: item.to ?? null, frame: item.frame });
      }
      return { ok: true, value, writes: inv.scope.writes, changes };
    } catch (error) {
      for (const [, tracker] of this.#states.trackersFor(inv.connection)) tracker.revertTouched();
      inv.revert();
      try {
        inv.scope.discard(this.storageEnv.sqlBackend);
      } catch (rollbackError) {
        this.env.log.error({ err: rollbackError, room: this.env.kind, instance: this.env.id }, "SQL rollback of a failed handler failed");
      }
      return { ok: false, error };
    } finally {
      inv.end();
      this.#current = undefined;
    }
  }

  /** Hands a successful outcome to the output gate. */
  #finish(inv: Invocation, outcome: Outcome & { ok: true }, entry: BatchEntry): void {
    this.gate.add(entry, outcome.writes, inv.scope.usedSql, outcome.changes);
  }

  async #onEvent(connection: ConnectionRecord, event: string, data: unknown, id: number | undefined): Promise<void> {
    if (connection.phase !== "open") return; // refused or gone: nobody to answer
    // The clock is read only when something will use it: metrics, or debug lines.
    const debug = this.env.log.isLevelEnabled?.("debug") ?? true;
    const timed = this.env.observer !== undefined || debug;
    const startedAt = timed ? performance.now() : 0;
    const entry = this.env.def.handlerFor(event);
    const inv = new Invocation(this, connection, { event });
    const outcome: Outcome = entry
      ? await this.#invoke(inv, async (ctx) => {
          const payload = entry.schema ? await validate(entry.schema, data, event) : data;
          const result = await entry.handler(ctx as any, payload);
          // Encoded here so a reply that is not JSON fails the handler and undoes its writes.
          return id === undefined ? undefined : ackFrame(id, result);
        })
      : { ok: false, error: cellarError("UNKNOWN_EVENT", `No handler for "${event}"`) };
    const context = id === undefined ? { event } : { id };
    if (!outcome.ok) {
      this.#failures.handler(outcome.error, event, { conn: connection.id, frameId: id });
      const clientError = toClientError(outcome.error, "HANDLER_ERROR", `The handler of "${event}" failed`);
      if (timed) this.#handled(connection, event, id, clientError.code, startedAt, debug);
      const frame = errorFrame(clientError, context);
      this.gate.add({ deliver: () => connection.send(frame), fail: () => connection.send(frame) });
      return;
    }
    if (timed) this.#handled(connection, event, id, undefined, startedAt, debug);
    if (typeof outcome.value === "string") {
      // The ack goes before any close the handler asked for, so the sender still hears it.
      const close = inv.outbox.findIndex((item) => item.kind === "close");
      inv.outbox.splice(close === -1 ? inv.outbox.length : close, 0, { kind: "frame", frame: outcome.value, targets: [connection] });
    }
    this.#finish(inv, outcome, {
      deliver: () => deliver(inv.outbox),
      fail: (error) => connection.send(errorFrame(commitFailure(error), context)),
    });
  }

  /**
   * A client event's handler ended (before its commit: a commit that fails is counted as
   * a commit failure). `seq` is the room's sequence number after it: the number of the last
   * frame it emitted, if it emitted any, so its log line leads to the frames clients got.
   */
  #handled(connection: ConnectionRecord, event: string, id: number | undefined, error: string | undefined, startedAt: number, debug: boolean): void {
    const ms = performance.now() - startedAt;
    this.env.observer?.event(error, ms);
    if (!debug) return;
    const fields = { room: this.env.kind, instance: this.env.id, conn: connection.id, event, frameId: id, seq: this.#seq, ms, error };
    this.env.log.debug(fields, "event handled");
  }

  async #onConnect(connection: ConnectionRecord, request: UpgradeRequest, params: Record<string, unknown>, resume: ResumeRequest | undefined): Promise<void> {
    if (connection.phase !== "connecting") return;
    const { def } = this.env;
    let match = resume && this.sequencer ? await this.#findSession(resume) : undefined;
    // A new session's secret, made before the hooks run so that nothing awaits after them.
    const secret = this.sequencer ? (this.env.randomToken ?? randomToken)() : undefined;
    const hashed = secret === undefined ? "" : this.#hash(secret);
    const freshHash = typeof hashed === "string" ? hashed : await hashed;
    if (connection.phase !== "connecting") return;
    // Frames up to here are replayed (if addressed to this session) or not for it.
    const seqAtOpen = this.#seq;
    if (!match && !def.options.authenticate && !def.options.onConnect && !def.options.connection) {
      // No hook to run and no connection state to load: the connect is its session row and
      // its welcome, without a handler's context (what the general path below would do).
      connection.phase = "open";
      connection.port.changed?.();
      const opening: Opening = { request, resume, match, resumed: undefined, seqAtOpen, secret, freshHash };
      this.#opened(connection, opening, new WriteSet(), NO_FRAMES, false, NO_STATE_CHANGES);
      return;
    }
    let resumed: ConnectionRecord | undefined;
    const inv = new Invocation(this, connection, { params, resumed: match !== undefined });
    const outcome = await this.#invoke(inv, async (ctx) => {
      if (def.options.authenticate) {
        let meta: unknown;
        try {
          meta = await def.options.authenticate.call(def.options, webRequest(request), ctx as any);
        } catch (error) {
          throw hookError("authenticate", error);
        }
        if (meta !== undefined && (typeof meta !== "object" || meta === null || Array.isArray(meta))) {
          throw hookError("authenticate", new TypeError("authenticate must return an object (the meta) or nothing"));
        }
        const userId = (meta as { userId?: unknown } | undefined)?.userId;
        connection.meta = Object.freeze({ ...(meta as object) });
        connection.userId = typeof userId === "string" ? userId : undefined;
      }
      // The socket may have closed while authenticate awaited: then there is nobody to open.
      if (connection.phase !== "connecting") throw GONE;
      // Looked up again: the session's old socket may have closed (or the session expired)
      // while authenticate awaited. Other credentials than the session's make a new session.
      resumed = match && match.stored.userId === connection.userId ? this.#sessionRecord(match.stored.connectionId) : undefined;
      if (resumed?.phase === "open") throw new TakeOver(resumed);
      if (!resumed) {
        match = undefined;
        (ctx as { resumed: boolean }).resumed = false;
      } else {
        connection.id = resumed.id;
        connection.channels = resumed.channels && new Set(resumed.channels);
      }
      connection.phase = "open";
      connection.port.changed?.();
      await this.#states.loadConnection(connection);
      const onConnect = def.options.onConnect;
      if (onConnect) {
        try {
          await onConnect.call(def.options, ctx as any);
        } catch (error) {
          throw hookError("onConnect", error);
        }
      }
    });
    if (!outcome.ok && outcome.error instanceof TakeOver) {
      // The session's old socket is still open (its client saw it fail first). It is closed
      // as if it had dropped (onDisconnect runs), then this hello is taken again, in front
      // of everything queued since, and resumes the session like any other.
      const old = outcome.error.record;
      old.ended = "replaced";
      old.phase = "closed";
      old.port.close(CLOSE_CODES.SESSION_REPLACED, "SESSION_REPLACED");
      this.env.detach(old);
      connection.phase = "connecting";
      this.#queue.unshift(
        { type: "disconnect", connection: old, code: CLOSE_CODES.SESSION_REPLACED, reason: "SESSION_REPLACED", ended: false },
        { type: "connect", connection, request, params, resume },
      );
      return;
    }
    if (!outcome.ok) {
      this.#states.dropConnection(connection, this.env.connections(), undefined, (tracker) => this.gate.holds(tracker));
      if ((connection.phase as ConnectionPhase) === "closed" || outcome.error === GONE) return;
      connection.phase = "connecting";
      this.#failures.logged(outcome.error, "connection refused", "onConnect", { conn: connection.id, req: upgradeId(request) });
      this.env.observer?.connected("refused");
      refuse(connection, outcome.error);
      return;
    }
    const opening: Opening = { request, resume, match, resumed, seqAtOpen, secret, freshHash };
    this.#opened(connection, opening, outcome.writes, inv.outbox, inv.scope.usedSql, outcome.changes);
  }

  /**
   * A connect succeeded (its hooks ran, or it had none): the session's row joins the
   * connect's writes, and the welcome (or the resume's replay) waits for them to commit.
   */
  #opened(
    connection: ConnectionRecord,
    o: Opening,
    writes: WriteSet,
    outbox: OutboxItem[],
    usedSql: boolean,
    changes: Map<StateTracker<any>, Map<string, string>>,
  ): void {
    const opened: ConnectOutcome = o.match ? "resumed" : o.resume ? "resynced" : "new";
    let welcome: string;
    if (this.sequencer) {
      if (o.resumed) this.env.forgetSession(o.resumed);
      connection.resumable = true;
      const secretHash = o.match ? o.match.stored.secretHash : o.freshHash;
      writes.setSession(connection.id, { secretHash, userId: connection.userId ?? null, channels: encodeChannels(connection.channels) });
      welcome = welcomeFrame(connection.id, false, { resumeToken: `${connection.id}.${o.secret}`, seq: o.seqAtOpen, replayed: 0 });
    } else {
      welcome = welcomeFrame(connection.id, false);
    }
    const entry: BatchEntry = {
      connect: true,
      deliver: () => {
        if (o.match) this.#deliverResumed(connection, o.resume!, o.seqAtOpen);
        else connection.send(welcome);
        deliver(outbox);
        this.env.observer?.connected(opened);
        if (this.env.log.isLevelEnabled?.("debug") ?? true) {
          const fields = { room: this.env.kind, instance: this.env.id, conn: connection.id, req: upgradeId(o.request), outcome: opened, seq: o.seqAtOpen };
          this.env.log.debug(fields, "connection opened");
        }
      },
      fail: (error) => {
        this.env.observer?.connected("refused");
        refuse(connection, commitFailure(error));
      },
    };
    this.gate.add(entry, writes, usedSql, changes);
  }

  /** The record of a session that may resume: its socket open, or gone away within the window. */
  #sessionRecord(id: string): ConnectionRecord | undefined {
    for (const c of this.env.connections()) {
      if (c.id === id && c.resumable && c.ended === undefined && (c.phase === "open" || c.phase === "detached")) return c;
    }
    return undefined;
  }

  /**
   * Sends a resumed connection its welcome and the frames it missed: logged frames after its
   * `lastSeq`, up to the number at its open, addressed to its session. Read now, once this
   * connection's batch committed, so every earlier batch has committed or failed: a frame
   * of a failed batch, never sent to anyone, is not in the log.
   */
  #deliverResumed(connection: ConnectionRecord, resume: ResumeRequest, seqAtOpen: number): void {
    const { store } = this.env;
    if (store.logHead().floor > resume.lastSeq) {
      // Trimmed since the resume was accepted (a race with the periodic trim): the client
      // must start over; closing makes it reconnect, and that resume will be refused.
      connection.port.close(CLOSE_CODES.SERVICE_RESTART, "LOG_TRIMMED");
      return;
    }
    const frames: string[] = [];
    for (const row of store.replay(resume.lastSeq, seqAtOpen)) if (addressedTo(row.to, connection.id)) frames.push(row.frame);
    connection.send(welcomeFrame(connection.id, true, { resumeToken: resume.token, seq: seqAtOpen, replayed: frames.length }));
    for (const frame of frames) connection.send(frame);
  }

  /**
   * The session a resume token names, if it may resume: its secret matches, the socket went
   * away no longer than the resume window ago (the host drops older ones), and the log
   * still holds everything after the client's last sequence number.
   */
  async #findSession(resume: ResumeRequest): Promise<{ stored: StoredSession } | undefined> {
    const dot = resume.token.indexOf(".");
    if (dot <= 0) return undefined;
    const id = resume.token.slice(0, dot);
    if (!this.#sessionRecord(id)) return undefined;
    const stored = await this.env.store.session(id);
    if (!stored || !constantTimeEqual(await this.#hash(resume.token.slice(dot + 1)), stored.secretHash)) return undefined;
    if (resume.lastSeq < this.env.store.logHead().floor || resume.lastSeq > this.#seq) return undefined;
    return { stored };
  }

  /** A secret's stored form: the host's synchronous hash when it has one (no await, no worker thread). */
  #hash(secret: string): string | Promise<string> {
    return this.env.hashSecret ? this.env.hashSecret(secret) : sha256(secret);
  }

  #onDisconnect(connection: ConnectionRecord, code: number, reason: string, ended: boolean): Promise<void> | void {
    const hook = this.env.def.options.onDisconnect;
    if (!hook && !this.env.def.options.connection) return this.#dropSession(connection, code, ended);
    return this.#runOnDisconnect(connection, code, reason, ended, hook);
  }

  async #runOnDisconnect(connection: ConnectionRecord, code: number, reason: string, ended: boolean, hook: ((ctx: any) => unknown) | undefined): Promise<void> {
    // After a hibernation the closing connection's state is not loaded yet (it is closed).
    await this.#states.loadConnection(connection);
    const inv = new Invocation(this, connection, { code, reason });
    const outcome = await this.#invoke(inv, (ctx) => hook?.call(this.env.def.options, ctx as any), "onDisconnect");
    if (!outcome.ok) this.#failures.logged(outcome.error, "onDisconnect failed", "onDisconnect", { conn: connection.id });
    this.env.log.debug({ room: this.env.kind, instance: this.env.id, conn: connection.id, code, ended }, "connection closed");
    const writes = outcome.ok ? outcome.writes : new WriteSet();
    const holds = (tracker: StateTracker<any>) => this.gate.holds(tracker);
    this.#states.dropConnection(connection, this.env.connections(), writes, holds, ended || !connection.resumable);
    if (ended && connection.resumable) writes.setSession(connection.id, null);
    this.gate.add(
      { deliver: () => deliver(inv.outbox), fail: () => {} },
      writes,
      outcome.ok && inv.scope.usedSql,
      outcome.ok ? outcome.changes : undefined,
    );
  }

  /**
   * `#onDisconnect` of a room with no `onDisconnect` and no connection state: nothing to run
   * and no state to load or drop, only the session's row to delete if it ended. The same
   * outcome as the hook-less run, without a handler's context. No frame waits for the
   * delete, so it is deferred: it commits with the instance's next batch or the host's next
   * group commit (a crash before that leaves the row, which then expires like a dropped
   * client's session).
   */
  #dropSession(connection: ConnectionRecord, code: number, ended: boolean): void {
    if (this.env.log.isLevelEnabled?.("debug") ?? true) {
      this.env.log.debug({ room: this.env.kind, instance: this.env.id, conn: connection.id, code, ended }, "connection closed");
    }
    if (!ended || !connection.resumable) return;
    const writes = new WriteSet();
    writes.setSession(connection.id, null);
    this.gate.defer(writes);
  }

  /** A session that went away and did not come back: its row and anonymous state go. */
  #onExpire(connection: ConnectionRecord): void {
    // Resumed between the host's sweep and this task: the session lives on.
    if (this.#sessionRecord(connection.id)) return;
    const writes = new WriteSet();
    writes.setSession(connection.id, null);
    this.#states.dropConnection(connection, this.env.connections(), writes, (tracker) => this.gate.holds(tracker));
    this.gate.add({ deliver: () => {}, fail: () => {} }, writes);
  }

  async #onAlarm(dispatched: AlarmRecord): Promise<void> {
    // The alarm may have been cancelled, or moved, since the host dispatched it.
    const record = await this.#pendingAlarm(dispatched.id);
    if (!record || record.dueAt > this.env.now()) return this.env.alarmSettled(dispatched.id);
    const hook = this.env.def.options.onAlarm;
    const inv = new Invocation(this, undefined, {});
    // Deleting the alarm commits with what onAlarm wrote: a crash before the commit fires it again.
    inv.scope.writes.putAlarm(record.id, null);
    if (!hook) this.env.log.warn({ room: this.env.kind, instance: this.env.id, alarm: record.name }, "alarm fired in a room without onAlarm; dropped");
    const outcome = await this.#invoke(inv, (ctx) => hook?.call(this.env.def.options, ctx as any, toAlarm(record)), "onAlarm");
    const done = () => this.env.alarmSettled(record.id);
    const again = () => this.env.alarmSettled(record.id, true);
    if (outcome.ok) {
      this.#finish(inv, outcome, {
        deliver: () => {
          deliver(inv.outbox);
          done();
        },
        fail: again,
      });
      return;
    }
    const attempt = record.attempt + 1;
    const retry = new WriteSet();
    if (attempt >= MAX_ALARM_ATTEMPTS) {
      this.env.log.error({ err: outcome.error, room: this.env.kind, instance: this.env.id, alarm: record.name, attempts: attempt }, "alarm dropped after repeated failures");
      retry.putAlarm(record.id, null);
    } else {
      this.#failures.logged(outcome.error, "onAlarm failed; will retry", "onAlarm");
      retry.putAlarm(record.id, { ...record, attempt, dueAt: this.env.now() + 1000 * 2 ** (attempt - 1) });
    }
    this.gate.add({ deliver: done, fail: again }, retry);
  }

  /** An alarm as it stands now: pending writes first, then the store. */
  async #pendingAlarm(id: string): Promise<AlarmRecord | undefined> {
    const pending = overlayAlarm(this.gate.layers(), id);
    if (pending !== undefined) return pending ?? undefined;
    return this.env.store.getAlarm(id);
  }

  async #onInvoke(task: Task & { type: "invoke" }): Promise<void> {
    const inv = new Invocation(this, undefined, {});
    const outcome = await this.#invoke(inv, task.fn);
    if (!outcome.ok) return task.reject(outcome.error);
    this.#finish(inv, outcome, {
      deliver: () => {
        deliver(inv.outbox);
        task.resolve(outcome.value);
      },
      fail: (error) => task.reject(error),
    });
  }
}

/** Whether a logged frame was addressed to session `id` (see `LogRecord.to`). */
function addressedTo(to: string | null, id: string): boolean {
  if (to === null) return true;
  const listed = to.length > 1 && to.slice(1).split(",").includes(id);
  return to[0] === "+" ? listed : !listed;
}

/** The id the host gave the upgrade request, for log lines (see `REQUEST_ID_HEADER`). */
function upgradeId(request: UpgradeRequest): string | undefined {
  return request instanceof Request ? (request.headers.get(REQUEST_ID_HEADER) ?? undefined) : request.requestId;
}

/** The Web `Request` for `authenticate`: a host hands one to every room kind that has the hook. */
function webRequest(request: UpgradeRequest): Request {
  if (request instanceof Request) return request;
  throw new Error("the host gave no Web Request to a room with authenticate");
}
