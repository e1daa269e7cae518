import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Statement } from "better-sqlite3";
import { cellarError } from "../../core/errors.js";
import type { StorageRange } from "../../core/ports.js";
import { prefixEnd } from "../../core/storage-api.js";
import type { AlarmRecord, KvRecord, LogRecord, WriteSet } from "../../core/write-set.js";
import type { SweepSlice } from "../sweep.js";
import type { StoredSession } from "../../core/ports.js";
import { toAlarmRecord, toStoredSession, type AlarmRow, type SessionRow } from "../../core/stored-rows.js";
import { MIGRATIONS, SCHEMA, SCHEMA_VERSION } from "./schema.js";

export type Durability = "normal" | "full";

/**
 * Rows appended to the replay log between two fills of its index (`replay_index`). Reads
 * of the log go through the index and scan the rows appended since, so this bounds that
 * scan; a larger batch touches each instance's index page once for more rows.
 */
export const LOG_INDEX_BATCH = 1000;

/** A due alarm with the instance it belongs to. */
export interface DueAlarm extends AlarmRecord {
  kind: string;
  instanceName: string;
}

/**
 * Internal: the shared SQLite database of a Node host. Every statement is prepared once.
 * Opened in WAL mode with an exclusive lock, so a second server on the same data directory
 * fails at start instead of corrupting anything.
 */
export class SharedDb {
  readonly db: Database.Database;
  readonly #s: ReturnType<typeof prepareAll>;
  readonly #listStatements = new Map<string, Statement>();
  /** Prepared on the first scrape: a server without metrics never needs them. */
  #countStatements: Record<"alarms" | "alarmsDue" | "logRows", Statement> | undefined;
  /** The id of the next replay-log row: above every id used, so ids keep growing when the log empties. */
  #nextLogId: number;
  /** Log rows appended since the index was last filled (as far as this process knows). */
  #unindexed = 0;

  constructor(dataDir: string, durability: Durability) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, "cellar.db");
    // No busy wait: the server holds an exclusive lock for its lifetime, so a locked file
    // means another server owns this directory, and waiting would not help.
    this.db = new Database(file, { timeout: 0 });
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
      // 16 MiB of page cache instead of 2: rooms' rows are read back without a trip to the
      // OS. (The WAL keeps SQLite's default checkpoint every 1,000 pages: a checkpoint runs
      // inside a commit and waits for its fsyncs, and a larger one stalls the event loop longer.)
      this.db.pragma("cache_size = -16384");
      // Take the exclusive lock now: a second server on this directory fails here.
      this.db.exec("BEGIN IMMEDIATE; COMMIT");
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw cellarError("INVALID_OPTION", `dataDir "${dataDir}" is in use by another Cellar server`, { cause: error });
      }
      throw error;
    }
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw cellarError("INVALID_OPTION", `dataDir "${dataDir}" was written by a newer Cellar (layout ${version}, this one reads ${SCHEMA_VERSION})`);
    }
    this.db.transaction(() => {
      // A new file (version 0) gets the whole layout; an older one is stepped forward first.
      for (let v = version; v > 0 && v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    this.#s = prepareAll(this.db);
    this.#nextLogId = this.#s.nextLogId.pluck(true).get() as number;
    // Rows a crash left unindexed (or a migrated log) get their index entries now.
    this.db.transaction(() => this.#indexLog())();
  }

  // Instances

  instanceId(kind: string, name: string): number | undefined {
    return (this.#s.findInstance.get(kind, name) as { id: number } | undefined)?.id;
  }

  ensureInstance(kind: string, name: string): number {
    this.#s.insertInstance.run(kind, name);
    return this.instanceId(kind, name)!;
  }

  instanceBytes(instance: number): number {
    return (this.#s.instanceBytes.get(instance) as { bytes: number } | undefined)?.bytes ?? 0;
  }

  sqlTurn(instance: number): number {
    return (this.#s.sqlTurn.get(instance) as { sql_turn: number } | undefined)?.sql_turn ?? 0;
  }

  setSqlTurn(instance: number, turn: number): void {
    this.#s.setSqlTurn.run(turn, instance);
  }

  // Reads of one instance

  readState(instance: number, scope: string): Map<string, string> {
    const rows = this.#s.readState.raw(true).all(instance, scope) as Array<[string, string]>;
    return new Map(rows);
  }

  getStorage(instance: number, keys: readonly string[]): Map<string, string> {
    const found = new Map<string, string>();
    for (const key of keys) {
      const value = this.#s.getStorage.pluck(true).get(instance, key) as string | undefined;
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  listStorage(instance: number, range: StorageRange): Array<[string, string]> {
    const shape = `${range.lower === undefined ? "" : range.lowerInclusive ? ">=" : ">"}|${range.upper === undefined ? "" : "<"}|${range.reverse ? "DESC" : "ASC"}`;
    let statement = this.#listStatements.get(shape);
    if (!statement) {
      const where = ["instance = @instance"];
      if (range.lower !== undefined) where.push(`key ${range.lowerInclusive ? ">=" : ">"} @lower`);
      if (range.upper !== undefined) where.push("key < @upper");
      statement = this.db.prepare(`SELECT key, value FROM storage WHERE ${where.join(" AND ")} ORDER BY key ${range.reverse ? "DESC" : "ASC"} LIMIT @limit`);
      statement.raw(true);
      this.#listStatements.set(shape, statement);
    }
    const params: Record<string, unknown> = { instance, limit: range.limit };
    if (range.lower !== undefined) params.lower = range.lower;
    if (range.upper !== undefined) params.upper = range.upper;
    return statement.all(params) as Array<[string, string]>;
  }

  listAlarms(instance: number): AlarmRecord[] {
    return (this.#s.alarmsOf.all(instance) as AlarmRow[]).map(toAlarmRecord);
  }

  getAlarm(instance: number, id: string): AlarmRecord | undefined {
    const row = this.#s.getAlarm.get(id, instance) as AlarmRow | undefined;
    return row ? toAlarmRecord(row) : undefined;
  }

  /** Moves an alarm's next run later, out of the way of alarms that can run now. */
  deferAlarm(id: string, dueAt: number): void {
    this.#s.deferAlarm.run(dueAt, id);
  }

  // Replay log and sessions of one instance

  /**
   * The last sequence number given, and the highest one trimmed from the log. The last
   * number is the newest row's, or the floor when every row was trimmed: no counter to
   * update on each commit.
   */
  logHead(instance: number): { seq: number; floor: number } {
    const row = this.#s.logHead.get({ instance }) as { last: number; log_floor: number } | undefined;
    const floor = row?.log_floor ?? 0;
    return { seq: Math.max(floor, row?.last ?? 0), floor };
  }

  /** Log entries after `after`, up to `upTo`, in order. */
  replay(instance: number, after: number, upTo: number): Array<Pick<LogRecord, "seq" | "to" | "frame">> {
    return (this.#s.replay.all({ instance, after, upTo }) as Array<{ seq: number; dest: string | null; frame: string }>).map((row) => ({
      seq: row.seq,
      to: row.dest,
      frame: row.frame,
    }));
  }

  /** An instance's latest `limit` log entries, newest first (for the inspector). */
  recentLog(instance: number, limit: number): Array<{ seq: number; at: number; dest: string | null; frame: string }> {
    return this.#s.recentLog.all({ instance, limit }) as Array<{ seq: number; at: number; dest: string | null; frame: string }>;
  }

  session(instance: number, connectionId: string): StoredSession | undefined {
    const row = this.#s.session.get(instance, connectionId) as SessionRow | undefined;
    return row ? toStoredSession(row) : undefined;
  }

  sessions(instance: number): StoredSession[] {
    return (this.#s.sessionsOf.all(instance) as SessionRow[]).map(toStoredSession);
  }

  /** Ends a session outside any batch: its row, and its connection state if it had no user. */
  endSession(instance: number, connectionId: string, dropAnonymousState: boolean): void {
    this.db.transaction(() => {
      this.#s.deleteSession.run(instance, connectionId);
      if (dropAnonymousState) this.#s.dropScope.run(instance, `c:${connectionId}`);
    })();
  }

  /**
   * At startup: sessions whose sockets this process never held are away since now; those
   * away since before `cutoff` are gone, with the connection state of anonymous ones and
   * state no session owns any more.
   */
  recoverSessions(now: number, cutoff: number): void {
    this.db.transaction(() => {
      this.#s.deleteOldSessions.run(cutoff);
      this.#s.detachSessions.run(now);
      this.#s.dropOrphanScopes.run();
    })();
  }

  /** Stored sessions away since before `cutoff` (rows of earlier runs). */
  expiredSessions(cutoff: number): Array<{ instance: number; kind: string; name: string; connectionId: string; userId: string | null }> {
    return (this.#s.expiredSessions.all(cutoff) as Array<{ instance: number; kind: string; name: string; conn_id: string; user_id: string | null }>).map(
      (row) => ({ instance: row.instance, kind: row.kind, name: row.name, connectionId: row.conn_id, userId: row.user_id }),
    );
  }

  /**
   * Trims the log entries older than `cutoff`, raising each instance's floor past its
   * entries that went. The entries go from the start of the log (the oldest row id) up to
   * its first entry at or after the cutoff: an entry written while the clock stood later
   * than it does now keeps the ones after it a little longer, never shorter.
   *
   * One transaction that deletes at most `maxRows` rows, reading about as many; `more` when
   * it stopped at `maxRows` (the age trim runs in slices, see sweep.ts).
   */
  trimLogBefore(cutoff: number, maxRows = Infinity): SweepSlice {
    const s = this.#s;
    // SQLite's LIMIT -1: no limit.
    const rows = Number.isFinite(maxRows) ? maxRows : -1;
    return this.db.transaction(() => {
      const firstKept = s.firstKeptLogId.pluck(true).get({ cutoff, rows }) as number | undefined;
      const end = firstKept === undefined ? (s.logPrefixEnd.pluck(true).get({ rows }) as number | null) : firstKept - 1;
      if (end === null) return { deleted: 0, more: false };
      for (const { instance, upTo } of s.logPrefixFloors.all(end) as Array<{ instance: number; upTo: number }>) {
        s.trimLogIndex.run({ instance, upTo });
        s.raiseFloor.run(upTo, instance);
      }
      const deleted = s.trimLogPrefix.run(end).changes;
      return { deleted, more: firstKept === undefined && deleted >= maxRows };
    })();
  }

  // Alarms across instances

  dueAlarms(now: number, limit: number): DueAlarm[] {
    return (this.#s.dueAlarms.all(now, limit) as Array<AlarmRow & { kind: string; instance_name: string }>).map((row) => ({
      ...toAlarmRecord(row),
      kind: row.kind,
      instanceName: row.instance_name,
    }));
  }

  nextAlarmAfter(now: number): number | undefined {
    return (this.#s.nextAlarm.pluck(true).get(now) as number | null) ?? undefined;
  }

  /**
   * For metrics, read at scrape time: alarms scheduled, those due by `now`, and the rows of
   * the replay log (a walk of replay_index, whose rows are a tenth of the log's, plus the
   * rows not indexed yet).
   */
  counts(now: number): { alarms: number; alarmsDue: number; logRows: number } {
    const s = (this.#countStatements ??= {
      alarms: this.db.prepare("SELECT count(*) FROM alarms").pluck(true),
      alarmsDue: this.db.prepare("SELECT count(*) FROM alarms WHERE due_at <= ?").pluck(true),
      logRows: this.db.prepare(`SELECT (SELECT count(*) FROM replay_index) + (SELECT count(*) FROM replay_log WHERE id > ${LOG_INDEXED})`).pluck(true),
    });
    return { alarms: s.alarms.get() as number, alarmsDue: s.alarmsDue.get(now) as number, logRows: s.logRows.get() as number };
  }

  // KV namespaces

  kvGet(namespace: string, key: string, now: number): KvRecord | undefined {
    const row = this.#s.kvGet.get(namespace, key, now) as KvRow | undefined;
    return row ? toKvRecord(row) : undefined;
  }

  kvList(namespace: string, prefix: string, after: string | undefined, limit: number, now: number): Array<[string, KvRecord]> {
    const rows = this.#s.kvList.all({
      namespace,
      prefix,
      after: after ?? null,
      upper: prefixEnd(prefix) ?? null,
      now,
      limit,
    }) as Array<KvRow & { key: string }>;
    return rows.map((row) => [row.key, toKvRecord(row)]);
  }

  /** Writes one KV entry in a transaction of its own (for writes made outside any room). */
  kvWriteNow(namespace: string, key: string, record: KvRecord | null): void {
    this.#writeKv(namespace, key, record);
  }

  /**
   * Deletes KV entries that expired at or before `now`, at most `maxRows` of them, in one
   * transaction, oldest first (found through the `kv_expiry` index); `more` when the slice
   * was full (the server purges in slices, see sweep.ts).
   */
  purgeExpiredKv(now: number, maxRows = Infinity): SweepSlice {
    // SQLite's LIMIT -1: no limit.
    const deleted = this.#s.kvPurge.run(now, Number.isFinite(maxRows) ? maxRows : -1).changes;
    return { deleted, more: deleted >= maxRows };
  }

  // Writing a batch

  /**
   * Applies an instance's write set inside the caller's transaction. The replay log keeps
   * at most `maxLogEntries` entries per instance (trimmed in steps, not on every commit).
   */
  apply(instance: number, writes: WriteSet, maxLogEntries = Infinity): void {
    const s = this.#s;
    if (writes.log.length > 0) {
      for (const record of writes.log) s.putLog.run(this.#nextLogId++, instance, record.seq, record.at, record.to, record.frame);
      const last = writes.log[writes.log.length - 1]!.seq;
      // Sequence numbers have gaps (volatile frames take none, failed handlers' frames are
      // never logged), so this keeps at most `maxLogEntries` numbers' worth: never more entries.
      const floor = last - maxLogEntries;
      if (floor > 0 && floor - (s.getFloor.pluck(true).get(instance) as number) >= Math.max(1, Math.ceil(maxLogEntries / 8))) {
        this.#trimLog(instance, floor);
        s.raiseFloor.run(floor, instance);
      }
      this.#unindexed += writes.log.length;
      if (this.#unindexed >= LOG_INDEX_BATCH) this.#indexLog();
    }
    for (const [id, session] of writes.sessions) {
      if (session === null) s.deleteSession.run(instance, id);
      else if (session.secretHash !== undefined) s.putSession.run(instance, id, session.secretHash, session.userId ?? null, session.channels);
      else s.setChannels.run(session.channels, instance, id);
    }
    if (writes.clearStorage) s.clearStorage.run(instance);
    for (const [key, value] of writes.storage) {
      if (value === null) s.deleteStorage.run(instance, key);
      else s.putStorage.run(instance, key, value);
    }
    for (const scope of writes.dropScopes) s.dropScope.run(instance, scope);
    for (const [scope, entries] of writes.state) {
      for (const [key, value] of entries) s.putState.run(instance, scope, key, value);
    }
    for (const [id, alarm] of writes.alarms) {
      if (alarm === null) s.deleteAlarm.run(id);
      else s.putAlarm.run(id, instance, alarm.name, alarm.payload, alarm.scheduledAt, alarm.dueAt, alarm.attempt);
    }
    for (const [namespace, entries] of writes.kv) {
      for (const [key, record] of entries) this.#writeKv(namespace, key, record);
    }
  }

  /** Deletes an instance's log entries numbered up to `upTo`, indexed or not. */
  #trimLog(instance: number, upTo: number): void {
    const s = this.#s;
    s.trimLogRows.run({ instance, upTo });
    s.trimLogIndex.run({ instance, upTo });
    s.trimLogTail.run({ instance, upTo });
  }

  /**
   * Indexes the log rows appended since the last fill, in the open transaction. Where the
   * index ends is kept in meta, in the same transaction: a rollback leaves both as they were.
   */
  #indexLog(): void {
    this.#s.indexLog.run();
    this.#s.setMeta.run("log_indexed", String(this.#nextLogId - 1));
    this.#unindexed = 0;
  }

  #writeKv(namespace: string, key: string, record: KvRecord | null): void {
    if (record === null) this.#s.kvDelete.run(namespace, key);
    else {
      const value = typeof record.value === "string" ? record.value : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
      this.#s.kvPut.run(namespace, key, value, record.expiresAt, record.metadata);
    }
  }

  // Transactions of the group commit

  begin(): void {
    this.#s.begin.run();
  }

  commit(): void {
    this.#s.commit.run();
  }

  /** Rolls back the open transaction, if there is one (a failed COMMIT may have ended it). */
  rollback(): void {
    if (this.db.inTransaction) this.#s.rollback.run();
  }

  // Meta

  getMeta(key: string): string | undefined {
    return this.#s.getMeta.pluck(true).get(key) as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.#s.setMeta.run(key, value);
  }

  close(): void {
    if (!this.db.open) return;
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}

interface KvRow {
  value: string | Buffer;
  expires_at: number | null;
  metadata: string | null;
}

function toKvRecord(row: KvRow): KvRecord {
  const value = typeof row.value === "string" ? row.value : new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.byteLength);
  return { value, expiresAt: row.expires_at, metadata: row.metadata };
}

/** Internal (exported for a test of its query plan): one slice of the KV purge. */
export const KV_PURGE =
  "DELETE FROM kv WHERE (namespace, key) IN (SELECT namespace, key FROM kv WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)";

/** The last replay-log row id that replay_index covers. */
const LOG_INDEXED = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'log_indexed')";

/**
 * Internal (exported for a test of their query plans): the replay log's statements that
 * run on one instance's entries, or on the rows appended since the last index fill. The
 * rows up to meta's log_indexed are found through replay_index, the rows after it (at most
 * about a batch, see LOG_INDEX_BATCH) by a scan of the end of replay_log; none reads the
 * whole log.
 */
export const INSTANCE_LOG_SQL = {
  logHead: `SELECT max((SELECT coalesce(max(seq), 0) FROM replay_index WHERE instance = @instance),
                      (SELECT coalesce(max(seq), 0) FROM replay_log WHERE id > ${LOG_INDEXED} AND instance = @instance)) AS last,
              log_floor FROM instances WHERE id = @instance`,
  replay: `SELECT i.seq, l.dest, l.frame FROM replay_index i JOIN replay_log l ON l.id = i.id
             WHERE i.instance = @instance AND i.seq > @after AND i.seq <= @upTo
           UNION ALL
           SELECT seq, dest, frame FROM replay_log WHERE id > ${LOG_INDEXED} AND instance = @instance AND seq > @after AND seq <= @upTo
           ORDER BY 1`,
  recentLog: `SELECT * FROM (SELECT seq, at, dest, frame FROM replay_log WHERE id > ${LOG_INDEXED} AND instance = @instance ORDER BY seq DESC LIMIT @limit)
              UNION ALL
              SELECT * FROM (SELECT i.seq, l.at, l.dest, l.frame FROM replay_index i JOIN replay_log l ON l.id = i.id
                WHERE i.instance = @instance ORDER BY i.seq DESC LIMIT @limit)
              ORDER BY 1 DESC LIMIT @limit`,
  indexLog: `INSERT OR REPLACE INTO replay_index (instance, seq, id) SELECT instance, seq, id FROM replay_log WHERE id > ${LOG_INDEXED}`,
  trimLogRows: "DELETE FROM replay_log WHERE id IN (SELECT id FROM replay_index WHERE instance = @instance AND seq <= @upTo)",
  trimLogIndex: "DELETE FROM replay_index WHERE instance = @instance AND seq <= @upTo",
  trimLogTail: `DELETE FROM replay_log WHERE id > ${LOG_INDEXED} AND instance = @instance AND seq <= @upTo`,
};

function prepareAll(db: Database.Database) {
  return {
    findInstance: db.prepare("SELECT id FROM instances WHERE kind = ? AND name = ?"),
    insertInstance: db.prepare("INSERT INTO instances (kind, name) VALUES (?, ?) ON CONFLICT DO NOTHING"),
    instanceBytes: db.prepare("SELECT bytes FROM instances WHERE id = ?"),
    sqlTurn: db.prepare("SELECT sql_turn FROM instances WHERE id = ?"),
    setSqlTurn: db.prepare("UPDATE instances SET sql_turn = ? WHERE id = ?"),
    readState: db.prepare("SELECT key, value FROM state WHERE instance = ? AND scope = ?"),
    putState: db.prepare(
      "INSERT INTO state (instance, scope, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (instance, scope, key) DO UPDATE SET value = excluded.value",
    ),
    dropScope: db.prepare("DELETE FROM state WHERE instance = ? AND scope = ?"),
    getStorage: db.prepare("SELECT value FROM storage WHERE instance = ? AND key = ?"),
    putStorage: db.prepare(
      "INSERT INTO storage (instance, key, value) VALUES (?, ?, ?) ON CONFLICT (instance, key) DO UPDATE SET value = excluded.value",
    ),
    deleteStorage: db.prepare("DELETE FROM storage WHERE instance = ? AND key = ?"),
    clearStorage: db.prepare("DELETE FROM storage WHERE instance = ?"),
    alarmsOf: db.prepare("SELECT id, name, payload, scheduled_at, due_at, attempt FROM alarms WHERE instance = ? ORDER BY scheduled_at, id"),
    getAlarm: db.prepare("SELECT id, name, payload, scheduled_at, due_at, attempt FROM alarms WHERE id = ? AND instance = ?"),
    putAlarm: db.prepare(
      "INSERT INTO alarms (id, instance, name, payload, scheduled_at, due_at, attempt) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, attempt = excluded.attempt",
    ),
    deleteAlarm: db.prepare("DELETE FROM alarms WHERE id = ?"),
    deferAlarm: db.prepare("UPDATE alarms SET due_at = ? WHERE id = ?"),
    dueAlarms: db.prepare(
      "SELECT a.id, a.name, a.payload, a.scheduled_at, a.due_at, a.attempt, i.kind, i.name AS instance_name FROM alarms a JOIN instances i ON i.id = a.instance WHERE a.due_at <= ? ORDER BY a.due_at, a.id LIMIT ?",
    ),
    nextAlarm: db.prepare("SELECT MIN(due_at) FROM alarms WHERE due_at > ?"),
    kvGet: db.prepare("SELECT value, expires_at, metadata FROM kv WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)"),
    kvList: db.prepare(
      `SELECT key, value, expires_at, metadata FROM kv
       WHERE namespace = @namespace AND key >= @prefix AND (@upper IS NULL OR key < @upper)
         AND (@after IS NULL OR key > @after) AND (expires_at IS NULL OR expires_at > @now)
       ORDER BY key LIMIT @limit`,
    ),
    kvPut: db.prepare(
      "INSERT INTO kv (namespace, key, value, expires_at, metadata) VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, metadata = excluded.metadata",
    ),
    kvDelete: db.prepare("DELETE FROM kv WHERE namespace = ? AND key = ?"),
    kvPurge: db.prepare(KV_PURGE),
    logHead: db.prepare(INSTANCE_LOG_SQL.logHead),
    replay: db.prepare(INSTANCE_LOG_SQL.replay),
    recentLog: db.prepare(INSTANCE_LOG_SQL.recentLog),
    putLog: db.prepare("INSERT INTO replay_log (id, instance, seq, at, dest, frame) VALUES (?, ?, ?, ?, ?, ?)"),
    nextLogId: db.prepare(`SELECT max((SELECT coalesce(max(id), 0) FROM replay_log), ${LOG_INDEXED}) + 1`),
    indexLog: db.prepare(INSTANCE_LOG_SQL.indexLog),
    trimLogRows: db.prepare(INSTANCE_LOG_SQL.trimLogRows),
    trimLogIndex: db.prepare(INSTANCE_LOG_SQL.trimLogIndex),
    trimLogTail: db.prepare(INSTANCE_LOG_SQL.trimLogTail),
    getFloor: db.prepare("SELECT log_floor FROM instances WHERE id = ?"),
    raiseFloor: db.prepare("UPDATE instances SET log_floor = max(log_floor, ?) WHERE id = ?"),
    // The age trim: the first entry at or after the cutoff among the oldest @rows (none:
    // every one of those is older), read from the oldest until it is found.
    firstKeptLogId: db.prepare("SELECT id FROM (SELECT id, at FROM replay_log ORDER BY id LIMIT @rows) WHERE at >= @cutoff LIMIT 1"),
    // The last of the oldest @rows entries.
    logPrefixEnd: db.prepare("SELECT max(id) FROM (SELECT id FROM replay_log ORDER BY id LIMIT @rows)"),
    // Each instance's highest number among the entries up to a row id.
    logPrefixFloors: db.prepare("SELECT instance, max(seq) AS upTo FROM replay_log WHERE id <= ? GROUP BY instance"),
    trimLogPrefix: db.prepare("DELETE FROM replay_log WHERE id <= ?"),
    session: db.prepare("SELECT conn_id, secret_hash, user_id, channels, detached_at FROM sessions WHERE instance = ? AND conn_id = ?"),
    sessionsOf: db.prepare("SELECT conn_id, secret_hash, user_id, channels, detached_at FROM sessions WHERE instance = ?"),
    putSession: db.prepare(
      `INSERT INTO sessions (instance, conn_id, secret_hash, user_id, channels, detached_at) VALUES (?, ?, ?, ?, ?, NULL)
       ON CONFLICT (instance, conn_id) DO UPDATE SET secret_hash = excluded.secret_hash, user_id = excluded.user_id,
         channels = excluded.channels, detached_at = NULL`,
    ),
    setChannels: db.prepare("UPDATE sessions SET channels = ? WHERE instance = ? AND conn_id = ?"),
    deleteSession: db.prepare("DELETE FROM sessions WHERE instance = ? AND conn_id = ?"),
    deleteOldSessions: db.prepare("DELETE FROM sessions WHERE detached_at IS NOT NULL AND detached_at < ?"),
    detachSessions: db.prepare("UPDATE sessions SET detached_at = ? WHERE detached_at IS NULL"),
    dropOrphanScopes: db.prepare(
      "DELETE FROM state WHERE scope LIKE 'c:%' AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.instance = state.instance AND 'c:' || s.conn_id = state.scope)",
    ),
    expiredSessions: db.prepare(
      `SELECT s.instance, i.kind, i.name, s.conn_id, s.user_id FROM sessions s JOIN instances i ON i.id = s.instance
       WHERE s.detached_at IS NOT NULL AND s.detached_at < ?`,
    ),
    begin: db.prepare("BEGIN"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
  };
}
