/*
 * The ports a host implements for the core: committed reads of one instance's storage, the
 * global KV store, an instance's SQL database, and logging. The Node host backs them with
 * SQLite; the Cloudflare adapter will back them with a Durable Object's storage.
 * Each read may answer synchronously or with a promise.
 */
import type { AlarmRecord, KvRecord, LogRecord } from "./write-set.js";

export type Awaitable<T> = T | Promise<T>;

/** A key range, already normalized by the core: `lower`/`upper` are bounds or undefined. */
export interface StorageRange {
  lower: string | undefined;
  lowerInclusive: boolean;
  /** Exclusive. */
  upper: string | undefined;
  reverse: boolean;
  limit: number;
}

/** A resumable session as stored. */
export interface StoredSession {
  connectionId: string;
  /** SHA-256 of the token's secret part, base64url. */
  secretHash: string;
  userId: string | undefined;
  /** Channels joined, comma-free JSON array text, or null for none. */
  channels: string | null;
  /** When it went away, if the host knows it only from storage (after a restart). */
  detachedAt: number | undefined;
}

/** Committed data of one instance. */
export interface InstanceStore {
  /**
   * The replay log's last sequence number and the highest one trimmed away. Synchronous,
   * like `replay`: a resume reads the log while it delivers, between two commits.
   */
  logHead(): { seq: number; floor: number };
  /** Committed log entries with `after < seq <= upTo`, in order. */
  replay(after: number, upTo: number): Array<Pick<LogRecord, "seq" | "to" | "frame">>;
  session(connectionId: string): Awaitable<StoredSession | undefined>;
  /** Encoded persisted state of a scope ("" for the room, "u:<userId>" for a user). */
  readState(scope: string): Awaitable<Map<string, string>>;
  getStorage(keys: readonly string[]): Awaitable<Map<string, string>>;
  /** Rows in range, in key order (code point order; descending with `reverse`), at most `range.limit`. */
  listStorage(range: StorageRange): Awaitable<Array<[string, string]>>;
  listAlarms(): Awaitable<AlarmRecord[]>;
  getAlarm(id: string): Awaitable<AlarmRecord | undefined>;
  /** The instance's SQL database, opened (and created) on first use. */
  sql(): SqlBackend;
  /** Whether the instance has an SQL database already (so `deleteAll` need not create one). */
  hasSql(): boolean;
}

/** Committed data of the KV namespaces. Expired entries are never returned. */
export interface KvStore {
  get(namespace: string, key: string): Awaitable<KvRecord | undefined>;
  /** Entries with `prefix`, keys strictly after `after`, in key order. */
  list(namespace: string, prefix: string, after: string | undefined, limit: number): Awaitable<Array<[string, KvRecord]>>;
}

export interface SqlResult {
  columnNames: string[];
  rows: unknown[][];
  rowsRead: number;
  rowsWritten: number;
}

/**
 * One instance's SQL database. Statements run inside a transaction the host keeps open
 * until the commit; savepoints mark what one handler (or `transaction()`) did.
 */
export interface SqlBackend {
  exec(query: string, bindings: readonly unknown[]): SqlResult;
  /** Opens a savepoint and returns its token. */
  savepoint(): number;
  /** Keeps what was done since the savepoint (it joins the enclosing one, or the commit). */
  release(token: number): void;
  /** Undoes what was done since the savepoint, and ends it. */
  discard(token: number): void;
  /** Bytes the database occupies. */
  readonly databaseSize: number;
}

/** The subset of a pino-style logger the core uses. */
export interface Logger {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
  /**
   * Whether lines of `level` are written (pino has it). Per-event debug lines are built only
   * when it says yes; a logger without it gets them all.
   */
  isLevelEnabled?(level: string): boolean;
}

/**
 * The header of an upgrade request in which a host gives the core the request's id, so
 * that the core's log lines about the connection carry it (`req`).
 */
export const REQUEST_ID_HEADER = "x-request-id";

/** How a connect ended: a new session, a resumed one, a resume refused (a fresh session instead), or no connection. */
export type ConnectOutcome = "new" | "resumed" | "resynced" | "refused";

/**
 * What a host counts about the instances of one room kind (the Node host's metrics). Called
 * on the per-event path, so an implementation does an increment or two and nothing more.
 */
export interface RoomObserver {
  /** A client event was handled in `ms`: `error` is the code its sender got, undefined when it succeeded. */
  event(error: string | undefined, ms: number): void;
  connected(outcome: ConnectOutcome): void;
}
