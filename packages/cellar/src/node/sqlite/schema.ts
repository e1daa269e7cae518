/*
 * Internal: the layout of the shared database (`<dataDir>/cellar.db`). One file holds the
 * persisted state, storage and alarms of every instance plus the KV namespaces, so the
 * writes of many rooms commit in one transaction. An instance's SQL tables live in a file
 * of their own (see sql-file.ts). `user_version` numbers the layout.
 */
export const SCHEMA_VERSION = 4;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS instances (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  -- bytes of keys and values in state and storage, kept by the triggers below
  bytes INTEGER NOT NULL DEFAULT 0,
  -- last SQL-file commit whose other writes are applied here (see sql-file.ts)
  sql_turn INTEGER NOT NULL DEFAULT 0,
  -- the highest sequence number trimmed from the replay log (the last one given when the
  -- log is empty)
  log_floor INTEGER NOT NULL DEFAULT 0,
  UNIQUE (kind, name)
);

CREATE TABLE IF NOT EXISTS state (
  instance INTEGER NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (instance, scope, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS storage (
  instance INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (instance, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS alarms (
  id TEXT PRIMARY KEY,
  instance INTEGER NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  -- when it was scheduled for, and when to run it next (later after a failed run)
  scheduled_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alarms_due ON alarms (due_at, id);
CREATE INDEX IF NOT EXISTS alarms_instance ON alarms (instance);

CREATE TABLE IF NOT EXISTS kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  expires_at INTEGER,
  metadata TEXT,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
-- Finds expired entries for the purge without reading the others. Added within layout 3: an
-- older Cellar opens the file as before (SQLite keeps the index up to date for it too).
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;

-- Frames a room emitted, for clients that resume (see docs/protocol.md). \`dest\` is NULL
-- for every session, "+id,id" for those sessions only, "-id,id" for all but those. Every
-- instance's rows are appended in commit order (\`id\` grows), so a commit writes to the
-- last page of one b-tree; \`at\` (ms) grows with \`id\` (but for clock steps), and the age
-- trim deletes a prefix of ids.
CREATE TABLE IF NOT EXISTS replay_log (
  id INTEGER PRIMARY KEY,
  instance INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  dest TEXT,
  frame TEXT NOT NULL
);
-- Where an instance's entries are, by number. Filled in batches from the rows appended
-- since meta 'log_indexed' (the last row id indexed), not on every commit; reads take the
-- unindexed rows at the end of replay_log into account (see shared-db.ts).
CREATE TABLE IF NOT EXISTS replay_index (
  instance INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (instance, seq)
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('log_indexed', '0');

-- Resumable sessions. detached_at is NULL while this process holds the session's socket
-- (the time it went away is kept in memory), and set for every session at startup.
CREATE TABLE IF NOT EXISTS sessions (
  instance INTEGER NOT NULL,
  conn_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  user_id TEXT,
  channels TEXT,
  detached_at INTEGER,
  PRIMARY KEY (instance, conn_id)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS storage_insert AFTER INSERT ON storage BEGIN
  UPDATE instances SET bytes = bytes + octet_length(NEW.key) + octet_length(NEW.value) WHERE id = NEW.instance;
END;
CREATE TRIGGER IF NOT EXISTS storage_update AFTER UPDATE ON storage BEGIN
  UPDATE instances SET bytes = bytes - octet_length(OLD.value) + octet_length(NEW.value) WHERE id = NEW.instance;
END;
CREATE TRIGGER IF NOT EXISTS storage_delete AFTER DELETE ON storage BEGIN
  UPDATE instances SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value) WHERE id = OLD.instance;
END;
CREATE TRIGGER IF NOT EXISTS state_insert AFTER INSERT ON state BEGIN
  UPDATE instances SET bytes = bytes + octet_length(NEW.key) + octet_length(NEW.value) WHERE id = NEW.instance;
END;
CREATE TRIGGER IF NOT EXISTS state_update AFTER UPDATE ON state BEGIN
  UPDATE instances SET bytes = bytes - octet_length(OLD.value) + octet_length(NEW.value) WHERE id = NEW.instance;
END;
CREATE TRIGGER IF NOT EXISTS state_delete AFTER DELETE ON state BEGIN
  UPDATE instances SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value) WHERE id = OLD.instance;
END;
`;

/** Steps from one layout to the next; \`MIGRATIONS[v]\` takes layout v to v + 1. */
export const MIGRATIONS: Record<number, string> = {
  1: `
ALTER TABLE instances ADD COLUMN log_floor INTEGER NOT NULL DEFAULT 0;
`,
  2: `
DROP INDEX IF EXISTS replay_log_at;
`,
  // The log keyed by (instance, seq) becomes one table appended in commit order (its rows
  // in order of time); replay_index is created and filled when the file opens.
  3: `
ALTER TABLE replay_log RENAME TO replay_log_keyed;
CREATE TABLE replay_log (
  id INTEGER PRIMARY KEY,
  instance INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  dest TEXT,
  frame TEXT NOT NULL
);
INSERT INTO replay_log (instance, seq, at, dest, frame)
  SELECT instance, seq, at, dest, frame FROM replay_log_keyed ORDER BY at, instance, seq;
DROP TABLE replay_log_keyed;
`,
};
