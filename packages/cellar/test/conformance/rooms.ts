/*
 * The rooms of the conformance suite. This file is bundled into a Worker for the workerd
 * host, so it imports nothing but `cellar`, and it keeps no module-level mutable state: a
 * room may run in another process or isolate than the test, which sees it only over the
 * wire. So handlers report what a test must check in their replies, hooks record their
 * calls in persisted state, and values that JSON cannot carry are described by
 * `describeValue` (the test runs the same function on the value it expects).
 */
import { CellarError, defineConnection, defineRoom, type KvPutOptions, type ListOptions, type RoomContext, type Schema, type SqlValue } from "cellar";

// Values JSON cannot carry

/**
 * A JSON description of any value, exact about what JSON would blur: types (Date, Map,
 * typed arrays…), NaN, -0, undefined, holes in arrays, key order, and identity (a value met
 * again, shared or cyclic, is a `ref` to the path where it was first met).
 */
export function describeValue(value: unknown, path = "$", seen = new Map<object, string>()): unknown {
  if (value === undefined) return { $: "undefined" };
  if (typeof value === "number") return Number.isNaN(value) || !Number.isFinite(value) || Object.is(value, -0) ? { $: "number", v: Object.is(value, -0) ? "-0" : String(value) } : value;
  if (typeof value === "bigint") return { $: "bigint", v: value.toString() };
  if (typeof value !== "object" || value === null) return value;
  const first = seen.get(value);
  if (first !== undefined) return { $: "ref", to: first };
  seen.set(value, path);
  const at = (key: string | number, v: unknown) => describeValue(v, `${path}.${key}`, seen);
  if (value instanceof Date) return { $: "Date", v: value.toISOString() };
  if (value instanceof RegExp) return { $: "RegExp", source: value.source, flags: value.flags };
  if (value instanceof Map) return { $: "Map", entries: [...value].map(([k, v], i) => [at(`k${i}`, k), at(`v${i}`, v)]) };
  if (value instanceof Set) return { $: "Set", values: [...value].map((v, i) => at(i, v)) };
  if (ArrayBuffer.isView(value)) return { $: value.constructor.name, values: [...(value as unknown as Iterable<number>)].map((v, i) => at(i, v)) };
  if (Array.isArray(value)) return { $: "Array", length: value.length, items: Object.keys(value).map((k) => [k, at(k, value[Number(k)])]) };
  return { $: "Object", props: Object.keys(value).map((k) => [k, at(k, (value as Record<string, unknown>)[k])]) };
}

/** One value of every kind persisted state and storage must keep, built fresh each call. */
export function everyKind() {
  const shared = { name: "shared" };
  const value: Record<string, unknown> = {
    date: new Date("2024-02-29T12:34:56.789Z"),
    map: new Map<unknown, unknown>([["a", shared], [1, [1, 2]]]),
    set: new Set<unknown>([shared, "x", 3, 4n]),
    regexp: /wine\s+(red|white)/giu,
    bigint: 123456789012345678901234567890n,
    undef: undefined,
    withUndefined: { present: undefined, other: 1 },
    nan: NaN,
    negZero: -0,
    inf: Infinity,
    negInf: -Infinity,
    bytes: new Uint8Array([0, 1, 254, 255]),
    floats: new Float64Array([1.5, -0, NaN]),
    ints: new Int32Array([-1, 2 ** 31 - 1]),
    sparse: [1, , 3],
    nested: [1, "two", null, [3, { four: [5] }]],
    text: "émoji 😀 and \u0000 nul",
    left: shared,
    right: shared,
  };
  value.self = value;
  return value;
}

/** What `get` of a missing key answers on the wire (JSON has no undefined). */
export const UNDEFINED = "(undefined)";

// Ordering

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Holds a handler until another instance opens the latch `name` (a KV key): rooms share no
 * memory with each other or with the test, but they share KV.
 */
async function latch(ctx: RoomContext<unknown>, name: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; (await ctx.kv("NS").get(`latch:${name}`)) === null; await sleep(5)) {
    if (Date.now() > deadline) throw new CellarError("LATCH_TIMEOUT", `latch ${name} never opened`);
  }
}

/** `step` appends to a list (holding at a latch if asked); the log shows when each step ran. */
export const seq = defineRoom({ name: "seq", state: { items: [] as string[], log: [] as string[] }, persistedKeys: ["items", "log"] });
seq.on("step", async (ctx, data) => {
  const { n, hold } = data as { n: string; hold?: string };
  ctx.state.log = [...ctx.state.log, `start ${n}`];
  if (hold) await latch(ctx, hold);
  await ctx.storage.put(`k${n}`, n);
  ctx.state.items = [...ctx.state.items, n];
  ctx.state.log = [...ctx.state.log, `end ${n}`];
  return ctx.state.items;
});
seq.on("open", (ctx, name) => ctx.kv("NS").put(`latch:${String(name)}`, "open"));
seq.on("log", (ctx) => ctx.state.log);

// The output gate

/** `write` changes state and storage, then broadcasts; `read` shows what was committed. */
export const gated = defineRoom({ name: "gated", state: { count: 0 }, persistedKeys: ["count"] });
gated.on("write", async (ctx, data) => {
  ctx.state.count++;
  await ctx.storage.put("note", "x".repeat((data as { bytes?: number } | undefined)?.bytes ?? 0));
  ctx.emit.broadcast("changed", { count: ctx.state.count });
  return ctx.state.count;
});
gated.on("read", async (ctx) => ({ count: ctx.state.count, note: ((await ctx.storage.get<string>("note")) ?? "").length }));

// Persisted state

/** Every kind of value in persisted state, and a scratch key that resets. */
export const vault = defineRoom({ name: "vault", state: { value: null as unknown, scratch: 0 }, persistedKeys: ["value"] });
vault.on("store", (ctx) => {
  ctx.state.value = everyKind();
  ctx.state.scratch = 42;
});
vault.on("check", (ctx) => ({ value: describeValue(ctx.state.value), scratch: ctx.state.scratch }));

/** Deep mode: nested mutation of objects, arrays, Maps and Sets is saved. */
export const deep = defineRoom({
  name: "deep",
  state: { doc: { title: "", tags: [] as string[], meta: { rev: 0 } }, list: [] as number[], byId: new Map<string, { n: number }>(), seen: new Set<string>() },
  persistedKeys: ["doc", "list", "byId", "seen"],
  persistOptions: { shallow: false },
});
deep.on("mutate", (ctx) => {
  ctx.state.doc.meta.rev++;
  ctx.state.doc.tags.push("red");
  ctx.state.list.push(3, 1, 2);
  ctx.state.list.splice(1, 1);
  ctx.state.byId.set("a", { n: 1 });
  ctx.state.byId.get("a")!.n = 2;
  ctx.state.seen.add("x");
  ctx.state.seen.add("y");
  ctx.state.seen.delete("x");
});
deep.on("read", (ctx) => ({ rev: ctx.state.doc.meta.rev, tags: ctx.state.doc.tags, list: ctx.state.list, a: ctx.state.byId.get("a")?.n, seen: [...ctx.state.seen] }));

/** Shallow mode (the default): only assignment is saved. */
export const shallow = defineRoom({ name: "shallow", state: { list: [] as number[] }, persistedKeys: ["list"] });
shallow.on("push", (ctx) => void ctx.state.list.push(1));
shallow.on("assign", (ctx) => void (ctx.state.list = [...ctx.state.list, 2]));
shallow.on("read", (ctx) => ctx.state.list);

/** `evil` stores a function: a PersistError, and nothing of the handler may remain. */
export const unstorable = defineRoom({ name: "unstorable", state: { ok: 0, fn: null as unknown }, persistedKeys: ["ok", "fn"] });
unstorable.on("good", (ctx) => ++ctx.state.ok);
unstorable.on("evil", (ctx) => {
  ctx.state.ok = 100;
  ctx.state.fn = { nested: { handler: () => 1 } };
  ctx.emit.broadcast("leak", {});
});
unstorable.on("read", (ctx) => ctx.state.ok);

// Storage, SQL and KV, driven by scripts of operations

/**
 * One call on `ctx.storage`, its SQL or KV namespace "NS", as a JSON array. Results come
 * back JSON-safe: a Map as its entries, a missing value as `UNDEFINED`.
 */
export type Op =
  | ["put", string, unknown]
  | ["put", Record<string, unknown>]
  | ["fill", string, number]
  | ["fillMany", Record<string, number>]
  | ["putMany", number, string?]
  | ["get", string | string[]]
  | ["delete", string | string[]]
  | ["list", ListOptions?]
  | ["keys", ListOptions?]
  | ["size", ListOptions?]
  | ["deleteAll"]
  | ["sql", string, ...SqlValue[]]
  | ["one", string, ...SqlValue[]]
  | ["note", string | number]
  | ["readNote"]
  | ["txn", Op[], ("throw" | "rollback")?]
  | ["try", Op]
  | ["throw", string]
  | ["kvPut", string, string | number[] | { buffer: number[] }, KvPutOptions?]
  | ["kvFill", string, number]
  | ["kvGet", string, ("text" | "json" | "arrayBuffer")?]
  | ["kvMeta", string, ("text" | "json")?]
  | ["kvDelete", string]
  | ["kvList", { prefix?: string; limit?: number; cursor?: string }?]
  | ["putKind", string]
  | ["putKinds"]
  | ["describe", string | string[]]
  | ["describeList", ListOptions?]
  | ["snapshot"]
  | ["bindAll"];

type Ctx = RoomContext<{ note: string }>;
type TxnLike = Pick<Ctx["storage"], "put" | "get" | "delete" | "list" | "transaction">;

// JSON turns an omitted trailing argument into null: `op[1] ?? undefined` gives it back.
const wire = (value: unknown): unknown => (value === undefined ? UNDEFINED : value instanceof Map ? [...value] : value);

async function runOp(ctx: Ctx, storage: TxnLike, op: Op): Promise<unknown> {
  const kv = ctx.kv("NS");
  const sql = ctx.storage.sql;
  switch (op[0]) {
    case "put":
      return op.length === 2 ? storage.put(op[1]) : storage.put(op[1], op[2]);
    case "fill":
      return storage.put(op[1], "x".repeat(op[2]));
    case "fillMany":
      return storage.put(Object.fromEntries(Object.entries(op[1]).map(([k, n]) => [k, "x".repeat(n)])));
    case "putMany":
      for (let from = 0; from < op[1]; from += 100) {
        const keys = Array.from({ length: Math.min(100, op[1] - from) }, (_, i) => `${op[2] ?? "k"}${String(from + i).padStart(4, "0")}`);
        await storage.put(Object.fromEntries(keys.map((k) => [k, 1])));
      }
      return null;
    case "get":
      return wire(await storage.get(op[1] as string));
    case "delete":
      return storage.delete(op[1] as string);
    case "list":
      return wire(await storage.list(op[1] ?? undefined));
    case "keys":
      return [...(await storage.list(op[1] ?? undefined)).keys()];
    case "size":
      return (await storage.list(op[1] ?? undefined)).size;
    case "deleteAll":
      return ctx.storage.deleteAll();
    case "sql": {
      const cursor = sql.exec(op[1], ...(op.slice(2) as SqlValue[]));
      const rows = cursor.toArray();
      return { rows, columns: cursor.columnNames, rowsRead: cursor.rowsRead, rowsWritten: cursor.rowsWritten };
    }
    case "one":
      return sql.exec(op[1], ...(op.slice(2) as SqlValue[])).one();
    case "note":
      ctx.state.note = typeof op[1] === "number" ? "x".repeat(op[1]) : op[1];
      return null;
    case "readNote":
      return ctx.state.note;
    case "txn":
      return storage.transaction(async (txn) => {
        const results = await runOps(ctx, txn, op[1]);
        if (op[2] === "throw") throw new CellarError("TXN_REFUSED", "the transaction threw");
        if (op[2] === "rollback") txn.rollback();
        return results;
      });
    case "try":
      try {
        return { ok: await runOp(ctx, storage, op[1]) };
      } catch (error) {
        return { error: (error as CellarError).code, message: (error as Error).message };
      }
    case "throw":
      throw new CellarError(op[1], "the script threw");
    case "kvPut": {
      // Bytes as a view into a larger buffer (number[]) or as a whole ArrayBuffer ({ buffer }).
      const value = op[2];
      let bytes: unknown = value;
      if (Array.isArray(value)) bytes = new Uint8Array([9, ...value, 6]).subarray(1, value.length + 1);
      else if (typeof value === "object" && Array.isArray(value.buffer)) bytes = new Uint8Array(value.buffer).buffer;
      return kv.put(op[1], bytes as string, op[3] ?? undefined);
    }
    case "kvFill":
      return kv.put(op[1], "x".repeat(op[2]));
    case "kvGet": {
      const value = await kv.get(op[1], (op[2] ?? "text") as "text");
      return (value as unknown) instanceof ArrayBuffer ? [...new Uint8Array(value as unknown as ArrayBuffer)] : value;
    }
    case "kvMeta":
      return kv.getWithMetadata(op[1], op[2] ?? undefined);
    case "kvDelete":
      return kv.delete(op[1]);
    case "kvList":
      return kv.list(op[1] ?? undefined);
    case "putKind":
      return storage.put(op[1], everyKind());
    case "putKinds": {
      // Each kind under its own key (put refuses an undefined value: that one stays out).
      const { undef: _, ...kinds } = everyKind();
      return storage.put(kinds);
    }
    case "describe": {
      if (typeof op[1] === "string") return describeValue(await storage.get(op[1]));
      const found = await storage.get(op[1]);
      return op[1].map((key) => describeValue(found.get(key)));
    }
    case "describeList":
      return describeValue(await storage.list(op[1] ?? undefined));
    case "snapshot": {
      const value = { list: [1] };
      await storage.put("v", value);
      value.list.push(2);
      (await storage.get<{ list: number[] }>("v"))!.list.push(3);
      return storage.get("v");
    }
    case "bindAll": {
      sql.exec("CREATE TABLE v (s TEXT, i INTEGER, r REAL, b INTEGER, n TEXT, blob BLOB, buf BLOB)");
      const bytes = new Uint8Array([0, 1, 255]);
      sql.exec("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)", "é😀", 42, 1.5, 2n ** 40n, null, bytes, bytes.buffer);
      const row = sql.exec("SELECT * FROM v").one();
      return { ...row, blob: [...(row.blob as Uint8Array)], buf: [...(row.buf as Uint8Array)] };
    }
  }
}

async function runOps(ctx: Ctx, storage: TxnLike, ops: Op[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const op of ops) results.push(await runOp(ctx, storage, op));
  return results;
}

/** `run` executes a script of `Op`s in one handler and answers with each op's result. */
export const box = defineRoom({ name: "box", state: { note: "" }, persistedKeys: ["note"] });
box.on("run", (ctx, ops) => runOps(ctx, ctx.storage, ops as Op[]));
box.on("put-undefined", async (ctx, batch) => (batch ? ctx.storage.put({ ok: 1, bad: undefined }) : ctx.storage.put("k", undefined)));
box.on("put-function", async (ctx) => ctx.storage.put("handler", { fn: () => 1 }));
box.on("put-symbol", async (ctx) => ctx.storage.put("symbol", Symbol("s")));
box.on("sql-cursor", (ctx) => {
  const raw = [...ctx.storage.sql.exec("SELECT id, name FROM t ORDER BY id").raw()];
  const cursor = ctx.storage.sql.exec("SELECT id FROM t ORDER BY id");
  const first = cursor.next().value;
  const rest: unknown[] = [];
  for (const row of cursor) rest.push(row);
  return { raw, first, rest, after: cursor.toArray() };
});
box.on("sql-escape", (ctx) => {
  ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('should vanish')");
  try {
    ctx.storage.sql.exec("SELECT 1; COMMIT");
  } catch {
    // refused, as it should be
  }
  throw new CellarError("REFUSED", "handler fails");
});

// Hibernation

/**
 * What a Node-only test may watch from inside a `lobby` instance (it runs in the test's
 * process there): each hook as it runs, and the state each `setup` saw.
 */
export interface LobbyProbe {
  hook?(name: "create" | "restore"): void;
  setup?(state: object): void;
}

/**
 * Room state, per-user state, meta and channels; hooks record themselves in `hooks`. The
 * suite's `lobby` has no probe; a Node-only test defines its own with one.
 */
export function defineLobby(probe: LobbyProbe = {}) {
  const room = defineRoom({
    name: "lobby",
    state: { topic: "", seen: 0, hooks: [] as string[] },
    persistedKeys: ["topic", "hooks"],
    connection: defineConnection({ state: { nick: "", typing: false }, persistedKeys: ["nick"] }),
    // A `bio` param makes the meta larger than a Cloudflare socket attachment (2,048 bytes).
    authenticate: (_request, ctx) => ({ userId: String(ctx.params.user), role: "guest", ...(typeof ctx.params.bio === "string" ? { bio: ctx.params.bio } : {}) }),
    onCreate(ctx) {
      ctx.state.hooks = [...ctx.state.hooks, "create"];
      probe.hook?.("create");
    },
    onHibernationRestore(ctx) {
      ctx.state.hooks = [...ctx.state.hooks, "restore"];
      probe.hook?.("restore");
    },
  });
  room.on("setup", (ctx, data) => {
    const { topic, nick } = data as { topic: string; nick: string };
    ctx.state.topic = topic;
    ctx.state.seen++;
    ctx.connection.state.nick = nick;
    ctx.connection.state.typing = true;
    ctx.connection.join("regulars");
    probe.setup?.(ctx.state);
  });
  room.on("look", (ctx) => ({
    topic: ctx.state.topic,
    seen: ctx.state.seen,
    nick: ctx.connection.state.nick,
    typing: ctx.connection.state.typing,
    meta: ctx.connection.meta,
    channels: [...ctx.connection.channels],
  }));
  room.on("hooks", (ctx) => ctx.state.hooks);
  room.on("shout", (ctx, data) => void ctx.emit.to("regulars").emit("shouted", data));
  return room;
}

export const lobby = defineLobby();

// Alarms

/** What `onAlarm` records of each run, and broadcasts as `fired`. */
export interface Fired {
  id: string;
  name: string;
  payload: unknown;
  scheduledAt: number;
  firedAt: number;
  /** How many times the instance had been loaded (onCreate) when it fired. */
  loads: number;
}

/**
 * Alarms: `onAlarm` records each run in `fired` and broadcasts it. An alarm named "flaky"
 * throws until `failUntil` (a time) has passed, so the first runs fail and a retry succeeds.
 */
export const timer = defineRoom({
  name: "timer",
  state: { fired: [] as Fired[], failUntil: 0, hooks: [] as string[] },
  persistedKeys: ["fired", "failUntil", "hooks"],
  onCreate: (ctx) => void (ctx.state.hooks = [...ctx.state.hooks, "create"]),
  onAlarm(ctx, alarm) {
    if (alarm.name === "flaky" && Date.now() < ctx.state.failUntil) throw new Error("not yet");
    const fired = { id: alarm.id, name: alarm.name, payload: alarm.payload, scheduledAt: alarm.scheduledAt.getTime(), firedAt: Date.now(), loads: ctx.state.hooks.length };
    ctx.state.fired = [...ctx.state.fired, fired];
    ctx.emit.broadcast("fired", fired);
  },
});
timer.on("after", (ctx, data) => {
  const { ms, name, payload } = data as { ms: number; name: string; payload?: unknown };
  return ctx.schedule.after(ms, name, payload);
});
timer.on("at", (ctx, data) => {
  const { time, name = "at" } = data as { time: number | string; name?: string };
  return ctx.schedule.at(new Date(time), name);
});
timer.on("at-many", async (ctx, alarms) => {
  for (const { time, name } of alarms as Array<{ time: number; name: string }>) await ctx.schedule.at(new Date(time), name);
});
timer.on("after-map", (ctx) => ctx.schedule.after(30_000, "soon", new Map([["k", 1]])));
timer.on("cancel", (ctx, id) => ctx.schedule.cancel(id as string));
timer.on("list", async (ctx) => (await ctx.schedule.list()).map((a) => ({ id: a.id, name: a.name, payload: describeValue(a.payload), scheduledAt: a.scheduledAt.getTime() })));
timer.on("arm-then-fail", async (ctx) => {
  await ctx.schedule.after(10, "never");
  throw new CellarError("CHANGED_MY_MIND", "no");
});
timer.on("arm-flaky", async (ctx, ms) => {
  ctx.state.failUntil = Date.now() + Number(ms);
  return ctx.schedule.after(0, "flaky");
});
timer.on("fired", (ctx) => ctx.state.fired);
timer.on("hooks", (ctx) => ctx.state.hooks);

// Resume

/**
 * A feed: `say` broadcasts a numbered line to everyone (or to a channel), `whisper` to one
 * connection, `tick` a volatile frame, `join` puts the sender in a channel; `connects` lists
 * what onConnect was told (resumed or not), `disconnects` the close code onDisconnect saw
 * for each socket.
 */
export const feed = defineRoom({
  name: "feed",
  state: { next: 1, connects: [] as Array<{ id: string; resumed: boolean }>, disconnects: [] as Array<{ id: string; code: number }> },
  persistedKeys: ["next", "connects", "disconnects"],
  onConnect(ctx) {
    ctx.state.connects = [...ctx.state.connects, { id: ctx.connection.id, resumed: ctx.resumed }];
    const channel = ctx.params.channel;
    if (typeof channel === "string") ctx.connection.join(channel);
  },
  onDisconnect(ctx) {
    ctx.state.disconnects = [...ctx.state.disconnects, { id: ctx.connection.id, code: ctx.code }];
  },
});
feed.on("say", (ctx, data) => {
  const n = ctx.state.next++;
  const channel = (data as { channel?: string } | undefined)?.channel;
  if (channel) ctx.emit.to(channel).emit("line", { n });
  else ctx.emit.broadcast("line", { n });
  return n;
});
feed.on("whisper", (ctx, data) => {
  const n = ctx.state.next++;
  ctx.emit.toConnection((data as { to: string }).to).emit("line", { n, whisper: true });
  return n;
});
feed.on("tick", (ctx) => ctx.emit.broadcast("tick", {}, { volatile: true }));
feed.on("join", (ctx, channel) => void ctx.connection.join(String(channel)));
feed.on("connects", (ctx) => ctx.state.connects);
feed.on("disconnects", (ctx) => ctx.state.disconnects);

/** Per-user state that survives reconnects; `tell` reaches every connection of a user. */
export const profile = defineRoom({
  name: "profile",
  state: {},
  authenticate: (_request, ctx) => ({ userId: String(ctx.params.user) }),
  connection: defineConnection({ state: { visits: 0 }, persistedKeys: ["visits"] }),
});
profile.on("visit", (ctx) => ++ctx.connection.state.visits);
profile.on("tell", (ctx, to) => ctx.emit.toUser(String(to)).emit("note", { from: ctx.connection.userId }));

/** Anonymous per-connection state: kept for the session, across resumes. */
export const scratch = defineRoom({ name: "scratch", state: {}, connection: defineConnection({ state: { n: 0 }, persistedKeys: ["n"] }) });
scratch.on("bump", (ctx) => ++ctx.connection.state.n);

// Emit targets

export const hall = defineRoom({ name: "hall", state: {}, authenticate: (_request, ctx) => ({ userId: String(ctx.params.user) }) });
hall.on("join", (ctx, channel) => void ctx.connection.join(String(channel)));
hall.on("leave", (ctx, channel) => void ctx.connection.leave(String(channel)));
hall.on("whoami", (ctx) => ctx.connection.id);
hall.on("send", (ctx, data) => {
  const { how, to, except } = data as { how: string; to?: string; except?: string };
  const message = { how };
  if (how === "reply") ctx.emit.reply("msg", message);
  if (how === "channel") ctx.emit.to(to!).emit("msg", message);
  if (how === "connection") ctx.emit.toConnection(to!).emit("msg", message);
  if (how === "user") ctx.emit.toUser(to!).emit("msg", message);
  if (how === "broadcast") ctx.emit.broadcast("msg", message, except ? { except } : undefined);
  if (how === "volatile") ctx.emit.broadcast("msg", message, { volatile: true });
  if (how === "bigint") ctx.emit.reply("msg", { n: 1n });
});
hall.on("kick", (ctx) => {
  ctx.emit.reply("msg", { how: "bye" });
  ctx.connection.close(4000, "kicked");
});
hall.on("*", (ctx, data) => ({ caught: ctx.event, data }));

// Bad input

/** A counter whose count must not move under attack; `crash` throws an internal error. */
export const counter = defineRoom({ name: "counter", state: { count: 0, visits: 0 }, persistedKeys: ["count"] });
counter.on("inc", (ctx, data) => {
  ctx.state.count += (data as { amount?: number } | undefined)?.amount ?? 1;
  ctx.emit.broadcast("count", { count: ctx.state.count });
  return ctx.state.count;
});
counter.on("get", (ctx) => ({ count: ctx.state.count, visits: ctx.state.visits }));
counter.on("visit", (ctx) => ++ctx.state.visits);
counter.on("fail", () => {
  throw new CellarError("NOPE", "refused on purpose");
});
counter.on("crash", () => {
  throw new Error("secret internal detail");
});

/** A room that lets in `params.token === "good"` only, and counts connections and bumps. */
export const guarded = defineRoom({
  name: "guarded",
  state: { connects: 0, bumps: 0 },
  persistedKeys: ["connects", "bumps"],
  authenticate(_request, ctx) {
    switch (ctx.params.token) {
      case "good":
        return { userId: "alice" };
      case "banned":
        throw new CellarError("FORBIDDEN", "This account is banned");
      case "boom":
        throw new Error("db password hunter2 rejected at 10.0.0.7");
      case "uninvited":
        throw new CellarError("NOT_INVITED", "Ask the host for an invitation");
      default:
        throw new CellarError("UNAUTHORIZED", "Missing or wrong token");
    }
  },
  onConnect(ctx) {
    ctx.state.connects++;
  },
});
guarded.on("connects", (ctx) => ctx.state.connects);
guarded.on("bump", (ctx) => ++ctx.state.bumps);
guarded.on("bumps", (ctx) => ctx.state.bumps);

/** A Standard Schema written by hand: `{ name: 1–20 characters, age: integer 0–150 }`. */
const profileSchema: Schema<{ name: string; age: number }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate(value) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return { issues: [{ message: "Expected an object" }] };
      const { name, age } = value as Record<string, unknown>;
      const issues: Array<{ message: string; path: string[] }> = [];
      if (typeof name !== "string" || name.length < 1 || name.length > 20) issues.push({ message: "Expected 1 to 20 characters", path: ["name"] });
      if (typeof age !== "number" || !Number.isInteger(age) || age < 0 || age > 150) issues.push({ message: "Expected an integer from 0 to 150", path: ["age"] });
      return issues.length > 0 ? { issues } : { value: { name: name as string, age: age as number } };
    },
  },
};

/** Payloads, by name, that fail `profileSchema` (and any schema with its rules). */
export const invalidProfiles: Array<[string, unknown]> = [
  ["a missing field", { name: "bob" }],
  ["a field of the wrong type", { name: 5, age: 30 }],
  ["a string that is too long", { name: "b".repeat(21), age: 30 }],
  ["a number out of range", { name: "bob", age: -1 }],
  ["a fraction where an integer is due", { name: "bob", age: 1.5 }],
  ["null", null],
  ["no data at all", undefined],
  ["an array", [{ name: "bob", age: 30 }]],
  ["a string", "bob"],
];

/** `profile:set` validates its payload; `runs` counts the times the handler really ran. */
export const validated = defineRoom({ name: "validated", state: { name: "anon", age: 0, runs: 0 }, persistedKeys: ["name", "age", "runs"] });
validated.on("profile:set", { schema: profileSchema }, (ctx, data) => {
  ctx.state.runs++;
  ctx.state.name = data.name;
  ctx.state.age = data.age;
  return { name: ctx.state.name, age: ctx.state.age };
});
validated.on("profile:get", (ctx) => ({ name: ctx.state.name, age: ctx.state.age, runs: ctx.state.runs }));

/**
 * The classic vulnerable deep merge many apps write: a `__proto__` or `constructor` key
 * reaching it would write into `Object.prototype`. Cellar must refuse such frames first.
 */
function naiveMerge(target: any, source: any): any {
  for (const key in source) {
    const value = source[key];
    if (typeof value === "object" && value !== null) naiveMerge((target[key] ??= {}), value);
    else target[key] = value;
  }
  return target;
}

/** `settings:get` also says whether `Object.prototype` was polluted where the room runs. */
export const settings = defineRoom({ name: "settings", state: { settings: { theme: "light" } as Record<string, unknown>, runs: 0 }, persistedKeys: ["settings", "runs"] });
settings.on("settings:merge", (ctx, data) => {
  ctx.state.runs++;
  ctx.state.settings = naiveMerge({ ...ctx.state.settings }, data);
  return ctx.state.settings;
});
settings.on("settings:get", (ctx) => ({ settings: ctx.state.settings, runs: ctx.state.runs, polluted: Object.keys(Object.prototype) }));

// Paths

/** Served at its own `websocketPath` as well as at /rooms/notes/<id>; `add` writes SQL too. */
export const notes = defineRoom({ name: "notes", state: { count: 0 }, persistedKeys: ["count"], websocketPath: "/notes/:id" });
notes.on("add", (ctx, text) => {
  ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS note (text TEXT)");
  ctx.storage.sql.exec("INSERT INTO note (text) VALUES (?)", String(text));
  return ++ctx.state.count;
});
notes.on("read", (ctx) => ({
  count: ctx.state.count,
  rows: ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM note").one().n,
}));

/** One instance per user at /me?user=<name>, picked by its `route`; without a user the upgrade is refused. */
export const mine = defineRoom({
  name: "mine",
  state: { count: 0 },
  persistedKeys: ["count"],
  websocketPath: "/me",
  route(request) {
    const user = new URL(request.url).searchParams.get("user");
    if (user === null) throw new CellarError("UNAUTHORIZED", "Say who you are");
    if (user === "crash") throw new Error("route bug");
    return user;
  },
});
mine.on("inc", (ctx) => ++ctx.state.count);
mine.on("whoami", (ctx) => ctx.room.id);

// Actions: app code's way into a room (host.call).

/** A ledger that only server-side actions change; clients can read it and hear of changes. */
export const ledger = defineRoom({ name: "ledger", state: { total: 0, entries: [] as string[] }, persistedKeys: ["total", "entries"] });
ledger.on("read", (ctx) => ({ total: ctx.state.total, entries: ctx.state.entries }));
ledger.action("add", (ctx, { amount, note }: { amount: number; note: string }) => {
  ctx.state.total += amount;
  ctx.state.entries = [...ctx.state.entries, note];
  ctx.emit.broadcast("added", { total: ctx.state.total });
  return { total: ctx.state.total, room: ctx.room.id };
});
ledger.action("refuse", async (ctx, { amount }: { amount: number }) => {
  ctx.state.total += amount;
  await ctx.storage.put("tried", amount);
  throw new CellarError("OVERDRAWN", "Not enough in the ledger");
});
ledger.action("crash", () => {
  throw new Error("internal detail that must not leave the room");
});

export const rooms = [seq, gated, vault, deep, shallow, unstorable, box, lobby, timer, feed, profile, scratch, hall, counter, guarded, validated, settings, notes, mine, ledger];
