/*
 * Internal: Cellar's tables inside each Durable Object's SQLite database. One object is one
 * room instance, so no table needs an instance column. Every name starts with `_cellar_`:
 * `sql.exec` refuses queries that name them, and `deleteAll()` leaves them alone.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS _cellar_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS _cellar_state (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS _cellar_storage (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS _cellar_alarms (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _cellar_alarms_due ON _cellar_alarms (due_at, id);

CREATE TABLE IF NOT EXISTS _cellar_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  dest TEXT,
  frame TEXT NOT NULL
);

-- detached_at: when the session's socket went away (NULL while it is open).
CREATE TABLE IF NOT EXISTS _cellar_sessions (
  conn_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  user_id TEXT,
  channels TEXT,
  detached_at INTEGER
) WITHOUT ROWID;

-- Connection meta too large for a WebSocket attachment (2,048 bytes).
CREATE TABLE IF NOT EXISTS _cellar_socket_meta (
  conn_id TEXT PRIMARY KEY,
  meta TEXT NOT NULL
) WITHOUT ROWID;

-- KV writes committed with the room's other writes, until Workers KV has taken them.
CREATE TABLE IF NOT EXISTS _cellar_kv_outbox (
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB,
  expires_at INTEGER,
  metadata TEXT
);
CREATE INDEX IF NOT EXISTS _cellar_kv_outbox_key ON _cellar_kv_outbox (namespace, key, id);

-- Bytes of keys and values in state and storage (what the instance size limit counts,
-- with the room's own SQL tables).
CREATE TABLE IF NOT EXISTS _cellar_size (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO _cellar_size (id, bytes) VALUES (1, 0);

CREATE TRIGGER IF NOT EXISTS _cellar_storage_insert AFTER INSERT ON _cellar_storage BEGIN
  UPDATE _cellar_size SET bytes = bytes + octet_length(NEW.key) + octet_length(NEW.value);
END;
CREATE TRIGGER IF NOT EXISTS _cellar_storage_update AFTER UPDATE ON _cellar_storage BEGIN
  UPDATE _cellar_size SET bytes = bytes - octet_length(OLD.value) + octet_length(NEW.value);
END;
CREATE TRIGGER IF NOT EXISTS _cellar_storage_delete AFTER DELETE ON _cellar_storage BEGIN
  UPDATE _cellar_size SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value);
END;
CREATE TRIGGER IF NOT EXISTS _cellar_state_insert AFTER INSERT ON _cellar_state BEGIN
  UPDATE _cellar_size SET bytes = bytes + octet_length(NEW.key) + octet_length(NEW.value);
END;
CREATE TRIGGER IF NOT EXISTS _cellar_state_update AFTER UPDATE ON _cellar_state BEGIN
  UPDATE _cellar_size SET bytes = bytes - octet_length(OLD.value) + octet_length(NEW.value);
END;
CREATE TRIGGER IF NOT EXISTS _cellar_state_delete AFTER DELETE ON _cellar_state BEGIN
  UPDATE _cellar_size SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value);
END;
`;
