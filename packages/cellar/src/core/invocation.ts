import { encodeChannels, joinChannel, leaveChannel, type Connection, type ConnectionRecord } from "./connection.js";
import { ROOM_ACCESS, type RoomAccess, type RoomInfo } from "./define-room.js";
import { createEmitter, type Emitter, type OutboxItem, type Sequencer } from "./emitter.js";
import { cellarError } from "./errors.js";
import { createKvNamespace, type KvNamespace } from "./kv-api.js";
import type { InstanceStore, KvStore } from "./ports.js";
import { createSchedule, type Schedule } from "./schedule-api.js";
import type { StateTracker } from "./state-tracker.js";
import { createStorage, type Storage, type StorageEnv } from "./storage-api.js";
import { WriteScope } from "./write-scope.js";
import type { WriteSet } from "./write-set.js";

/** Internal: what an invocation needs from its instance. */
export interface InvocationHost {
  readonly stateProxy: object;
  readonly storageEnv: StorageEnv;
  readonly store: InstanceStore;
  readonly kvStore: KvStore;
  readonly room: RoomInfo;
  readonly rooms: RoomAccess | undefined;
  now(): number;
  newId(): string;
  connections(): Iterable<ConnectionRecord>;
  /** Uncommitted writes of earlier handlers, newest first. */
  pendingLayers(): readonly WriteSet[];
  connectionState(connection: ConnectionRecord): StateTracker<any> | undefined;
  /** Numbers frames for the replay log; undefined when resume is off. */
  readonly sequencer: Sequencer;
}

/**
 * Internal: one run of a handler or hook: its writes, its outbox and the `ctx` it sees.
 * Facades are built on first use, so a handler that only emits allocates only the emitter.
 */
export class Invocation {
  readonly scope: WriteScope;
  readonly outbox: OutboxItem[] = [];
  /** Channel joins and leaves to undo if the handler fails (they apply at once). */
  undo: Array<() => void> | undefined;
  /** A batch this handler read from failed to commit while it ran: it must fail too. */
  tainted: unknown;
  readonly ctx: Record<string, unknown>;

  constructor(
    readonly host: InvocationHost,
    readonly connection: ConnectionRecord | undefined,
    extra: Record<string, unknown>,
  ) {
    this.scope = new WriteScope(undefined, () => host.pendingLayers());
    this.ctx = new HandlerContext(this, extra) as unknown as Record<string, unknown>;
  }

  /** Ends the invocation: later calls through its ctx are refused. */
  end(): void {
    this.scope.ended = true;
  }

  /** Undoes what cannot wait for the commit (channel membership). */
  revert(): void {
    for (const step of (this.undo ?? []).reverse()) step();
    this.undo = undefined;
  }
}

class HandlerContext {
  readonly #inv: Invocation;
  #storage: Storage | undefined;
  #schedule: Schedule | undefined;
  #emit: Emitter | undefined;
  #connection: Connection | undefined;
  #kv: Map<string, KvNamespace> | undefined;

  constructor(inv: Invocation, extra: Record<string, unknown>) {
    this.#inv = inv;
    Object.assign(this, extra);
  }

  get state(): object {
    return this.#inv.host.stateProxy;
  }

  get storage(): Storage {
    return (this.#storage ??= createStorage(this.#inv.host.storageEnv, this.#inv.scope));
  }

  get schedule(): Schedule {
    const inv = this.#inv;
    return (this.#schedule ??= createSchedule(inv.host.store, inv.scope, () => inv.host.now(), () => inv.host.newId()));
  }

  get emit(): Emitter {
    const inv = this.#inv;
    return (this.#emit ??= createEmitter(
      inv.outbox,
      inv.connection,
      () => inv.host.connections(),
      () => inv.scope.assertOpen("emit"),
      inv.host.sequencer,
    ));
  }

  get room(): RoomInfo {
    return this.#inv.host.room;
  }

  /** Internal: the host's other rooms, for cellar/verani (not part of the public context). */
  get [ROOM_ACCESS](): RoomAccess | undefined {
    return this.#inv.host.rooms;
  }

  get connection(): Connection | undefined {
    const record = this.#inv.connection;
    if (!record) return undefined;
    return (this.#connection ??= connectionHandle(record, this.#inv));
  }

  kv(name: string): KvNamespace {
    const inv = this.#inv;
    let namespace = this.#kv?.get(name);
    if (!namespace) {
      namespace = createKvNamespace(name, {
        store: inv.host.kvStore,
        now: () => inv.host.now(),
        layers: () => inv.scope.layers(),
        write: (ns, key, record) => {
          inv.scope.assertOpen("kv write");
          inv.scope.writes.setKv(ns, key, record);
        },
      });
      (this.#kv ??= new Map()).set(name, namespace);
    }
    return namespace;
  }
}

function connectionHandle(record: ConnectionRecord, inv: Invocation): Connection {
  return {
    get id() {
      return record.id;
    },
    get meta() {
      return record.meta;
    },
    get userId() {
      return record.userId;
    },
    get channels(): ReadonlySet<string> {
      return record.channels ?? new Set();
    },
    get state() {
      const tracker = inv.host.connectionState(record);
      if (!tracker) throw cellarError("INVALID_ARGUMENT", "This room declares no connection state (defineConnection)");
      return tracker.proxy;
    },
    join(channel) {
      if (typeof channel !== "string" || channel.length === 0) throw cellarError("INVALID_ARGUMENT", "join needs a channel name");
      inv.scope.assertOpen("connection.join");
      if (record.inChannel(channel)) return;
      joinChannel(record, channel);
      (inv.undo ??= []).push(() => leaveChannel(record, channel));
      saveChannels(record, inv);
    },
    leave(channel) {
      inv.scope.assertOpen("connection.leave");
      if (!record.inChannel(channel)) return;
      leaveChannel(record, channel);
      (inv.undo ??= []).push(() => joinChannel(record, channel));
      saveChannels(record, inv);
    },
    close(code = 1000, reason = "") {
      if (code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
        throw cellarError("INVALID_ARGUMENT", "close code must be 1000 or 3000-4999");
      }
      inv.scope.assertOpen("connection.close");
      inv.outbox.push({ kind: "close", target: record, code, reason: String(reason).slice(0, 120) });
    },
  };
}

/** A resumable session keeps its channels across a restart: they commit with the handler. */
function saveChannels(record: ConnectionRecord, inv: Invocation): void {
  if (record.resumable) inv.scope.writes.setSession(record.id, { channels: encodeChannels(record.channels) });
}
