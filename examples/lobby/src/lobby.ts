import { CellarError, defineRoom, type RoomContext } from "cellar";
import { z } from "zod";
import { ChatStore, HISTORY_CAP, type ChatRoom } from "./chat-store.js";
import { authenticateByName, roomId, userOf } from "./identity.js";

/** The input of `chat:create` and of `POST /api/chat-rooms`. */
export const createChatRoomInput = z.object({
  id: roomId,
  name: z.string().trim().min(1).max(64),
  maxParticipants: z.number().int().min(1).max(1_000).default(50),
  isPrivate: z.boolean().default(false),
});
export type CreateChatRoomInput = z.output<typeof createChatRoomInput>;

const inRoom = z.object({ roomId });
const send = z.object({ roomId, text: z.string().trim().min(1).max(2_000) });
const history = z.object({
  roomId,
  limit: z.number().int().min(1).max(HISTORY_CAP).default(50),
  /** Only messages numbered below this one: to page back through the history. */
  before: z.number().int().min(1).optional(),
});

/** Members of a chat room get its messages through this channel. */
const channelOf = (id: string) => `chat:${id}`;

/**
 * Creates a chat room; shared by the `chat:create` event and the HTTP endpoint, which runs it
 * inside the lobby as the `create-room` action. Everyone in the lobby hears of a public room.
 */
export function createChatRoom(ctx: RoomContext<unknown>, input: CreateChatRoomInput, createdBy: string | null): ChatRoom {
  const room = new ChatStore(ctx.storage.sql).create({ ...input, createdBy, createdAt: Date.now() });
  if (!room.isPrivate) ctx.emit.broadcast("chat:room-created", room);
  return room;
}

/**
 * The lobby: one instance manages many chat rooms. Rooms, members and history are rows of
 * the instance's SQL tables (see chat-store.ts), so they survive hibernation and restarts.
 * Membership belongs to the user (the `name` they connect with); each connection of a member
 * joins the room's channel, and a fresh session joins again in `onConnect`.
 */
export const lobby = defineRoom({
  name: "lobby",
  state: {},
  authenticate: (_request, ctx) => authenticateByName(ctx.params),
  onCreate(ctx) {
    new ChatStore(ctx.storage.sql).migrate();
  },
  onConnect(ctx) {
    // A resumed session kept its channels; a new one (another tab, a later visit) gets them here.
    if (ctx.resumed) return;
    for (const id of new ChatStore(ctx.storage.sql).roomsOf(userOf(ctx.connection))) ctx.connection.join(channelOf(id));
  },
});

lobby.on("chat:create", { schema: createChatRoomInput }, (ctx, input) => createChatRoom(ctx, input, userOf(ctx.connection)));

lobby.on("chat:list", (ctx) => ({ rooms: new ChatStore(ctx.storage.sql).visibleTo(userOf(ctx.connection)) }));

lobby.on("chat:join", { schema: inRoom }, (ctx, { roomId }) => {
  const store = new ChatStore(ctx.storage.sql);
  const user = userOf(ctx.connection);
  const room = store.get(roomId);
  const already = store.isMember(roomId, user);
  if (!already && room.memberCount >= room.maxParticipants) {
    throw new CellarError("CHAT_ROOM_FULL", `"${room.name}" is full (${room.maxParticipants} participants)`);
  }
  ctx.connection.join(channelOf(roomId));
  if (!already) {
    store.addMember(roomId, user, Date.now());
    const joined = store.append(roomId, { type: "system", from: null, text: `${user} joined`, at: Date.now() });
    ctx.emit.to(channelOf(roomId)).emit("chat:message", joined);
  }
  return { room: store.get(roomId), members: store.members(roomId) };
});

lobby.on("chat:leave", { schema: inRoom }, (ctx, { roomId }) => {
  const store = new ChatStore(ctx.storage.sql);
  const user = requireMember(store, roomId, userOf(ctx.connection));
  store.removeMember(roomId, user);
  ctx.connection.leave(channelOf(roomId));
  const left = store.append(roomId, { type: "system", from: null, text: `${user} left`, at: Date.now() });
  ctx.emit.to(channelOf(roomId)).emit("chat:message", left);
  return { room: store.get(roomId) };
});

lobby.on("chat:send", { schema: send }, (ctx, { roomId, text }) => {
  const store = new ChatStore(ctx.storage.sql);
  const from = requireMember(store, roomId, userOf(ctx.connection));
  const message = store.append(roomId, { type: "message", from, text, at: Date.now() });
  ctx.emit.to(channelOf(roomId)).emit("chat:message", message);
  return message;
});

lobby.on("chat:history", { schema: history }, (ctx, { roomId, limit, before }) => {
  const store = new ChatStore(ctx.storage.sql);
  if (store.get(roomId).isPrivate) requireMember(store, roomId, userOf(ctx.connection));
  return { roomId, messages: store.history(roomId, limit, before) };
});

// Volatile: a pong is only worth something now, so it skips the replay log.
lobby.on("ping", (ctx) => {
  const pong = { at: Date.now() };
  ctx.emit.reply("pong", pong, { volatile: true });
  return pong;
});

function requireMember(store: ChatStore, roomId: string, user: string): string {
  store.get(roomId);
  if (!store.isMember(roomId, user)) throw new CellarError("NOT_A_MEMBER", `Join "${roomId}" first`);
  return user;
}

/*
 * Actions: what the HTTP API (src/app.ts) runs inside the lobby with
 * `call("lobby", id, action, args)` on either host, queued with the lobby's events and under
 * the same output gate. Clients cannot reach them.
 */
lobby.action("list-public-rooms", (ctx) => ({ rooms: new ChatStore(ctx.storage.sql).visibleTo(null) }));
lobby.action("create-room", (ctx, input: CreateChatRoomInput) => createChatRoom(ctx, input, null));
