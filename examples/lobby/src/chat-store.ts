import { CellarError, type SqlStorage } from "cellar";

/** Messages kept per chat room; older ones are deleted as new ones arrive. */
export const HISTORY_CAP = 1_000;

export interface ChatRoom {
  id: string;
  name: string;
  maxParticipants: number;
  isPrivate: boolean;
  createdBy: string | null;
  createdAt: number;
  memberCount: number;
}

export interface ChatMessage {
  roomId: string;
  /** Numbered per room from 1: the history's cursor. */
  seq: number;
  type: "message" | "system";
  /** Who sent it; `null` for system messages. */
  from: string | null;
  text: string;
  at: number;
}

/*
 * Everything the lobby keeps lives in its own SQLite tables, not in `ctx.state`: history grows
 * with use and a persisted state key is capped at 128 KiB. Messages are keyed by
 * (room_id, seq), numbered per room, so trimming to the cap is one indexed range delete of at
 * most one row per message sent: no count, no scan.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS chat_rooms (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  max_participants INTEGER NOT NULL,
  is_private INTEGER NOT NULL,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chat_members (
  room_id TEXT NOT NULL REFERENCES chat_rooms(id),
  user_id TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chat_members_by_user ON chat_members (user_id);
CREATE TABLE IF NOT EXISTS chat_messages (
  room_id TEXT NOT NULL REFERENCES chat_rooms(id),
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  user_id TEXT,
  text TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;`;

type RoomRow = {
  id: string;
  name: string;
  max_participants: number;
  is_private: number;
  created_by: string | null;
  created_at: number;
  member_count: number;
};
type MessageRow = { room_id: string; seq: number; type: string; user_id: string | null; text: string; at: number };

const ROOM_COLUMNS = `r.*, (SELECT COUNT(*) FROM chat_members m WHERE m.room_id = r.id) AS member_count`;

const toRoom = (r: RoomRow): ChatRoom => ({
  id: r.id,
  name: r.name,
  maxParticipants: r.max_participants,
  isPrivate: r.is_private === 1,
  createdBy: r.created_by,
  createdAt: r.created_at,
  memberCount: r.member_count,
});

const toMessage = (m: MessageRow): ChatMessage => ({
  roomId: m.room_id,
  seq: m.seq,
  type: m.type as ChatMessage["type"],
  from: m.user_id,
  text: m.text,
  at: m.at,
});

/** The chat tables of one lobby instance, over its `ctx.storage.sql`. */
export class ChatStore {
  constructor(readonly sql: SqlStorage) {}

  /** Creates the tables if needed: run when the instance loads. */
  migrate(): void {
    this.sql.exec(SCHEMA);
  }

  create(room: Omit<ChatRoom, "memberCount">): ChatRoom {
    if (this.find(room.id)) throw new CellarError("CHAT_ROOM_EXISTS", `A chat room "${room.id}" already exists`);
    this.sql.exec(
      "INSERT INTO chat_rooms (id, name, max_participants, is_private, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      room.id,
      room.name,
      room.maxParticipants,
      room.isPrivate ? 1 : 0,
      room.createdBy,
      room.createdAt,
    );
    return { ...room, memberCount: 0 };
  }

  find(id: string): ChatRoom | undefined {
    const [row] = this.sql.exec<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM chat_rooms r WHERE r.id = ?`, id).toArray();
    return row && toRoom(row);
  }

  get(id: string): ChatRoom {
    const room = this.find(id);
    if (!room) throw new CellarError("CHAT_ROOM_NOT_FOUND", `No chat room "${id}"`);
    return room;
  }

  /** Public rooms, and the private ones `userId` is a member of. */
  visibleTo(userId: string | null): ChatRoom[] {
    return this.sql
      .exec<RoomRow>(
        `SELECT ${ROOM_COLUMNS} FROM chat_rooms r
         WHERE r.is_private = 0 OR EXISTS (SELECT 1 FROM chat_members m WHERE m.room_id = r.id AND m.user_id = ?)
         ORDER BY r.created_at, r.id`,
        userId,
      )
      .toArray()
      .map(toRoom);
  }

  /** The ids of the rooms `userId` is a member of. */
  roomsOf(userId: string): string[] {
    return this.sql.exec<{ room_id: string }>("SELECT room_id FROM chat_members WHERE user_id = ?", userId).toArray().map((r) => r.room_id);
  }

  members(roomId: string): string[] {
    return this.sql
      .exec<{ user_id: string }>("SELECT user_id FROM chat_members WHERE room_id = ? ORDER BY joined_at, user_id", roomId)
      .toArray()
      .map((r) => r.user_id);
  }

  isMember(roomId: string, userId: string): boolean {
    return this.sql.exec("SELECT 1 FROM chat_members WHERE room_id = ? AND user_id = ?", roomId, userId).toArray().length > 0;
  }

  addMember(roomId: string, userId: string, at: number): void {
    this.sql.exec("INSERT INTO chat_members (room_id, user_id, joined_at) VALUES (?, ?, ?)", roomId, userId, at);
  }

  removeMember(roomId: string, userId: string): void {
    this.sql.exec("DELETE FROM chat_members WHERE room_id = ? AND user_id = ?", roomId, userId);
  }

  /** Stores a message with the room's next number and drops the one that fell out of the cap. */
  append(roomId: string, message: Pick<ChatMessage, "type" | "from" | "text" | "at">): ChatMessage {
    const { last_seq: seq } = this.sql
      .exec<{ last_seq: number }>("UPDATE chat_rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", roomId)
      .one();
    this.sql.exec(
      "INSERT INTO chat_messages (room_id, seq, type, user_id, text, at) VALUES (?, ?, ?, ?, ?, ?)",
      roomId,
      seq,
      message.type,
      message.from,
      message.text,
      message.at,
    );
    this.sql.exec("DELETE FROM chat_messages WHERE room_id = ? AND seq <= ?", roomId, seq - HISTORY_CAP);
    return { roomId, seq, ...message };
  }

  /** The newest `limit` messages numbered below `before`, oldest first. */
  history(roomId: string, limit: number, before = Number.MAX_SAFE_INTEGER): ChatMessage[] {
    return this.sql
      .exec<MessageRow>("SELECT * FROM chat_messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", roomId, before, limit)
      .toArray()
      .reverse()
      .map(toMessage);
  }
}
