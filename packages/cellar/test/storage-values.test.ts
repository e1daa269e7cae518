import { describe, expect, it } from "vitest";
import { PersistError } from "cellar";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

/** One value of every kind the stored format must keep, built fresh each call. */
function everyKind() {
  const shared = { id: 1 };
  const cycle: { name: string; self?: unknown } = { name: "loop" };
  cycle.self = cycle;
  return {
    date: new Date("2024-02-29T12:34:56.789Z"),
    map: new Map<unknown, unknown>([
      ["a", 1],
      [2, { b: true }],
    ]),
    set: new Set([1, "two", 3n]),
    regexp: /a+b?/giu,
    bigint: 12345678901234567890123n,
    nan: Number.NaN,
    negativeZero: -0,
    infinity: Number.POSITIVE_INFINITY,
    negativeInfinity: Number.NEGATIVE_INFINITY,
    withUndefined: { present: undefined, other: 1 },
    uint8: new Uint8Array([0, 1, 254, 255]),
    float64: new Float64Array([1.5, -0, Number.NaN]),
    int32: new Int32Array([-1, 2 ** 31 - 1]),
    nested: [1, "two", null, [3, { four: [5] }]],
    text: "émoji 😀 and \u0000 nul",
    shared: [shared, shared],
    cycle,
  };
}

type EveryKind = ReturnType<typeof everyKind>;

function expectSameValues(value: EveryKind): void {
  const expected = everyKind();
  expect(value.date).toEqual(expected.date);
  expect(value.map).toEqual(expected.map);
  expect(value.set).toEqual(expected.set);
  expect(value.regexp).toBeInstanceOf(RegExp);
  expect([value.regexp.source, value.regexp.flags]).toEqual([expected.regexp.source, expected.regexp.flags]);
  expect(value.bigint).toBe(expected.bigint);
  expect(value.nan).toBeNaN();
  expect(Object.is(value.negativeZero, -0)).toBe(true);
  expect(value.infinity).toBe(Number.POSITIVE_INFINITY);
  expect(value.negativeInfinity).toBe(Number.NEGATIVE_INFINITY);
  expect(Object.keys(value.withUndefined)).toEqual(["present", "other"]);
  expect(value.withUndefined.present).toBeUndefined();
  expect(value.uint8).toEqual(expected.uint8);
  expect(value.float64).toBeInstanceOf(Float64Array);
  expect(Object.is(value.float64[1], -0) && Number.isNaN(value.float64[2])).toBe(true);
  expect(value.int32).toEqual(expected.int32);
  expect(value.nested).toEqual(expected.nested);
  expect(value.text).toBe(expected.text);
  expect(value.shared[0]).toBe(value.shared[1]);
  expect(value.cycle.self).toBe(value.cycle);
}

describe("stored values round-trip", () => {
  it("keeps every kind of value, read back in the same handler", async () => {
    const t = await servers.start();
    const value = await run(t, "a", async (ctx) => {
      await ctx.storage.put("v", everyKind());
      return ctx.storage.get<EveryKind>("v");
    });
    expectSameValues(value!);
  });

  it("keeps every kind of value once committed, as single keys and in a batch", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("v", everyKind()));
    await run(t, "a", (ctx) => ctx.storage.put(everyKind() as unknown as Record<string, unknown>));
    expectSameValues((await run(t, "a", (ctx) => ctx.storage.get<EveryKind>("v")))!);
    const batch = await run(t, "a", (ctx) => ctx.storage.get(Object.keys(everyKind())));
    expectSameValues(Object.fromEntries(batch) as EveryKind);
  });

  it("stores a snapshot: mutating the object after put changes nothing stored", async () => {
    const t = await servers.start();
    const read = await run(t, "a", async (ctx) => {
      const value = { list: [1] };
      await ctx.storage.put("v", value);
      value.list.push(2);
      const copy = (await ctx.storage.get<{ list: number[] }>("v"))!;
      copy.list.push(3);
      return ctx.storage.get("v");
    });
    expect(read).toEqual({ list: [1] });
  });

  it("refuses a value it cannot store with a PersistError naming the key", async () => {
    const t = await servers.start();
    const failing = run(t, "a", (ctx) => ctx.storage.put("handler", { fn: () => 1 }));
    await expect(failing).rejects.toBeInstanceOf(PersistError);
    await expect(failing).rejects.toMatchObject({ code: "PERSIST_ERROR", key: "handler" });
    await expect(run(t, "a", (ctx) => ctx.storage.put("symbol", Symbol("s")))).rejects.toMatchObject({ key: "symbol" });
    expect(await run(t, "a", (ctx) => ctx.storage.get(["handler", "symbol"]))).toEqual(new Map());
  });
});

describe("storage durability", () => {
  it("keeps data across a restart on the same data directory", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await run(first, "a", async (ctx) => {
      await ctx.storage.put("v", everyKind());
      await ctx.storage.put({ x: 1, gone: 2 });
    });
    await run(first, "a", (ctx) => ctx.storage.delete("gone"));
    await run(first, "b", (ctx) => ctx.storage.put("x", "b"));
    await first.close();

    const second = await servers.start({ dataDir });
    expectSameValues((await run(second, "a", (ctx) => ctx.storage.get<EveryKind>("v")))!);
    expect([...(await run(second, "a", (ctx) => ctx.storage.list())).keys()]).toEqual(["v", "x"]);
    expect(await run(second, "b", (ctx) => ctx.storage.get("x"))).toBe("b");
  });

  it("keeps data across hibernation", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("v", everyKind()));
    expect(t.server.hibernate("box", "a")).toBe(1);
    expect(t.server.stats().rooms.live).toBe(0);
    expectSameValues((await run(t, "a", (ctx) => ctx.storage.get<EveryKind>("v")))!);
  });

  it("does not hibernate an instance whose writes have not committed", async () => {
    const t = await servers.start();
    const writing = run(t, "a", (ctx) => ctx.storage.put("pending", 1));
    expect(t.server.hibernate("box", "a")).toBe(0);
    await writing;
    expect(t.server.hibernate("box", "a")).toBe(1);
    expect(await run(t, "a", (ctx) => ctx.storage.get("pending"))).toBe(1);
  });

  it("a put acknowledged to a client is there after a restart", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    const client = await first.connect("box", "a");
    expect(await client.request("put", { key: "acked", value: { n: 1 } })).toBe(true);
    await first.close();
    const second = await servers.start({ dataDir });
    expect(await run(second, "a", (ctx) => ctx.storage.get("acked"))).toEqual({ n: 1 });
  });
});
