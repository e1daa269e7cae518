import Database from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CellarError, defineRoom, type PersistError } from "cellar";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";

let servers: TestServer[] = [];
afterEach(async () => {
  for (const t of servers) await t.close();
  servers = [];
});

async function start(rooms: Parameters<typeof startTestServer>[0]["rooms"], dataDir: string) {
  const t = await startTestServer({ rooms, dataDir });
  servers.push(t);
  return t;
}

/** Restarts: closes the server and starts a new one on the same data directory. */
async function restart(t: TestServer, rooms: Parameters<typeof startTestServer>[0]["rooms"]) {
  await t.close({ keepData: true });
  servers = servers.filter((s) => s !== t);
  return start(rooms, t.dataDir);
}

function everyType() {
  const shared = { name: "shared" };
  const value: Record<string, unknown> = {
    date: new Date("2024-02-29T12:34:56.789Z"),
    map: new Map<unknown, unknown>([["a", shared], [1, [1, 2]]]),
    set: new Set<unknown>([shared, "x", 3]),
    regexp: /wine\s+(red|white)/giu,
    bigint: 123456789012345678901234567890n,
    undef: undefined,
    nan: NaN,
    negZero: -0,
    inf: Infinity,
    negInf: -Infinity,
    bytes: new Uint8Array([0, 1, 254, 255]),
    floats: new Float64Array([1.5, -2.25]),
    sparse: [1, , 3],
    left: shared,
    right: shared,
  };
  value.self = value;
  return value;
}

function expectEveryType(v: any) {
  expect(v.date).toBeInstanceOf(Date);
  expect(v.date.toISOString()).toBe("2024-02-29T12:34:56.789Z");
  expect(v.map).toBeInstanceOf(Map);
  expect(v.map.get(1)).toEqual([1, 2]);
  expect(v.set).toBeInstanceOf(Set);
  expect(v.regexp.source).toBe("wine\\s+(red|white)");
  expect(v.regexp.flags).toBe("giu");
  expect(v.bigint).toBe(123456789012345678901234567890n);
  expect("undef" in v && v.undef === undefined).toBe(true);
  expect(Number.isNaN(v.nan)).toBe(true);
  expect(Object.is(v.negZero, -0)).toBe(true);
  expect(v.inf).toBe(Infinity);
  expect(v.negInf).toBe(-Infinity);
  expect(v.bytes).toBeInstanceOf(Uint8Array);
  expect([...v.bytes]).toEqual([0, 1, 254, 255]);
  expect(v.floats).toBeInstanceOf(Float64Array);
  expect([...v.floats]).toEqual([1.5, -2.25]);
  expect(1 in v.sparse).toBe(false);
  expect(v.sparse.length).toBe(3);
  // Shared references and cycles come back as shared references and cycles.
  expect(v.left).toBe(v.right);
  expect(v.map.get("a")).toBe(v.left);
  expect(v.set.has(v.left)).toBe(true);
  expect(v.self).toBe(v);
}

describe("persisted state round-trips exactly", () => {
  const vault = defineRoom({ name: "vault", state: { value: null as unknown, scratch: 0 }, persistedKeys: ["value"] });
  vault.on("store", (ctx) => {
    ctx.state.value = everyType();
    ctx.state.scratch = 42;
  });
  vault.on("check", (ctx) => {
    expectEveryType(ctx.state.value);
    return ctx.state.scratch;
  });

  it("after a restart, and after hibernation; non-persisted keys reset", async () => {
    let t = await start([vault], tempDataDir());
    const c = await t.connect("vault", "v1");
    await c.request("store");
    expect(await c.request("check")).toBe(42);

    expect(t.server.hibernate("vault", "v1")).toBe(1);
    expect(await c.request("check")).toBe(0);

    t = await restart(t, [vault]);
    const again = await t.connect("vault", "v1");
    expect(await again.request("check")).toBe(0);
  });
});

describe("deep mode (shallow: false) saves nested mutation", () => {
  const deep = defineRoom({
    name: "deep",
    state: {
      doc: { title: "", tags: [] as string[], meta: { rev: 0 } },
      list: [] as number[],
      byId: new Map<string, { n: number }>(),
      seen: new Set<string>(),
    },
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
  deep.on("read", (ctx) => ({
    rev: ctx.state.doc.meta.rev,
    tags: ctx.state.doc.tags,
    list: ctx.state.list,
    a: ctx.state.byId.get("a")?.n,
    seen: [...ctx.state.seen],
  }));

  it("catches object, array, Map and Set mutation, across a restart", async () => {
    let t = await start([deep], tempDataDir());
    const c = await t.connect("deep", "d");
    await c.request("mutate");
    t = await restart(t, [deep]);
    const again = await t.connect("deep", "d");
    expect(await again.request("read")).toEqual({ rev: 1, tags: ["red"], list: [3, 2], a: 2, seen: ["y"] });
  });

  it("shallow mode (the default) saves only assignment", async () => {
    const shallow = defineRoom({ name: "shallow", state: { list: [] as number[] }, persistedKeys: ["list"] });
    shallow.on("push", (ctx) => void ctx.state.list.push(1));
    shallow.on("assign", (ctx) => void (ctx.state.list = [...ctx.state.list, 2]));
    shallow.on("read", (ctx) => ctx.state.list);
    let t = await start([shallow], tempDataDir());
    const c = await t.connect("shallow", "s");
    await c.request("push");
    await c.request("assign");
    t = await restart(t, [shallow]);
    // The push was in memory only; the assignment (which copied it) was saved.
    expect(await (await t.connect("shallow", "s")).request("read")).toEqual([1, 2]);
  });
});

describe("values that cannot be stored", () => {
  it("are a PersistError naming the key; the handler's writes and emits are undone", async () => {
    const errors: Array<[string, string]> = [];
    const room = defineRoom({
      name: "bad",
      state: { ok: 0, fn: null as unknown },
      persistedKeys: ["ok", "fn"],
      onPersistError: (key, error) => void errors.push([key, error.message]),
    });
    room.on("good", (ctx) => ++ctx.state.ok);
    room.on("evil", (ctx) => {
      ctx.state.ok = 100;
      ctx.state.fn = { nested: { handler: () => 1 } };
      ctx.emit.broadcast("leak", {});
    });
    room.on("read", (ctx) => ctx.state.ok);
    const t = await start([room], tempDataDir());
    const c = await t.connect("bad", "b");
    const leaks: unknown[] = [];
    c.on("leak", (d) => leaks.push(d));
    await c.request("good");
    const failure = await c.request("evil").catch((e: CellarError) => e);
    expect(failure).toBeInstanceOf(CellarError);
    expect((failure as CellarError).code).toBe("PERSIST_ERROR");
    expect((failure as CellarError).message).toContain('"fn"');
    expect(errors[0]?.[0]).toBe("fn");
    expect(await c.request("read")).toBe(1);
    expect(leaks).toEqual([]);
  });

  it("with throwOnError: false are reported and skipped, the rest is saved", async () => {
    const reported: string[] = [];
    const room = defineRoom({
      name: "lenient",
      state: { ok: 0, sym: null as unknown },
      persistedKeys: ["ok", "sym"],
      persistOptions: { throwOnError: false },
      onPersistError: (key) => void reported.push(key),
    });
    room.on("set", (ctx) => {
      ctx.state.ok = 7;
      ctx.state.sym = Symbol("nope");
      return "done";
    });
    room.on("read", (ctx) => ctx.state.ok);
    let t = await start([room], tempDataDir());
    expect(await (await t.connect("lenient", "l")).request("set")).toBe("done");
    expect(reported).toEqual(["sym"]);
    t = await restart(t, [room]);
    expect(await (await t.connect("lenient", "l")).request("read")).toBe(7);
  });
});

describe("corrupt stored data", () => {
  const room = defineRoom({
    name: "fragile",
    state: { good: 1, broken: "initial" },
    persistedKeys: ["good", "broken"],
    onPersistError: (key, error) => void reports.push({ key, error: error as PersistError }),
  });
  const reports: Array<{ key: string; error: PersistError }> = [];
  room.on("write", (ctx) => {
    ctx.state.good = 2;
    ctx.state.broken = "written";
  });
  room.on("readGood", (ctx) => ctx.state.good);
  room.on("readBroken", (ctx) => ctx.state.broken);

  it("is reported with its key, never replaced by the initial value", async () => {
    const dataDir = tempDataDir();
    const t = await start([room], dataDir);
    await (await t.connect("fragile", "f")).request("write");
    await t.close({ keepData: true });
    servers = [];

    const db = new Database(join(dataDir, "cellar.db"));
    db.prepare("UPDATE state SET value = ? WHERE key = 'broken'").run("{not devalue");
    db.close();

    const again = await start([room], dataDir);
    const c = await again.connect("fragile", "f");
    expect(await c.request("readGood")).toBe(2);
    const failure = (await c.request("readBroken").catch((e) => e)) as CellarError;
    expect(failure.code).toBe("PERSIST_ERROR");
    expect(failure.message).toContain('"broken"');
    expect(reports.map((r) => r.key)).toContain("broken");
  });
});
