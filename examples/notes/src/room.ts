import { CellarError, defineRoom, type ConnectionContext } from "cellar";
import { balanceOf, deposit, transfer } from "./bank.js";
import { appendMessage, recentMessages } from "./history.js";
import { deleteNote, listNotes, saveNote } from "./note-store.js";
import * as schemas from "./schemas.js";
import { profileOf, themeOf, userState, type UserState } from "./user-state.js";

type Ctx = ConnectionContext<object, UserState>;

/** `authenticate` refuses connections without a valid user, so every connection has one. */
const userOf = (ctx: Ctx) => ctx.connection.userId!;

/**
 * Marks the user online: their connection just spoke. Needed besides `onConnect` because
 * `online` is not persisted, so it restarts `false` when a hibernated room is reloaded.
 */
function active(ctx: Ctx): UserState {
  ctx.connection.state.online = true;
  return ctx.connection.state;
}

/**
 * A notebook shared by its users: a chat whose history is kept in SQL, private notes in
 * key-value storage, balances moved by transactions, and per-user state (message count,
 * last visit, theme) that follows the user across connections. Who you are is the `user`
 * param you connect with (a demo: there is no password).
 */
export const notes = defineRoom({
  name: "notes",
  state: {},
  connection: userState,
  authenticate(_request, ctx) {
    const user = ctx.params.user;
    if (typeof user !== "string" || !schemas.USER_ID.test(user)) {
      throw new CellarError("UNAUTHORIZED", "Connect with params.user: 1-40 letters, digits, '-' or '_'");
    }
    return { userId: user };
  },
  onConnect(ctx) {
    const state = ctx.connection.state;
    // The profile as the room knew it before this connection: `lastSeen` is the previous
    // visit, `online` says whether another connection of the user was already open. Sent on
    // resumes too: a reloaded page resumes its session but has lost what it displayed.
    ctx.emit.reply("profile", profileOf(userOf(ctx), state));
    ctx.emit.reply("history", { messages: recentMessages(ctx.storage.sql) });
    state.online = true;
    state.lastSeen = Date.now();
  },
  onDisconnect(ctx) {
    const userId = userOf(ctx);
    const state = ctx.connection.state;
    state.lastSeen = Date.now();
    state.online = ctx.room.connections().some((c) => c.userId === userId && c.id !== ctx.connection.id);
  },
});

notes.on("getProfile", (ctx) => profileOf(userOf(ctx), active(ctx)));

notes.on("message", { schema: schemas.messageSchema }, (ctx, { text }) => {
  const state = active(ctx);
  const now = Date.now();
  state.messageCount += 1;
  state.lastSeen = now;
  const message = appendMessage(ctx.storage.sql, userOf(ctx), text, now);
  ctx.emit.broadcast("message", message);
  return { id: message.id, messageCount: state.messageCount };
});

notes.on("saveNote", { schema: schemas.saveNoteSchema }, (ctx, { id, text }) => {
  active(ctx);
  return saveNote(ctx.storage, userOf(ctx), id, text, Date.now());
});

notes.on("getNotes", { schema: schemas.getNotesSchema }, (ctx, { after, limit }) => {
  active(ctx);
  return listNotes(ctx.storage, userOf(ctx), limit, after);
});

notes.on("deleteNote", { schema: schemas.deleteNoteSchema }, async (ctx, { id }) => {
  active(ctx);
  return { id, deleted: await deleteNote(ctx.storage, userOf(ctx), id) };
});

notes.on("getBalance", async (ctx) => {
  active(ctx);
  return { balance: await balanceOf(ctx.storage, userOf(ctx)) };
});

notes.on("deposit", { schema: schemas.depositSchema }, async (ctx, { amount }) => {
  active(ctx);
  return { balance: await deposit(ctx.storage, userOf(ctx), amount) };
});

notes.on("transfer", { schema: schemas.transferSchema }, async (ctx, { amount, recipient }) => {
  active(ctx);
  const from = userOf(ctx);
  if (recipient === from) throw new CellarError("INVALID_RECIPIENT", "You cannot transfer to yourself");
  const balances = await transfer(ctx.storage, from, recipient, amount);
  ctx.emit.toUser(recipient).emit("transfer:received", { from, amount, balance: balances.to });
  return { balance: balances.from };
});

notes.on("setTheme", { schema: schemas.setThemeSchema }, (ctx, patch) => {
  // In-place changes of a nested object: saved because the connection state is deeply tracked.
  const { theme } = active(ctx);
  if (patch.mode) theme.mode = patch.mode;
  if (patch.accent) theme.accent = patch.accent;
  if (patch.font) theme.font.size = patch.font.size;
  // Every tab of this user restyles itself.
  ctx.emit.toUser(userOf(ctx)).emit("theme", themeOf(theme));
  return themeOf(theme);
});
