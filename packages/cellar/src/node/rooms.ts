import * as crypto from "node:crypto";
import { decodeChannels, DetachedSession, type ConnectionRecord } from "../core/connection.js";
import type { RoomAccess, RoomDefinition } from "../core/define-room.js";
import { RoomInstance, type InstanceEnv, type Task } from "../core/instance.js";
import type { StorageLimits } from "../core/limits.js";
import type { LogThrottle } from "../core/log-throttle.js";
import type { KvStore, Logger } from "../core/ports.js";
import { cellarError } from "../core/errors.js";
import type { Committer } from "./committer.js";
import type { Metrics } from "./metrics.js";
import { NodeInstanceStore } from "./instance-store.js";
import { TokenPool } from "./token-pool.js";
import type { Durability, SharedDb } from "./sqlite/shared-db.js";

/**
 * Internal: the routing entry of one instance. It outlives the instance object: while the
 * instance hibernates, the slot keeps its connections (and so their ids, meta and channels)
 * and nothing else.
 */
export class RoomSlot {
  instance: RoomInstance | undefined = undefined;
  store: NodeInstanceStore | undefined = undefined;
  /** This process hibernated the instance while connections stayed open: the next load runs onHibernationRestore. */
  hibernated = false;
  connections: Set<ConnectionRecord> | undefined = undefined;
  /** The instance's committed sequence number, kept while it hibernates (for pongs). */
  committedSeq: number | undefined = undefined;
  /** When the instance last ran something, kept while it hibernates (for the inspector). */
  lastActive: number | undefined = undefined;
  /** Sessions stored by an earlier run of the server were added (on the first load). */
  sessionsLoaded = false;

  constructor(
    readonly def: RoomDefinition<any, any>,
    readonly id: string,
  ) {}
}

export interface RoomsOptions {
  shared: SharedDb;
  kvStore: KvStore;
  committer: Committer;
  dataDir: string;
  durability: Durability;
  limits: StorageLimits;
  hibernateAfterMs: number;
  resumeWindowMs: number;
  log: Logger;
  throttle: LogThrottle;
  now: () => number;
  newId: () => string;
  alarmSettled: (id: string, retry?: boolean) => void;
  /** Alarms may have appeared (an SQL redo record applied when an instance loaded). */
  alarmsChanged: () => void;
  /** The server, as the rooms' way to each other (cellar/verani). */
  access?: RoomAccess | undefined;
  /** Counts loads, hibernations and what instances report (when metrics are on). */
  metrics?: Metrics | undefined;
}

const NO_CONNECTIONS: ReadonlySet<ConnectionRecord> = new Set();

/** Internal: every instance of the server, live or hibernated, by kind and id. */
export class Rooms {
  readonly #slots = new Map<string, RoomSlot>();
  /** Sessions whose socket went away, until they resume or expire. */
  readonly #detached = new Map<DetachedSession, RoomSlot>();
  /**
   * When the sessions an earlier run left (all away since this start, or before) have all
   * expired: then those of instances nobody loaded are ended in storage, once.
   */
  #storedSessionsExpireAt: number | undefined;
  readonly #options: RoomsOptions;
  /** New sessions' secrets. */
  readonly #tokens = new TokenPool();
  #closed = false;

  constructor(options: RoomsOptions) {
    this.#options = options;
    this.#storedSessionsExpireAt = options.now() + options.resumeWindowMs;
  }

  /** The slot of an instance in memory (live, or hibernated with connections), without making one. */
  find(kind: string, id: string): RoomSlot | undefined {
    return this.#slots.get(`${kind}\u0000${id}`);
  }

  /** Every slot in memory (the inspector lists them; reading one wakes nothing). */
  slots(): IterableIterator<RoomSlot> {
    return this.#slots.values();
  }

  slot(def: RoomDefinition<any, any>, id: string): RoomSlot {
    const key = `${def.name}\u0000${id}`;
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = new RoomSlot(def, id)));
    return slot;
  }

  /** Queues a task in the slot's instance, loading (waking) it first if needed. */
  dispatch(slot: RoomSlot, task: Task): void {
    if (this.#closed) {
      // After shutdown closed the files: nothing runs any more (late socket closes, say).
      if (task.type === "invoke") task.reject(cellarError("SHUTTING_DOWN", "The server has shut down"));
      return;
    }
    this.#instance(slot).enqueue(task);
  }

  addConnection(slot: RoomSlot, connection: ConnectionRecord): void {
    (slot.connections ??= new Set()).add(connection);
  }

  removeConnection(slot: RoomSlot, connection: ConnectionRecord): void {
    slot.connections?.delete(connection);
    if (slot.connections?.size === 0) slot.connections = undefined;
    this.#forgetIfEmpty(slot);
  }

  /** A resumable connection's socket went away: a record of its session takes its place until a resume. */
  detach(slot: RoomSlot, connection: ConnectionRecord): void {
    const session = new DetachedSession(connection, this.#options.now());
    slot.connections?.delete(connection);
    (slot.connections ??= new Set()).add(session);
    this.#detached.set(session, slot);
  }

  /** A session was resumed by another connection: its old record goes. */
  forgetSession(slot: RoomSlot, record: ConnectionRecord): void {
    slot.connections?.delete(record);
    if (record instanceof DetachedSession) this.#detached.delete(record);
  }

  /**
   * Ends sessions that went away longer than the resume window ago: through the instance
   * when it is live, straight in storage when not (no need to wake it for that).
   */
  expireSessions(): number {
    const o = this.#options;
    const cutoff = o.now() - o.resumeWindowMs;
    let count = 0;
    for (const [session, slot] of this.#detached) {
      if (session.detachedAt > cutoff) continue;
      this.#detached.delete(session);
      this.removeConnection(slot, session);
      count++;
      if (slot.instance) {
        this.dispatch(slot, { type: "expire", connection: session });
      } else {
        const rowId = o.shared.instanceId(slot.def.name, slot.id);
        if (rowId !== undefined) o.shared.endSession(rowId, session.id, session.userId === undefined);
      }
    }
    // Sessions stored by an earlier run, of instances not loaded since (loaded ones are above).
    if (this.#storedSessionsExpireAt !== undefined && o.now() >= this.#storedSessionsExpireAt) {
      this.#storedSessionsExpireAt = undefined;
      for (const row of o.shared.expiredSessions(cutoff)) {
        if (this.#slots.get(`${row.kind}\u0000${row.name}`)?.sessionsLoaded) continue;
        o.shared.endSession(row.instance, row.connectionId, row.userId === null);
        count++;
      }
    }
    return count;
  }

  /** On an instance's first load in this process: the sessions an earlier run left, as detached. */
  #loadSessions(slot: RoomSlot, store: NodeInstanceStore): void {
    slot.sessionsLoaded = true;
    if (this.#options.resumeWindowMs <= 0) return;
    const known = new Set<string>();
    for (const c of slot.connections ?? []) known.add(c.id);
    const cutoff = this.#options.now() - this.#options.resumeWindowMs;
    for (const stored of store.sessions()) {
      // Rows of sessions this run holds in memory have no time.
      if (stored.detachedAt === undefined || known.has(stored.connectionId)) continue;
      if (stored.detachedAt <= cutoff) {
        this.#options.shared.endSession(store.rowId!, stored.connectionId, stored.userId === undefined);
        continue;
      }
      const session = new DetachedSession(
        { id: stored.connectionId, meta: {}, userId: stored.userId, channels: decodeChannels(stored.channels) },
        stored.detachedAt,
      );
      (slot.connections ??= new Set()).add(session);
      this.#detached.set(session, slot);
    }
  }

  #instance(slot: RoomSlot): RoomInstance {
    if (slot.instance) return slot.instance;
    const o = this.#options;
    const store = new NodeInstanceStore(o.shared, slot.def.name, slot.id, o.dataDir, o.durability, o.limits);
    if (store.open()) o.alarmsChanged();
    if (!slot.sessionsLoaded) this.#loadSessions(slot, store);
    const observer = o.metrics?.room(slot.def.name);
    if (observer && slot.hibernated) observer.wakeups++;
    const env: InstanceEnv = {
      def: slot.def,
      kind: slot.def.name,
      id: slot.id,
      store,
      kvStore: o.kvStore,
      rooms: o.access,
      limits: o.limits,
      log: o.log,
      throttle: o.throttle,
      observer,
      restoring: slot.hibernated,
      resumeWindowMs: o.resumeWindowMs,
      hashSecret,
      randomToken: () => this.#tokens.token(),
      forgetSession: (record) => this.forgetSession(slot, record),
      detach: (record) => this.detach(slot, record),
      now: o.now,
      newId: o.newId,
      connections: () => slot.connections ?? NO_CONNECTIONS,
      requestCommit: (instance) => o.committer.request(instance, store),
      requestCommitSoon: (instance) => o.committer.requestSoon(instance, store),
      requestCommitLater: (instance) => o.committer.requestLater(instance, store),
      alarmSettled: o.alarmSettled,
      broken: (instance) => {
        if (slot.instance !== instance) return;
        slot.instance = undefined;
        slot.store = undefined;
        store.close();
        this.#forgetIfEmpty(slot);
      },
    };
    slot.instance = new RoomInstance(env);
    slot.store = store;
    o.log.debug({ room: slot.def.name, instance: slot.id, woken: slot.hibernated }, "room loaded");
    return slot.instance;
  }

  /** Hibernates instances idle for their `hibernateAfterMs`; returns how many. */
  sweep(): number {
    const now = this.#options.now();
    let count = 0;
    for (const slot of this.#slots.values()) {
      const instance = slot.instance;
      if (!instance || !instance.isIdle()) continue;
      const after = slot.def.options.hibernateAfterMs ?? this.#options.hibernateAfterMs;
      if (now - instance.lastActive >= after) {
        this.hibernate(slot);
        count++;
      }
    }
    return count;
  }

  /** Drops an idle instance from memory; its connections stay open. */
  hibernate(slot: RoomSlot): boolean {
    const instance = slot.instance;
    // Deferred writes (a closed session's row) need not wait for a later commit: now.
    if (instance && slot.store && instance.gate.onlyDeferred()) this.#options.committer.commitNow(instance, slot.store);
    if (!instance?.isIdle()) return false;
    slot.committedSeq = instance.gate.committedSeq;
    slot.lastActive = instance.lastActive;
    slot.instance = undefined;
    slot.store?.close();
    slot.store = undefined;
    slot.hibernated = true;
    this.#forgetIfEmpty(slot);
    const metrics = this.#options.metrics?.room(slot.def.name);
    if (metrics) metrics.hibernations++;
    this.#options.log.debug({ room: slot.def.name, instance: slot.id }, "room hibernated");
    return true;
  }

  /** Hibernates every idle instance (or those of one kind / one id), whatever their idle time. */
  hibernateNow(kind?: string, id?: string): number {
    let count = 0;
    for (const slot of this.#slots.values()) {
      if (kind !== undefined && slot.def.name !== kind) continue;
      if (id !== undefined && slot.id !== id) continue;
      if (this.hibernate(slot)) count++;
    }
    return count;
  }

  /**
   * A slot with no instance and no connection is dropped: a hibernated room without
   * connections costs nothing. Its next load runs onCreate, since no connection survived
   * to be restored.
   */
  #forgetIfEmpty(slot: RoomSlot): void {
    if (slot.instance || slot.connections) return;
    this.#slots.delete(`${slot.def.name}\u0000${slot.id}`);
  }

  /** True while any instance has queued, running or uncommitted work. */
  busy(): boolean {
    for (const slot of this.#slots.values()) if (slot.instance && !slot.instance.isIdle()) return true;
    return false;
  }

  /** For metrics, at scrape time: live and hibernated instances of every kind that has any. */
  countsByKind(): Map<string, { live: number; hibernated: number }> {
    const counts = new Map<string, { live: number; hibernated: number }>();
    for (const slot of this.#slots.values()) {
      let c = counts.get(slot.def.name);
      if (!c) counts.set(slot.def.name, (c = { live: 0, hibernated: 0 }));
      if (slot.instance) c.live++;
      else c.hibernated++;
    }
    return counts;
  }

  /** Sessions whose socket went away, until they resume or expire. */
  get detachedSessions(): number {
    return this.#detached.size;
  }

  counts(): { live: number; hibernated: number } {
    let live = 0;
    let hibernated = 0;
    for (const slot of this.#slots.values()) {
      if (slot.instance) live++;
      else hibernated++;
    }
    return { live, hibernated };
  }

  /** Shutdown: closes every instance's files; later dispatches are dropped. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.values()) {
      slot.store?.close();
      slot.store = undefined;
      slot.instance = undefined;
    }
  }
}

/** Node's one-shot hash (20.12 and later): a quarter of the cost of a `createHash` object. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "base64url") => string }).hash;

/** SHA-256, base64url: the same as the core's `sha256`, without Web Crypto's trip to a worker thread. */
function hashSecret(secret: string): string {
  return oneShotHash ? oneShotHash("sha256", secret, "base64url") : crypto.createHash("sha256").update(secret).digest("base64url");
}
