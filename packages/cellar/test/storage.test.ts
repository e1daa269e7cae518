import { describe, expect, it } from "vitest";
import { CellarError } from "cellar";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

describe("ctx.storage get and put", () => {
  it("returns the value of a key, or undefined when it has none", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("greeting", "hello"));
    expect(await run(t, "a", (ctx) => ctx.storage.get("greeting"))).toBe("hello");
    expect(await run(t, "a", (ctx) => ctx.storage.get("missing"))).toBeUndefined();
  });

  it("gets an array of keys as a Map of the keys that exist", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ one: 1, two: 2, three: 3 }));
    const found = await run(t, "a", (ctx) => ctx.storage.get(["three", "nope", "one"]));
    expect(found).toBeInstanceOf(Map);
    expect([...found]).toEqual([
      ["three", 3],
      ["one", 1],
    ]);
  });

  it("overwrites a key and keeps instances apart", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("k", "first"));
    await run(t, "a", (ctx) => ctx.storage.put("k", "second"));
    await run(t, "b", (ctx) => ctx.storage.put("k", "other room"));
    expect(await run(t, "a", (ctx) => ctx.storage.get("k"))).toBe("second");
    expect(await run(t, "b", (ctx) => ctx.storage.get("k"))).toBe("other room");
  });

  it("refuses put(key, undefined) with INVALID_ARGUMENT and writes nothing", async () => {
    const t = await servers.start();
    await expect(run(t, "a", (ctx) => ctx.storage.put("k", undefined))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const entries = run(t, "a", (ctx) => ctx.storage.put({ ok: 1, bad: undefined }));
    await expect(entries).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await run(t, "a", (ctx) => ctx.storage.get(["k", "ok", "bad"]))).toEqual(new Map());
  });

  it("refuses keys that are not strings", async () => {
    const t = await servers.start();
    await expect(run(t, "a", (ctx) => ctx.storage.put(42 as unknown as string, 1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(run(t, "a", (ctx) => ctx.storage.get(42 as unknown as string))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("refuses keys with a lone surrogate, which UTF-8 cannot represent, instead of listing them under another name", async () => {
    const t = await servers.start();
    for (const key of ["\uD800", "a\uDBFF", "\uDC00z"]) {
      await expect(run(t, "a", (ctx) => ctx.storage.put(key, 1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    expect((await run(t, "a", (ctx) => ctx.storage.list())).size).toBe(0);
  });

  it("tells a client that put(key, undefined) is an INVALID_ARGUMENT", async () => {
    const t = await servers.start();
    const client = await t.connect("box", "a");
    await expect(client.request("put-undefined")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await client.request("get", { key: "k" })).toBeUndefined();
  });
});

describe("ctx.storage delete", () => {
  it("returns whether one key existed", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("k", 1));
    expect(await run(t, "a", (ctx) => ctx.storage.delete("k"))).toBe(true);
    expect(await run(t, "a", (ctx) => ctx.storage.delete("k"))).toBe(false);
    expect(await run(t, "a", (ctx) => ctx.storage.get("k"))).toBeUndefined();
  });

  it("returns how many of an array of keys existed, counting writes of the same handler", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ a: 1, b: 2 }));
    const count = await run(t, "a", async (ctx) => {
      await ctx.storage.put("c", 3);
      await ctx.storage.delete("b");
      return ctx.storage.delete(["a", "b", "c", "x"]);
    });
    expect(count).toBe(2);
    expect(await run(t, "a", (ctx) => ctx.storage.get(["a", "b", "c"]))).toEqual(new Map());
  });
});

describe("read-your-writes", () => {
  it("a handler reads its own puts and deletes before they commit", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("old", "committed"));
    const seen = await run(t, "a", async (ctx) => {
      await ctx.storage.put("new", "pending");
      await ctx.storage.delete("old");
      return [await ctx.storage.get("new"), await ctx.storage.get("old"), [...(await ctx.storage.list())]];
    });
    expect(seen).toEqual(["pending", undefined, [["new", "pending"]]]);
  });

  it("a later handler reads writes of an earlier one that has not committed yet", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("seed", 0));
    const before = t.server.stats().commits.transactions;
    const first = run(t, "a", async (ctx) => {
      await ctx.storage.put("x", "from first");
      await ctx.storage.delete("seed");
    });
    const second = run(t, "a", async (ctx) => ({
      commitsSoFar: t.server.stats().commits.transactions,
      x: await ctx.storage.get("x"),
      seed: await ctx.storage.get("seed"),
      keys: [...(await ctx.storage.list()).keys()],
    }));
    await first;
    expect(await second).toEqual({ commitsSoFar: before, x: "from first", seed: undefined, keys: ["x"] });
  });

  it("a deleteAll not yet committed hides committed keys from later handlers", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ x: 1, y: 2 }));
    const first = run(t, "a", (ctx) => ctx.storage.deleteAll());
    const second = run(t, "a", async (ctx) => {
      await ctx.storage.put("z", 3);
      return { x: await ctx.storage.get("x"), all: [...(await ctx.storage.list())] };
    });
    await first;
    expect(await second).toEqual({ x: undefined, all: [["z", 3]] });
    expect([...(await run(t, "a", (ctx) => ctx.storage.list()))]).toEqual([["z", 3]]);
  });

  it("undoes every storage write of a handler that throws", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("k", "kept"));
    const failing = run(t, "a", async (ctx) => {
      await ctx.storage.put("k", "changed");
      await ctx.storage.put("other", 1);
      throw new CellarError("NOPE", "refused");
    });
    await expect(failing).rejects.toMatchObject({ code: "NOPE" });
    expect(await run(t, "a", (ctx) => ctx.storage.get(["k", "other"]))).toEqual(new Map([["k", "kept"]]));
  });
});

describe("ctx.storage.transaction", () => {
  it("commits the writes of a transaction that returns, and returns its result", async () => {
    const t = await servers.start();
    const result = await run(t, "a", (ctx) =>
      ctx.storage.transaction(async (txn) => {
        await txn.put("a", 1);
        expect(await txn.get("a")).toBe(1);
        return "done";
      }),
    );
    expect(result).toBe("done");
    expect(await run(t, "a", (ctx) => ctx.storage.get("a"))).toBe(1);
  });

  it("rolls back every write when the transaction throws, and rethrows", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ balance: 10, log: "start" }));
    const seen = await run(t, "a", async (ctx) => {
      const failure = ctx.storage
        .transaction(async (txn) => {
          await txn.put("balance", 0);
          await txn.delete("log");
          throw new CellarError("INSUFFICIENT_FUNDS", "no");
        })
        .catch((e: CellarError) => e.code);
      return [await failure, await ctx.storage.get("balance"), await ctx.storage.get("log")];
    });
    expect(seen).toEqual(["INSUFFICIENT_FUNDS", 10, "start"]);
    expect(await run(t, "a", (ctx) => ctx.storage.get(["balance", "log"]))).toEqual(new Map<string, unknown>([["balance", 10], ["log", "start"]]));
  });

  it("txn.rollback() undoes the writes without an error", async () => {
    const t = await servers.start();
    const result = await run(t, "a", (ctx) =>
      ctx.storage.transaction(async (txn) => {
        await txn.put("a", 1);
        txn.rollback();
        return "rolled back";
      }),
    );
    expect(result).toBe("rolled back");
    expect(await run(t, "a", (ctx) => ctx.storage.get("a"))).toBeUndefined();
  });

  it("nests: an inner failure undoes only the inner writes; an outer failure undoes both", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) =>
      ctx.storage.transaction(async (outer) => {
        await outer.put("outer", 1);
        await outer.transaction(async (inner) => inner.put("inner-kept", 1));
        await outer
          .transaction(async (inner) => {
            await inner.put("inner-failed", 1);
            throw new Error("inner");
          })
          .catch(() => {});
        await outer.transaction(async (inner) => {
          await inner.put("inner-rolled-back", 1);
          inner.rollback();
        });
      }),
    );
    const keys = async () => [...(await run(t, "a", (ctx) => ctx.storage.list())).keys()];
    expect(await keys()).toEqual(["inner-kept", "outer"]);

    await run(t, "a", (ctx) =>
      ctx.storage
        .transaction(async (outer) => {
          await outer.put("second-outer", 1);
          await outer.transaction(async (inner) => inner.put("second-inner", 1));
          throw new Error("outer");
        })
        .catch(() => {}),
    );
    expect(await keys()).toEqual(["inner-kept", "outer"]);
  });
});

describe("ctx.storage.deleteAll", () => {
  it("deletes every key of the instance and no other instance's", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ x: 1, y: 2 }));
    await run(t, "b", (ctx) => ctx.storage.put({ x: "b" }));
    const inside = await run(t, "a", async (ctx) => {
      await ctx.storage.deleteAll();
      await ctx.storage.put("after", 3);
      return [...(await ctx.storage.list())];
    });
    expect(inside).toEqual([["after", 3]]);
    expect([...(await run(t, "a", (ctx) => ctx.storage.list()))]).toEqual([["after", 3]]);
    expect(await run(t, "b", (ctx) => ctx.storage.get("x"))).toBe("b");
  });

  it("leaves persisted state alone, and is undone when the handler throws", async () => {
    const t = await servers.start();
    await run(t, "a", async (ctx) => {
      ctx.state.note = "state survives";
      await ctx.storage.put("x", 1);
    });
    await run(t, "a", (ctx) => ctx.storage.deleteAll());
    expect(await run(t, "a", (ctx) => ctx.state.note)).toBe("state survives");

    await run(t, "a", (ctx) => ctx.storage.put("y", 2));
    const failing = run(t, "a", async (ctx) => {
      await ctx.storage.deleteAll();
      throw new Error("changed my mind");
    });
    await expect(failing).rejects.toThrow("changed my mind");
    expect(await run(t, "a", (ctx) => ctx.storage.get("y"))).toBe(2);
  });
});
