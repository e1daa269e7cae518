import { StorageLimitError } from "../core/errors.js";
import type { InstanceStore, SqlBackend, StorageRange, StoredSession } from "../core/ports.js";
import type { AlarmRecord, KvRecord, LogRecord, WriteSet } from "../core/write-set.js";
import { toAlarmRecord, toStoredSession, type AlarmRow as StoredAlarmRow, type SessionRow as StoredSessionRow } from "../core/stored-rows.js";
import { SCHEMA, SCHEMA_VERSION } from "./schema.js";

type Row = Record<string, SqlStorageValue>;

type AlarmRow = StoredAlarmRow & Row;
type SessionRow = StoredSessionRow & Row;

/** A KV write waiting in the outbox. */
export interface OutboxRow {
  id: number;
  namespace: string;
  key: string;
  /** null for a delete. */
  record: KvRecord | null;
}

/**
 * Internal: the committed data of one room instance, in its Durable Object's SQLite
 * database. Every read is synchronous (the database is in the object's process); writes
 * happen only in `apply`, inside the commit's `transactionSync`.
 */
export class ObjectStore implements InstanceStore {
  readonly #sql: SqlStorage;
  #userSql: SqlBackend | undefined;
  /** Whether the room has SQL tables, as of the last commit that ran SQL. */
  #userTables: boolean | undefined;

  constructor(
    readonly storage: DurableObjectStorage,
    private readonly openUserSql: () => SqlBackend,
  ) {
    this.#sql = storage.sql;
    const created = this.#one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_cellar_meta'") !== undefined;
    if (!created || Number(this.getMeta("layout")) < SCHEMA_VERSION) {
      storage.transactionSync(() => this.#sql.exec(SCHEMA));
      this.setMeta("layout", String(SCHEMA_VERSION));
    }
  }

  #all<T extends Row>(query: string, ...bindings: unknown[]): T[] {
    return this.#sql.exec<T>(query, ...bindings).toArray();
  }

  #one<T>(query: string, ...bindings: unknown[]): T | undefined {
    return this.#sql.exec(query, ...bindings).toArray()[0] as T | undefined;
  }

  getMeta(key: string): string | undefined {
    return this.#one<{ value: string }>("SELECT value FROM _cellar_meta WHERE key = ?", key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec("INSERT INTO _cellar_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  // InstanceStore

  logHead(): { seq: number; floor: number } {
    const floor = Number(this.getMeta("log_floor") ?? 0);
    const last = this.#one<{ last: number | null }>("SELECT max(seq) AS last FROM _cellar_log")?.last ?? 0;
    return { seq: Math.max(floor, last), floor };
  }

  replay(after: number, upTo: number): Array<Pick<LogRecord, "seq" | "to" | "frame">> {
    return this.#all<{ seq: number; dest: string | null; frame: string }>(
      "SELECT seq, dest, frame FROM _cellar_log WHERE seq > ? AND seq <= ? ORDER BY seq",
      after,
      upTo,
    ).map((row) => ({ seq: row.seq, to: row.dest, frame: row.frame }));
  }

  session(connectionId: string): StoredSession | undefined {
    const row = this.#one<SessionRow>("SELECT * FROM _cellar_sessions WHERE conn_id = ?", connectionId);
    return row ? toStoredSession(row) : undefined;
  }

  sessions(): StoredSession[] {
    return this.#all<SessionRow>("SELECT * FROM _cellar_sessions").map(toStoredSession);
  }

  readState(scope: string): Map<string, string> {
    const rows = this.#all<{ key: string; value: string }>("SELECT key, value FROM _cellar_state WHERE scope = ?", scope);
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  getStorage(keys: readonly string[]): Map<string, string> {
    const found = new Map<string, string>();
    for (const key of keys) {
      const row = this.#one<{ value: string }>("SELECT value FROM _cellar_storage WHERE key = ?", key);
      if (row) found.set(key, row.value);
    }
    return found;
  }

  listStorage(range: StorageRange): Array<[string, string]> {
    const where: string[] = [];
    const bindings: unknown[] = [];
    if (range.lower !== undefined) {
      where.push(`key ${range.lowerInclusive ? ">=" : ">"} ?`);
      bindings.push(range.lower);
    }
    if (range.upper !== undefined) {
      where.push("key < ?");
      bindings.push(range.upper);
    }
    const query = `SELECT key, value FROM _cellar_storage ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY key ${range.reverse ? "DESC" : "ASC"} LIMIT ?`;
    return this.#all<{ key: string; value: string }>(query, ...bindings, range.limit).map((row) => [row.key, row.value]);
  }

  listAlarms(): AlarmRecord[] {
    return this.#all<AlarmRow>("SELECT * FROM _cellar_alarms ORDER BY due_at, id").map(toAlarmRecord);
  }

  getAlarm(id: string): AlarmRecord | undefined {
    const row = this.#one<AlarmRow>("SELECT * FROM _cellar_alarms WHERE id = ?", id);
    return row ? toAlarmRecord(row) : undefined;
  }

  sql(): SqlBackend {
    return (this.#userSql ??= this.openUserSql());
  }

  hasSql(): boolean {
    return this.#userSql !== undefined || this.#hasUserTables();
  }

  #hasUserTables(): boolean {
    return (
      this.#one(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cellar\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' LIMIT 1",
      ) !== undefined
    );
  }

  // Alarms, sessions and the log outside a handler's batch

  /** Due alarms (due by `now`), earliest first. */
  dueAlarms(now: number): AlarmRecord[] {
    return this.#all<AlarmRow>("SELECT * FROM _cellar_alarms WHERE due_at <= ? ORDER BY due_at, id LIMIT 500", now).map(toAlarmRecord);
  }

  nextAlarmAt(): number | undefined {
    return this.#one<{ due: number | null }>("SELECT min(due_at) AS due FROM _cellar_alarms")?.due ?? undefined;
  }

  deferAlarm(id: string, dueAt: number): void {
    this.#sql.exec("UPDATE _cellar_alarms SET due_at = ? WHERE id = ?", dueAt, id);
  }

  /** Records when a session's socket went away (null: it is open again, or was never away). */
  setDetached(connectionId: string, at: number | null): void {
    this.#sql.exec("UPDATE _cellar_sessions SET detached_at = ? WHERE conn_id = ?", at, connectionId);
  }

  /** Ends a session outside any batch: its row, and its connection state if it had no user. */
  endSession(connectionId: string, dropAnonymousState: boolean): void {
    this.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM _cellar_sessions WHERE conn_id = ?", connectionId);
      if (dropAnonymousState) this.#sql.exec("DELETE FROM _cellar_state WHERE scope = ?", `c:${connectionId}`);
    });
  }

  /** Drops log entries older than `cutoff`, raising the floor past them. */
  trimLogBefore(cutoff: number): void {
    const last = this.#one<{ seq: number | null }>("SELECT max(seq) AS seq FROM _cellar_log WHERE at < ?", cutoff)?.seq;
    if (last === null || last === undefined) return;
    this.storage.transactionSync(() => this.#trimLog(last));
  }

  #trimLog(upTo: number): void {
    this.#sql.exec("DELETE FROM _cellar_log WHERE seq <= ?", upTo);
    if (upTo > Number(this.getMeta("log_floor") ?? 0)) this.setMeta("log_floor", String(upTo));
  }

  // Socket meta that does not fit an attachment

  putSocketMeta(connectionId: string, meta: string): void {
    this.#sql.exec("INSERT INTO _cellar_socket_meta (conn_id, meta) VALUES (?, ?) ON CONFLICT (conn_id) DO UPDATE SET meta = excluded.meta", connectionId, meta);
  }

  socketMeta(connectionId: string): string | undefined {
    return this.#one<{ meta: string }>("SELECT meta FROM _cellar_socket_meta WHERE conn_id = ?", connectionId)?.meta;
  }

  deleteSocketMeta(connectionId: string): void {
    this.#sql.exec("DELETE FROM _cellar_socket_meta WHERE conn_id = ?", connectionId);
  }

  // The KV outbox

  /** The newest pending write of a key, if any (undefined: none; record null: a delete). */
  outboxEntry(namespace: string, key: string): { record: KvRecord | null } | undefined {
    const row = this.#one<OutboxSqlRow>("SELECT * FROM _cellar_kv_outbox WHERE namespace = ? AND key = ? ORDER BY id DESC LIMIT 1", namespace, key);
    return row ? { record: toOutboxRow(row).record } : undefined;
  }

  /** Pending writes of keys with `prefix`, oldest first. */
  outboxRange(namespace: string, prefix: string): OutboxRow[] {
    return this.#all<OutboxSqlRow>("SELECT * FROM _cellar_kv_outbox WHERE namespace = ? AND substr(key, 1, ?) = ? ORDER BY id", namespace, prefix.length, prefix).map(toOutboxRow);
  }

  outbox(limit: number): OutboxRow[] {
    return this.#all<OutboxSqlRow>("SELECT * FROM _cellar_kv_outbox ORDER BY id LIMIT ?", limit).map(toOutboxRow);
  }

  outboxDone(id: number): void {
    this.#sql.exec("DELETE FROM _cellar_kv_outbox WHERE id = ?", id);
  }

  // The commit

  /**
   * Applies a batch's writes. Runs inside the commit's `transactionSync`, so a throw (a
   * limit) undoes all of it. The replay log keeps at most `maxLogEntries` numbers' worth.
   */
  apply(writes: WriteSet, maxLogEntries: number): void {
    const sql = this.#sql;
    if (writes.log.length > 0) {
      for (const r of writes.log) sql.exec("INSERT INTO _cellar_log (seq, at, dest, frame) VALUES (?, ?, ?, ?)", r.seq, r.at, r.to, r.frame);
      const floor = writes.log[writes.log.length - 1]!.seq - maxLogEntries;
      if (floor > 0 && floor - Number(this.getMeta("log_floor") ?? 0) >= Math.max(1, Math.ceil(maxLogEntries / 8))) this.#trimLog(floor);
    }
    for (const [id, s] of writes.sessions) {
      if (s === null) sql.exec("DELETE FROM _cellar_sessions WHERE conn_id = ?", id);
      else if (s.secretHash !== undefined) {
        sql.exec(
          "INSERT INTO _cellar_sessions (conn_id, secret_hash, user_id, channels, detached_at) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (conn_id) DO UPDATE SET secret_hash = excluded.secret_hash, user_id = excluded.user_id, channels = excluded.channels, detached_at = NULL",
          id,
          s.secretHash,
          s.userId ?? null,
          s.channels,
        );
      } else sql.exec("UPDATE _cellar_sessions SET channels = ? WHERE conn_id = ?", s.channels, id);
    }
    if (writes.clearStorage) sql.exec("DELETE FROM _cellar_storage");
    for (const [key, value] of writes.storage) {
      if (value === null) sql.exec("DELETE FROM _cellar_storage WHERE key = ?", key);
      else sql.exec("INSERT INTO _cellar_storage (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
    }
    for (const scope of writes.dropScopes) sql.exec("DELETE FROM _cellar_state WHERE scope = ?", scope);
    for (const [scope, entries] of writes.state) {
      for (const [key, value] of entries) {
        sql.exec("INSERT INTO _cellar_state (scope, key, value) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value", scope, key, value);
      }
    }
    for (const [id, a] of writes.alarms) {
      if (a === null) sql.exec("DELETE FROM _cellar_alarms WHERE id = ?", id);
      else {
        sql.exec(
          "INSERT INTO _cellar_alarms (id, name, payload, scheduled_at, due_at, attempt) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, payload = excluded.payload, scheduled_at = excluded.scheduled_at, due_at = excluded.due_at, attempt = excluded.attempt",
          id,
          a.name,
          a.payload,
          a.scheduledAt,
          a.dueAt,
          a.attempt,
        );
      }
    }
    for (const [namespace, entries] of writes.kv) {
      for (const [key, record] of entries) {
        sql.exec(
          "INSERT INTO _cellar_kv_outbox (namespace, key, value, expires_at, metadata) VALUES (?, ?, ?, ?, ?)",
          namespace,
          key,
          record === null ? null : typeof record.value === "string" ? record.value : copyBytes(record.value),
          record?.expiresAt ?? null,
          record === null ? DELETED : record.metadata,
        );
      }
    }
  }

  /**
   * Refuses an instance over `limit` bytes: keys and values of state and storage or, once the
   * room has SQL tables of its own, the whole database (the platform reports only the
   * database's size, Cellar's tables included).
   */
  checkSize(limit: number, sqlUsed: boolean): void {
    if (sqlUsed || this.#userTables === undefined) this.#userTables = this.#hasUserTables();
    const total = this.#userTables ? this.#sql.databaseSize : (this.#one<{ bytes: number }>("SELECT bytes FROM _cellar_size WHERE id = 1")?.bytes ?? 0);
    if (total > limit) throw new StorageLimitError("INSTANCE_SIZE", `the instance would store more than ${limit} bytes`);
  }
}

interface OutboxSqlRow extends Row {
  id: number;
  namespace: string;
  key: string;
  value: string | ArrayBuffer | null;
  expires_at: number | null;
  metadata: string | null;
}

/** A delete is stored with this metadata (and no value), so a stored empty value stays a value. */
const DELETED = "\u0000deleted";

function toOutboxRow(row: OutboxSqlRow): OutboxRow {
  if (row.metadata === DELETED) return { id: row.id, namespace: row.namespace, key: row.key, record: null };
  const value = typeof row.value === "string" ? row.value : new Uint8Array(row.value ?? new ArrayBuffer(0));
  return { id: row.id, namespace: row.namespace, key: row.key, record: { value, expiresAt: row.expires_at, metadata: row.metadata } };
}

function copyBytes(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
