import { defineRoom } from "cellar";

/** The room kinds the benchmark's Cellar server serves, one per scenario. */

/**
 * P1: every message is broadcast to every member, sender included: `chat:send` as a logged
 * frame (numbered, in the replay log), `chat:volatile` as a volatile one (no replay).
 */
export const chat = defineRoom({ name: "chat", state: {} })
  .on("chat:send", (ctx, data) => {
    ctx.emit.broadcast("chat:message", data);
  })
  .on("chat:volatile", (ctx, data) => {
    ctx.emit.broadcast("chat:message", data, { volatile: true });
  });

/** P2: `increment` writes a persisted key (acked after commit); `echo` writes nothing. */
export const counter = defineRoom({ name: "counter", state: { count: 0 }, persistedKeys: ["count"] })
  .on("increment", (ctx) => ++ctx.state.count)
  .on("echo", (_ctx, data) => data);

/** P3: 100 persisted keys of ~1 KB. */
export const VAULT_KEYS = Array.from({ length: 100 }, (_, i) => `k${i}`);
export const VAULT_VALUE_BYTES = 1024;

export const vault = defineRoom({
  name: "vault",
  // `awake` is not persisted: it is back to "" in an instance loaded from storage.
  state: (): Record<string, string> => ({ ...Object.fromEntries(VAULT_KEYS.map((key) => [key, ""])), awake: "" }),
  persistedKeys: VAULT_KEYS,
})
  .on("fill", (ctx) => {
    for (const [i, key] of VAULT_KEYS.entries()) ctx.state[key] = filler(i);
    return VAULT_KEYS.length;
  })
  // A typical small request: reads one key of the woken state and answers.
  .on("get", (ctx) => ctx.state.k0!.length)
  // Untimed, for the workerd host, where nothing outside says whether an object was evicted:
  // false when this instance was loaded since the previous probe (the room had hibernated).
  .on("probe", (ctx) => {
    const awake = ctx.state.awake === "1";
    ctx.state.awake = "1";
    return awake;
  });

function filler(seed: number): string {
  let text = "";
  for (let i = 0; text.length < VAULT_VALUE_BYTES; i++) text += ((seed * 7919 + i * 104729) % 1e9).toString(36);
  return text.slice(0, VAULT_VALUE_BYTES);
}

/** P4: a small room with persisted state, written by `server.invoke`. */
export const memo = defineRoom({ name: "memo", state: { n: 0, note: "" }, persistedKeys: ["n", "note"] });

/** P4: a room that only holds idle connections. */
export const lobby = defineRoom({ name: "lobby", state: {} });

export const rooms = [chat, counter, vault, memo, lobby];

/**
 * P5: `say` broadcasts the room's next numbered line. The broadcast is logged (not
 * volatile), so a resumed client gets the lines it missed, and the number is persisted in
 * the same commit, so `count` (which writes nothing) tells how many lines the room
 * committed, also after a crash; `countAtLoad`, how many it had when this process loaded
 * it. Served by `resume-server.ts` only, not part of `rooms`.
 */
export const feed = defineRoom({
  name: "feed",
  state: { last: 0, atLoad: 0 },
  persistedKeys: ["last"],
  onCreate(ctx) {
    ctx.state.atLoad = ctx.state.last;
  },
})
  .on("say", (ctx) => {
    const n = ++ctx.state.last;
    ctx.emit.broadcast("line", { n });
    return n;
  })
  .on("count", (ctx) => ctx.state.last)
  .on("countAtLoad", (ctx) => ctx.state.atLoad);
