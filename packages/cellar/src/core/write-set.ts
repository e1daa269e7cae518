/*
 * Internal: the writes of a handler (or of a batch of handlers) held in memory until they
 * commit. Reads look through a stack of write sets before the committed store, so a
 * handler sees its own writes and those of earlier handlers still waiting for the commit.
 * Holding writes here, instead of in an open SQLite transaction, lets handlers of many
 * rooms interleave at their `await`s without one room's rollback touching another's rows.
 */

/** A durable alarm as stored. `payload` is the encoded value. */
export interface AlarmRecord {
  id: string;
  name: string;
  payload: string;
  /** When it was scheduled for (what `onAlarm` sees). */
  scheduledAt: number;
  /** When to run it next: `scheduledAt`, or later after a failed run. */
  dueAt: number;
  /** Failed runs so far. */
  attempt: number;
}

/** A KV namespace entry as stored. */
export interface KvRecord {
  value: string | Uint8Array;
  expiresAt: number | null;
  metadata: string | null;
}

/**
 * An entry of the room's replay log: a frame that carries its sequence number, and who it
 * was addressed to: `null` for every session of the room, `"+a,b"` for those sessions only,
 * `"-a,b"` for every session but those.
 */
export interface LogRecord {
  seq: number;
  at: number;
  to: string | null;
  frame: string;
}

/**
 * A resumable session as stored. A row with `secretHash` is written whole (a new or resumed
 * session); without it only `channels` changes.
 */
export interface SessionWrite {
  secretHash?: string;
  userId?: string | null;
  channels: string | null;
}

const NO_ENTRIES: ReadonlyMap<never, never> = new Map<never, never>();
const NO_SCOPES: ReadonlySet<never> = new Set<never>();
const NO_RECORDS: readonly never[] = Object.freeze([]);

export class WriteSet {
  // Each collection is made on its first write: every handler run gets a write set, and most
  // write nothing, or only one kind of row (a log entry, a session). The getters are for
  // reading and allocate nothing: an unwritten collection reads as a shared empty one.
  #storage: Map<string, string | null> | undefined;
  #state: Map<string, Map<string, string>> | undefined;
  #dropScopes: Set<string> | undefined;
  #alarms: Map<string, AlarmRecord | null> | undefined;
  #kv: Map<string, Map<string, KvRecord | null>> | undefined;
  #log: LogRecord[] | undefined;
  #sessions: Map<string, SessionWrite | null> | undefined;

  /** key → encoded value, or null for a delete. */
  get storage(): ReadonlyMap<string, string | null> {
    return this.#storage ?? NO_ENTRIES;
  }
  /** `deleteAll()` ran: committed storage below this set is gone. */
  clearStorage = false;
  /** scope → (state key → encoded value). Scope "" is the room; others are per-user. */
  get state(): ReadonlyMap<string, ReadonlyMap<string, string>> {
    return this.#state ?? NO_ENTRIES;
  }
  /** Scopes whose persisted state is dropped (a connection's state that ends with it). */
  get dropScopes(): ReadonlySet<string> {
    return this.#dropScopes ?? NO_SCOPES;
  }
  /** alarm id → alarm, or null once cancelled or fired. */
  get alarms(): ReadonlyMap<string, AlarmRecord | null> {
    return this.#alarms ?? NO_ENTRIES;
  }
  /** namespace → (key → entry, or null for a delete). */
  get kv(): ReadonlyMap<string, ReadonlyMap<string, KvRecord | null>> {
    return this.#kv ?? NO_ENTRIES;
  }
  /** Frames for the replay log, in sequence order. */
  get log(): readonly LogRecord[] {
    return this.#log ?? NO_RECORDS;
  }
  /** connection id → session row change, or null when the session ended. */
  get sessions(): ReadonlyMap<string, SessionWrite | null> {
    return this.#sessions ?? NO_ENTRIES;
  }

  /** A storage write: the encoded value, or null for a delete. */
  putStorage(key: string, value: string | null): void {
    (this.#storage ??= new Map()).set(key, value);
  }

  /** `deleteAll()`: every storage write so far and every committed key go. */
  deleteAllStorage(): void {
    this.#storage?.clear();
    this.clearStorage = true;
  }

  /** An alarm as it should be stored, or null to delete it. */
  putAlarm(id: string, alarm: AlarmRecord | null): void {
    (this.#alarms ??= new Map()).set(id, alarm);
  }

  /** The next frame of the replay log (in sequence order). */
  pushLog(record: LogRecord): void {
    (this.#log ??= []).push(record);
  }

  isEmpty(): boolean {
    return (
      !this.clearStorage &&
      (this.#storage?.size ?? 0) === 0 &&
      (this.#state?.size ?? 0) === 0 &&
      (this.#dropScopes?.size ?? 0) === 0 &&
      (this.#alarms?.size ?? 0) === 0 &&
      (this.#kv?.size ?? 0) === 0 &&
      (this.#log?.length ?? 0) === 0 &&
      (this.#sessions?.size ?? 0) === 0
    );
  }

  /** Number of rows this set writes; for stats. */
  size(): number {
    let n = (this.#storage?.size ?? 0) + (this.#alarms?.size ?? 0) + (this.#dropScopes?.size ?? 0) + (this.clearStorage ? 1 : 0);
    n += (this.#log?.length ?? 0) + (this.#sessions?.size ?? 0);
    for (const scope of this.#state?.values() ?? []) n += scope.size;
    for (const ns of this.#kv?.values() ?? []) n += ns.size;
    return n;
  }

  setState(scope: string, key: string, encoded: string): void {
    const state = (this.#state ??= new Map());
    let entries = state.get(scope);
    if (!entries) state.set(scope, (entries = new Map()));
    entries.set(key, encoded);
  }

  /** Drops every persisted state key of `scope`; later `setState` calls in this set still apply. */
  dropScope(scope: string): void {
    this.#state?.delete(scope);
    (this.#dropScopes ??= new Set()).add(scope);
  }

  setKv(namespace: string, key: string, record: KvRecord | null): void {
    const kv = (this.#kv ??= new Map());
    let entries = kv.get(namespace);
    if (!entries) kv.set(namespace, (entries = new Map()));
    entries.set(key, record);
  }

  setSession(connectionId: string, write: SessionWrite | null): void {
    const sessions = (this.#sessions ??= new Map());
    const earlier = sessions.get(connectionId);
    // A channel change on top of a whole row keeps the row whole.
    sessions.set(connectionId, write && earlier ? { ...earlier, ...write } : write);
  }

  /** Applies `later` on top of this set, as if its writes came after ours. */
  absorb(later: WriteSet): void {
    if (later.clearStorage) this.deleteAllStorage();
    if (later.#storage) for (const [key, value] of later.#storage) this.putStorage(key, value);
    if (later.#dropScopes) for (const scope of later.#dropScopes) this.dropScope(scope);
    if (later.#state) {
      for (const [scope, entries] of later.#state) {
        for (const [key, value] of entries) this.setState(scope, key, value);
      }
    }
    if (later.#alarms) for (const [id, alarm] of later.#alarms) this.putAlarm(id, alarm);
    if (later.#kv) {
      for (const [namespace, entries] of later.#kv) {
        for (const [key, record] of entries) this.setKv(namespace, key, record);
      }
    }
    if (later.#log) for (const record of later.#log) this.pushLog(record);
    if (later.#sessions) for (const [id, write] of later.#sessions) this.setSession(id, write);
  }
}

/** The overlay answer for one storage key: a value, a delete (null), or not written (undefined). */
export function overlayStorage(layers: readonly WriteSet[], key: string): string | null | undefined {
  for (const layer of layers) {
    const value = layer.storage.get(key);
    if (value !== undefined) return value;
    if (layer.clearStorage) return null;
  }
  return undefined;
}

/**
 * Merges the storage writes of `layers` (innermost first) that fall in `inRange` into one
 * map, and says whether committed rows are hidden by a `deleteAll()`.
 */
export function overlayStorageRange(
  layers: readonly WriteSet[],
  inRange: (key: string) => boolean,
): { entries: Map<string, string | null>; hidesCommitted: boolean } {
  const entries = new Map<string, string | null>();
  let hidesCommitted = false;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (layer.clearStorage) {
      entries.clear();
      hidesCommitted = true;
    }
    for (const [key, value] of layer.storage) if (inRange(key)) entries.set(key, value);
  }
  return { entries, hidesCommitted };
}

export function overlayAlarm(layers: readonly WriteSet[], id: string): AlarmRecord | null | undefined {
  for (const layer of layers) {
    const alarm = layer.alarms.get(id);
    if (alarm !== undefined) return alarm;
  }
  return undefined;
}

export function overlayKv(layers: readonly WriteSet[], namespace: string, key: string): KvRecord | null | undefined {
  for (const layer of layers) {
    const record = layer.kv.get(namespace)?.get(key);
    if (record !== undefined) return record;
  }
  return undefined;
}
