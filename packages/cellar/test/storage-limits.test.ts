import { describe, expect, it } from "vitest";
import { STORAGE_LIMITS, type RoomContext } from "cellar";
import type { TestServer } from "cellar/testing";
import { expectLimit, run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();
const KiB = 1024;

/** Puts `count` small entries `k0000`… in batches the batch limit allows. */
async function putMany(ctx: RoomContext<unknown>, count: number, prefix = "k"): Promise<void> {
  for (let from = 0; from < count; from += 100) {
    const keys = Array.from({ length: Math.min(100, count - from) }, (_, i) => `${prefix}${String(from + i).padStart(4, "0")}`);
    await ctx.storage.put(Object.fromEntries(keys.map((k) => [k, 1])));
  }
}

describe("KEY_SIZE: keys up to 2 KiB of UTF-8", () => {
  const cases: Array<[string, string, string]> = [
    ["ASCII", "k".repeat(2048), "k".repeat(2049)],
    ["2-byte characters", "é".repeat(1024), `${"é".repeat(1024)}a`],
    ["3-byte characters", `${"€".repeat(682)}ab`, `${"€".repeat(682)}abc`],
    ["astral characters", "😀".repeat(512), `${"😀".repeat(512)}a`],
  ];

  it.each(cases)("accepts a key of exactly 2048 bytes and refuses 2049 bytes (%s)", async (_, fits, tooLong) => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put(fits, "ok"));
    expect(await run(t, "a", (ctx) => ctx.storage.get(fits))).toBe("ok");
    expect([...(await run(t, "a", (ctx) => ctx.storage.list())).keys()]).toEqual([fits]);
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put(tooLong, "no")), "KEY_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put({ [tooLong]: "no" })), "KEY_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.get(tooLong)), "KEY_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.get([fits, tooLong])), "KEY_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.delete(tooLong)), "KEY_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.delete([fits, tooLong])), "KEY_SIZE");
    expect(await run(t, "a", (ctx) => ctx.storage.get(fits))).toBe("ok");
  });
});

describe("VALUE_SIZE: values up to 128 KiB encoded", () => {
  it("stores a value just under 128 KiB and refuses one over it", async () => {
    const t = await servers.start();
    const fits = "x".repeat(128 * KiB - 64);
    await run(t, "a", (ctx) => ctx.storage.put("big", fits));
    expect(await run(t, "a", (ctx) => ctx.storage.get("big"))).toBe(fits);
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put("huge", "x".repeat(128 * KiB + 1))), "VALUE_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put("huge", { nested: ["x".repeat(128 * KiB)] })), "VALUE_SIZE");
  });

  it("applies to persisted state values too, changing nothing", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => {
      ctx.state.note = "before";
    });
    const over = run(t, "a", (ctx) => {
      ctx.state.note = "x".repeat(128 * KiB + 1);
    });
    await expectLimit(over, "VALUE_SIZE");
    expect(await run(t, "a", (ctx) => ctx.state.note)).toBe("before");
  });

  it("counts UTF-8 bytes, not characters", async () => {
    const t = await servers.start();
    const twoByteChars = "é".repeat(66 * KiB); // 67,584 characters, 135,168 bytes
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put("v", twoByteChars)), "VALUE_SIZE");
  });
});

describe("BATCH_SIZE: at most 128 keys per call", () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
  const entries = (n: number) => Object.fromEntries(keys(n).map((k) => [k, 1]));

  it("accepts 128 keys in get, put and delete", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put(entries(128)));
    expect((await run(t, "a", (ctx) => ctx.storage.get(keys(128)))).size).toBe(128);
    expect(await run(t, "a", (ctx) => ctx.storage.delete(keys(128)))).toBe(128);
  });

  it("refuses 129 keys in get, put and delete, changing nothing", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put(entries(100)));
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put(entries(129))), "BATCH_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.get(keys(129))), "BATCH_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.delete(keys(129))), "BATCH_SIZE");
    expect((await run(t, "a", (ctx) => ctx.storage.list())).size).toBe(100);
  });
});

describe("LIST_LIMIT: at most 1,000 entries per list", () => {
  it("returns 1,000 entries and refuses a limit above 1,000", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => putMany(ctx, 1001));
    expect((await run(t, "a", (ctx) => ctx.storage.list({ limit: 1000 }))).size).toBe(1000);
    await expectLimit(run(t, "a", (ctx) => ctx.storage.list({ limit: 1001 })), "LIST_LIMIT");
  });

  it("lists up to 1,000 matches without a limit, and tells to page beyond", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => putMany(ctx, 1000));
    expect((await run(t, "a", (ctx) => ctx.storage.list())).size).toBe(1000);
    await run(t, "a", (ctx) => ctx.storage.put("k9999", 1));
    for (const options of [{}, { reverse: true }, { prefix: "k" }]) {
      const listing = run(t, "a", (ctx) => ctx.storage.list(options));
      await expectLimit(listing, "LIST_LIMIT");
      await expect(listing).rejects.toThrow(/page/);
    }
    expect((await run(t, "a", (ctx) => ctx.storage.list({ prefix: "k00" }))).size).toBe(100);
  });

  it("counts deletes not yet committed", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => putMany(ctx, 1001));
    const size = await run(t, "a", async (ctx) => {
      await ctx.storage.delete("k0500");
      return (await ctx.storage.list()).size;
    });
    expect(size).toBe(1000);
  });

  it("counts writes not yet committed", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => putMany(ctx, 600));
    await expectLimit(
      run(t, "a", async (ctx) => {
        await putMany(ctx, 401, "p");
        return ctx.storage.list();
      }),
      "LIST_LIMIT",
    );
  });
});

describe("a refused call changes nothing", () => {
  it("a put batch with one oversized value or key writes none of its entries", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put("a", "before"));
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put({ a: "after", b: 1, c: "x".repeat(129 * KiB) })), "VALUE_SIZE");
    await expectLimit(run(t, "a", (ctx) => ctx.storage.put({ a: "after", b: 1, ["k".repeat(2049)]: 1 })), "KEY_SIZE");
    expect([...(await run(t, "a", (ctx) => ctx.storage.list()))]).toEqual([["a", "before"]]);
  });

  it("a handler that catches the error still commits its other writes", async () => {
    const t = await servers.start();
    const code = await run(t, "a", async (ctx) => {
      await ctx.storage.put("kept", 1);
      const error = await ctx.storage.put({ b: 1, c: "x".repeat(129 * KiB) }).catch((e: { limit: string }) => e.limit);
      await ctx.storage.put("also-kept", 2);
      return error;
    });
    expect(code).toBe("VALUE_SIZE");
    expect([...(await run(t, "a", (ctx) => ctx.storage.list())).keys()]).toEqual(["also-kept", "kept"]);
  });
});

describe("limits as a client sees them", () => {
  it("answers STORAGE_LIMIT with the limit's name for key, value and instance size", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 20_000 } });
    const client = await t.connect("box", "a");
    const keyError = client.request("put", { key: "k".repeat(2049), value: 1 });
    await expect(keyError).rejects.toMatchObject({ code: "STORAGE_LIMIT", message: expect.stringContaining("KEY_SIZE") });
    const valueError = client.request("put", { key: "v", fill: 129 * KiB });
    await expect(valueError).rejects.toMatchObject({ code: "STORAGE_LIMIT", message: expect.stringContaining("VALUE_SIZE") });
    expect(await client.request("put", { key: "first", fill: 12_000 })).toBe(true);
    const sizeError = client.request("put", { key: "second", fill: 12_000 });
    await expect(sizeError).rejects.toMatchObject({ code: "STORAGE_LIMIT", message: expect.stringContaining("INSTANCE_SIZE") });
    expect(await client.request("get", { key: "second" })).toBeUndefined();
  });
});

describe("INSTANCE_SIZE", () => {
  const big = (n = 8_000) => "x".repeat(n);
  const keysOf = async (t: TestServer, id: string) => [...(await run(t, id, (ctx) => ctx.storage.list())).keys()];

  it("fails the commit that would pass the limit and leaves the instance as it was", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 20_000 } });
    await run(t, "a", (ctx) => ctx.storage.put({ one: big(), two: big(), tiny: 1 }));
    const over = run(t, "a", async (ctx) => {
      ctx.state.note = "changed";
      await ctx.storage.put("three", big());
      await ctx.storage.delete("tiny");
    });
    await expectLimit(over, "INSTANCE_SIZE");
    expect(await keysOf(t, "a")).toEqual(["one", "tiny", "two"]);
    expect(await run(t, "a", (ctx) => ctx.state.note)).toBe("");
    await run(t, "a", (ctx) => ctx.storage.delete("one"));
    await run(t, "a", (ctx) => ctx.storage.put("three", big()));
    expect(await keysOf(t, "a")).toEqual(["three", "tiny", "two"]);
  });

  it("fails only the instance over the limit when instances commit together", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 20_000 } });
    await run(t, "a", (ctx) => ctx.storage.put({ one: big(), two: big() }));
    const over = run(t, "a", (ctx) => ctx.storage.put("three", big()));
    const other = run(t, "b", (ctx) => ctx.storage.put({ one: big(), two: big() }));
    await expectLimit(over, "INSTANCE_SIZE");
    await other;
    expect(await keysOf(t, "b")).toEqual(["one", "two"]);
    expect(await keysOf(t, "a")).toEqual(["one", "two"]);
  });

  it("counts persisted state", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 20_000 } });
    await run(t, "a", (ctx) => ctx.storage.put("one", big(12_000)));
    await expectLimit(
      run(t, "a", (ctx) => {
        ctx.state.note = big(12_000);
      }),
      "INSTANCE_SIZE",
    );
    expect(await run(t, "a", (ctx) => ctx.state.note)).toBe("");
  });

  it("holds a handler that also runs SQL to the limit for its storage writes", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 100_000 } });
    const over = run(t, "a", async (ctx) => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (x)");
      await ctx.storage.put({ one: big(60_000), two: big(60_000) });
    });
    await expectLimit(over, "INSTANCE_SIZE");
    expect(await keysOf(t, "a")).toEqual([]);
  });

  it("counts SQL data and storage together", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 200_000 } });
    await run(t, "a", (ctx) => ctx.storage.sql.exec("CREATE TABLE t (b BLOB)"));
    await run(t, "a", (ctx) => ctx.storage.put({ one: big(60_000), two: big(60_000) }));
    const over = run(t, "a", (ctx) => ctx.storage.sql.exec("INSERT INTO t VALUES (zeroblob(120000))").rowsWritten);
    await expectLimit(over, "INSTANCE_SIZE");
    expect(await run(t, "a", (ctx) => ctx.storage.sql.exec("SELECT count(*) AS n FROM t").one())).toEqual({ n: 0 });
  });

  it("refuses SQL writes past the limit and keeps serving the instance", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 100_000 } });
    await run(t, "a", (ctx) => ctx.storage.sql.exec("CREATE TABLE t (b BLOB)"));
    await expectLimit(run(t, "a", (ctx) => ctx.storage.sql.exec("INSERT INTO t VALUES (zeroblob(200000))")), "INSTANCE_SIZE");
    await run(t, "a", (ctx) => ctx.storage.sql.exec("INSERT INTO t VALUES (x'01')"));
    expect(await run(t, "a", (ctx) => ctx.storage.sql.exec("SELECT count(*) AS n FROM t").one())).toEqual({ n: 1 });
  });

  it("defaults to 1 GiB", () => {
    expect(STORAGE_LIMITS.maxInstanceBytes).toBe(1024 ** 3);
  });
});
