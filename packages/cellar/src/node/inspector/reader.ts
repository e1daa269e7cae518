/*
 * Internal: what the inspector reads, and how it reads it without waking anything.
 *
 * Instances in memory are looked up in the host's routing table (`Rooms.find`, which never
 * creates an entry); everything else comes from the files. The shared database is read
 * through the host's own connection: the server holds it under an exclusive lock, so no
 * second connection could open it, and in this one thread a read runs between two commits
 * (a group commit opens and commits its transaction in one synchronous call), so it sees
 * committed data only. Statements are the inspector's own, all SELECTs, each bounded by a
 * LIMIT: a page refreshing every second costs a few index lookups, not a scan. Session rows
 * are read without their secret hash column; the SQL redo records are never read.
 */
import { existsSync } from "node:fs";
import type { Statement } from "better-sqlite3";
import { cellarError } from "../../core/errors.js";
import { prefixEnd } from "../../core/storage-api.js";
import { sqlPathOf } from "../instance-store.js";
import type { Rooms, RoomSlot } from "../rooms.js";
import type { SharedDb } from "../sqlite/shared-db.js";
import { Redactions, show, showFrame, showStored, showString, uniqueKey, type Shown } from "./display.js";
import { secretName } from "./redact.js";
import { readSql, type SqlView } from "./sql-reader.js";

/** Counts stop here (a count is a walk of an index). */
const COUNT_CAP = 10_000;
const MAX_STATE_ROWS = 300;
const MAX_ALARMS = 50;
const MAX_SESSIONS = 200;
/** In-memory instances without a stored row, listed on the first page (they are rare and brief). */
const MAX_MEMORY_ONLY = 200;

export type InstanceStatus = "live" | "hibernated" | "stored";

export interface InstanceSummary {
  kind: string;
  id: string;
  /** `live`: in memory; `hibernated`: out of memory, connections still open; `stored`: only on disk. */
  status: InstanceStatus;
  /** Open connections, and sessions whose socket went away that may still resume. */
  connections: number;
  detached: number;
  /** When it last ran something (epoch ms), or when it last emitted a logged frame; null if unknown. */
  lastActivity: number | null;
  /** Bytes of its state and storage in the shared database. */
  bytes: number;
  /** It has an SQL database of its own. */
  sql: boolean;
}

export interface ListQuery {
  kind: string | undefined;
  offset: number;
  limit: number;
}

export interface InstanceQuery {
  offset: number;
  limit: number;
  prefix: string;
  log: number;
}

interface InstanceRow {
  id: number;
  kind: string;
  name: string;
  bytes: number;
}

export interface ReaderSources {
  shared: SharedDb;
  rooms: Rooms;
  /** The room kinds this server serves. */
  kinds: readonly string[];
  dataDir: string;
}

export class InspectorReader {
  readonly #src: ReaderSources;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(sources: ReaderSources) {
    this.#src = sources;
  }

  get #s(): ReturnType<typeof prepare> {
    const db = this.#src.shared.db;
    // Never the case between two requests (commits are synchronous); refuse rather than read uncommitted rows.
    if (db.inTransaction) throw cellarError("SHUTTING_DOWN", "The database is busy; try again");
    return (this.#statements ??= prepare(db));
  }

  /** Room kinds with their counts, and one page of instances (ordered by kind, then id). */
  list(query: ListQuery) {
    const s = this.#s;
    const rows = (query.kind === undefined ? s.page.all(query.limit + 1, query.offset) : s.pageOfKind.all(query.kind, query.limit + 1, query.offset)) as InstanceRow[];
    const instances = rows.slice(0, query.limit).map((row) => this.#summary(row.kind, row.name, row));
    if (query.offset === 0) instances.push(...this.#memoryOnly(query.kind));
    const inMemory = new Map(this.#src.kinds.map((name) => [name, { live: 0, hibernated: 0 }]));
    for (const slot of this.#src.rooms.slots()) {
      const counts = inMemory.get(slot.def.name);
      if (counts && slot.instance) counts.live++;
      else if (counts) counts.hibernated++;
    }
    const kinds = [...inMemory].map(([name, counts]) => {
      const stored = s.countKind.get(name, COUNT_CAP + 1) as number;
      return { name, ...counts, stored: Math.min(stored, COUNT_CAP), storedCapped: stored > COUNT_CAP };
    });
    return { kinds, instances, offset: query.offset, limit: query.limit, more: rows.length > query.limit };
  }

  /** One instance in detail, or undefined when nothing of it exists, in memory or on disk. */
  instance(kind: string, id: string, query: InstanceQuery) {
    const s = this.#s;
    const row = s.find.get(kind, id) as InstanceRow | undefined;
    const slot = this.#src.rooms.find(kind, id);
    if (!row && !slot) return undefined;
    const redactions = new Redactions();
    const rowId = row?.id;
    const head = rowId === undefined ? { seq: 0, floor: 0 } : this.#src.shared.logHead(rowId);
    const path = sqlPathOf(this.#src.dataDir, kind, id);
    const sql: SqlView = readSql(slot?.store?.openSql, path, existsSync(path), redactions);
    const view = {
      ...this.#summary(kind, id, row, slot),
      seq: { last: head.seq, trimmedUpTo: head.floor },
      state: rowId === undefined ? { room: {}, scopes: [], more: false } : this.#state(rowId, redactions),
      storage: this.#storage(rowId, query, redactions),
      sql,
      alarms: this.#alarms(rowId, redactions),
      log: rowId === undefined ? [] : this.#log(rowId, query.log, redactions),
      sessions: this.#sessions(rowId, slot),
      redacted: 0,
    };
    view.redacted = redactions.count;
    return view;
  }

  #summary(kind: string, id: string, row: InstanceRow | undefined, slot = this.#src.rooms.find(kind, id)): InstanceSummary {
    let connections = 0;
    let detached = 0;
    for (const record of slot?.connections ?? []) {
      if (record.phase === "detached") detached++;
      else if (record.phase !== "closed") connections++;
    }
    let lastActivity = slot?.instance?.lastActive ?? slot?.lastActive ?? null;
    if (lastActivity === null && row) lastActivity = this.#src.shared.recentLog(row.id, 1)[0]?.at ?? null;
    return {
      kind,
      id,
      status: slot?.instance ? "live" : slot ? "hibernated" : "stored",
      connections,
      detached,
      lastActivity,
      bytes: row?.bytes ?? 0,
      sql: slot?.store?.openSql !== undefined || existsSync(sqlPathOf(this.#src.dataDir, kind, id)),
    };
  }

  #memoryOnly(kind: string | undefined): InstanceSummary[] {
    const found: InstanceSummary[] = [];
    for (const slot of this.#src.rooms.slots()) {
      if (found.length === MAX_MEMORY_ONLY) break;
      if (kind !== undefined && slot.def.name !== kind) continue;
      if (this.#s.find.get(slot.def.name, slot.id) === undefined) found.push(this.#summary(slot.def.name, slot.id, undefined, slot));
    }
    return found;
  }

  /** Persisted state: the room's (scope ""), and per-user ("u:<userId>") and per-connection ("c:<id>") state. */
  #state(rowId: number, redactions: Redactions) {
    const rows = this.#s.state.all(rowId, MAX_STATE_ROWS + 1) as Array<{ scope: string; key: string; value: string }>;
    const room: Record<string, Shown> = Object.create(null);
    const scopes = new Map<string, Record<string, Shown>>();
    for (const { scope, key, value } of rows.slice(0, MAX_STATE_ROWS)) {
      if (secretName(key)) {
        redactions.count++;
        continue;
      }
      let values = scope === "" ? room : scopes.get(scope);
      if (!values) scopes.set(scope, (values = Object.create(null) as Record<string, Shown>));
      values[uniqueKey(values, showString(key))] = showStored(value, redactions);
    }
    return {
      room,
      scopes: [...scopes].map(([scope, values]) => ({ scope: showString(scope), values })),
      more: rows.length > MAX_STATE_ROWS,
    };
  }

  /** One page of storage, in key order, from `prefix`. Pages go by offset: a key cursor could carry a secret. */
  #storage(rowId: number | undefined, query: InstanceQuery, redactions: Redactions) {
    const page = { offset: query.offset, limit: query.limit, prefix: showString(query.prefix) };
    if (rowId === undefined) return { ...page, count: 0, countCapped: false, entries: [], more: false };
    const s = this.#s;
    const upper = query.prefix === "" ? undefined : prefixEnd(query.prefix);
    const rows = (
      upper === undefined ? s.storageFrom.all(rowId, query.prefix, query.limit + 1, query.offset) : s.storageRange.all(rowId, query.prefix, upper, query.limit + 1, query.offset)
    ) as Array<{ key: string; value: string }>;
    const entries: Array<{ key: string; value: Shown }> = [];
    for (const { key, value } of rows.slice(0, query.limit)) {
      if (secretName(key)) redactions.count++;
      else entries.push({ key: showString(key), value: showStored(value, redactions) });
    }
    const count = s.countStorage.get(rowId, COUNT_CAP + 1) as number;
    return { ...page, count: Math.min(count, COUNT_CAP), countCapped: count > COUNT_CAP, entries, more: rows.length > query.limit };
  }

  #alarms(rowId: number | undefined, redactions: Redactions) {
    if (rowId === undefined) return { count: 0, items: [] };
    const rows = this.#s.alarms.all(rowId, MAX_ALARMS) as Array<{ id: string; name: string; payload: string; scheduled_at: number; due_at: number; attempt: number }>;
    const count = this.#s.countAlarms.get(rowId, COUNT_CAP + 1) as number;
    return {
      count: Math.min(count, COUNT_CAP),
      items: rows.map((a) => ({
        id: a.id,
        name: showString(a.name),
        scheduledAt: a.scheduled_at,
        dueAt: a.due_at,
        attempt: a.attempt,
        payload: showStored(a.payload, redactions),
      })),
    };
  }

  /** The latest entries of the replay log, newest first. */
  #log(rowId: number, limit: number, redactions: Redactions) {
    return this.#src.shared.recentLog(rowId, limit).map((row) => ({ seq: row.seq, at: row.at, to: showDest(row.dest), frame: showFrame(row.frame, redactions) }));
  }

  /**
   * Sessions: the host's records of connections (open, or gone away and resumable) and the
   * stored rows of resumable sessions this process has not loaded yet (an earlier run's).
   */
  #sessions(rowId: number | undefined, slot: RoomSlot | undefined) {
    const sessions = new Map<string, { id: string; userId: string | null; state: string; detachedAt: number | null; channels: Shown }>();
    for (const record of slot?.connections ?? []) {
      if (sessions.size === MAX_SESSIONS) break;
      const detachedAt = "detachedAt" in record ? (record.detachedAt as number) : null;
      const channels = record.channels ? [...record.channels].slice(0, 50).map(showString) : [];
      sessions.set(record.id, { id: record.id, userId: record.userId === undefined ? null : showString(record.userId), state: record.phase, detachedAt, channels });
    }
    if (rowId !== undefined) {
      const rows = this.#s.sessions.all(rowId, MAX_SESSIONS) as Array<{ conn_id: string; user_id: string | null; channels: string | null; detached_at: number | null }>;
      for (const row of rows) {
        if (sessions.has(row.conn_id) || sessions.size === MAX_SESSIONS) continue;
        const channels = row.channels === null ? [] : show(safeJson(row.channels), new Redactions());
        sessions.set(row.conn_id, { id: row.conn_id, userId: row.user_id === null ? null : showString(row.user_id), state: "stored", detachedAt: row.detached_at, channels });
      }
    }
    return [...sessions.values()];
  }
}

/** A log entry's addressees: every session, only some, or all but some (see schema.ts). */
function showDest(dest: string | null): Shown {
  if (dest === null) return "all";
  const ids = dest.slice(1).split(",");
  return dest.startsWith("+") ? { only: ids } : { except: ids };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { $type: "corrupt" };
  }
}

function prepare(db: SharedDb["db"]) {
  const statements = {
    page: db.prepare("SELECT id, kind, name, bytes FROM instances ORDER BY kind, name LIMIT ? OFFSET ?"),
    pageOfKind: db.prepare("SELECT id, kind, name, bytes FROM instances WHERE kind = ? ORDER BY name LIMIT ? OFFSET ?"),
    countKind: db.prepare("SELECT count(*) FROM (SELECT 1 FROM instances WHERE kind = ? LIMIT ?)").pluck(),
    find: db.prepare("SELECT id, kind, name, bytes FROM instances WHERE kind = ? AND name = ?"),
    state: db.prepare("SELECT scope, key, value FROM state WHERE instance = ? ORDER BY scope, key LIMIT ?"),
    storageFrom: db.prepare("SELECT key, value FROM storage WHERE instance = ? AND key >= ? ORDER BY key LIMIT ? OFFSET ?"),
    storageRange: db.prepare("SELECT key, value FROM storage WHERE instance = ? AND key >= ? AND key < ? ORDER BY key LIMIT ? OFFSET ?"),
    countStorage: db.prepare("SELECT count(*) FROM (SELECT 1 FROM storage WHERE instance = ? LIMIT ?)").pluck(),
    alarms: db.prepare("SELECT id, name, payload, scheduled_at, due_at, attempt FROM alarms WHERE instance = ? ORDER BY due_at, id LIMIT ?"),
    countAlarms: db.prepare("SELECT count(*) FROM (SELECT 1 FROM alarms WHERE instance = ? LIMIT ?)").pluck(),
    // Not secret_hash: what is never read cannot leak.
    sessions: db.prepare("SELECT conn_id, user_id, channels, detached_at FROM sessions WHERE instance = ? ORDER BY conn_id LIMIT ?"),
  };
  for (const [name, statement] of Object.entries(statements) as Array<[string, Statement]>) {
    if (!statement.reader) throw new Error(`inspector statement ${name} would write`);
  }
  return statements;
}
