/*
 * Internal: rows both hosts' SQLite layouts share (Node's shared database, a Durable
 * Object's tables), and what the core reads from them.
 */
import type { StoredSession } from "./ports.js";
import type { AlarmRecord } from "./write-set.js";

export interface AlarmRow {
  id: string;
  name: string;
  payload: string;
  scheduled_at: number;
  due_at: number;
  attempt: number;
}

export interface SessionRow {
  conn_id: string;
  secret_hash: string;
  user_id: string | null;
  channels: string | null;
  detached_at: number | null;
}

export function toAlarmRecord(row: AlarmRow): AlarmRecord {
  return { id: row.id, name: row.name, payload: row.payload, scheduledAt: row.scheduled_at, dueAt: row.due_at, attempt: row.attempt };
}

export function toStoredSession(row: SessionRow): StoredSession {
  return {
    connectionId: row.conn_id,
    secretHash: row.secret_hash,
    userId: row.user_id ?? undefined,
    channels: row.channels,
    detachedAt: row.detached_at ?? undefined,
  };
}
