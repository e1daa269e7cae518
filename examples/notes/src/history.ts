import type { SqlStorage } from "cellar";

/** A chat message as clients receive it. */
export interface Message {
  id: number;
  userId: string;
  text: string;
  sentAt: number;
}

/** How many messages a client gets as `history` when it connects. */
export const HISTORY_SIZE = 50;

// The table is created on first use rather than at startup: a room instance has no
// "install" step, and an instance nobody ever writes to should not get a table.
const CREATE = `CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  text TEXT NOT NULL,
  sent_at INTEGER NOT NULL
)`;

type Row = { id: number; userId: string; text: string; sentAt: number };

/** Appends a message to the instance's SQL history; it commits with the handler's other writes. */
export function appendMessage(sql: SqlStorage, userId: string, text: string, sentAt: number): Message {
  sql.exec(CREATE);
  const { id } = sql.exec<{ id: number }>("INSERT INTO messages (user_id, text, sent_at) VALUES (?, ?, ?) RETURNING id", userId, text, sentAt).one();
  return { id, userId, text, sentAt };
}

/** The last `limit` messages, oldest first. */
export function recentMessages(sql: SqlStorage, limit = HISTORY_SIZE): Message[] {
  sql.exec(CREATE);
  const rows = sql
    .exec<Row>("SELECT id, user_id AS userId, text, sent_at AS sentAt FROM messages ORDER BY id DESC LIMIT ?", limit)
    .toArray();
  return rows.reverse().map(({ id, userId, text, sentAt }) => ({ id, userId, text, sentAt }));
}
