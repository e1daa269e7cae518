import { describe, expect, it } from "vitest";
import type { ListOptions } from "cellar";
import type { TestServer } from "cellar/testing";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

/**
 * Keys in Unicode code point order (= UTF-8 byte order). JavaScript's default string order
 * compares UTF-16 units and would put the two astral keys (surrogate pairs, 0xD8xx) before
 * the private-use, full-width and replacement characters (0xE000 and above).
 */
const CODE_POINT_ORDER = ["A", "a", "b", "z", "é", "\uE000", "\uFF21", "\uFFFD", "𝄞", "😀", "😀!"];

const keysOf = (t: TestServer, options?: ListOptions, id = "a") =>
  run(t, id, async (ctx) => [...(await ctx.storage.list(options)).keys()]);

async function putKeys(t: TestServer, keys: readonly string[], id = "a"): Promise<void> {
  await run(t, id, (ctx) => ctx.storage.put(Object.fromEntries(keys.map((k) => [k, `v:${k}`]))));
}

describe("ctx.storage.list order", () => {
  it("the test keys really do sort differently by code point than by UTF-16", () => {
    expect([...CODE_POINT_ORDER].sort()).not.toEqual(CODE_POINT_ORDER);
  });

  it("lists committed keys by code point, forwards and in reverse", async () => {
    const t = await servers.start();
    await putKeys(t, [...CODE_POINT_ORDER].reverse());
    expect(await keysOf(t)).toEqual(CODE_POINT_ORDER);
    expect(await keysOf(t, { reverse: true })).toEqual([...CODE_POINT_ORDER].reverse());
  });

  it("merges pending writes into committed keys in the same order", async () => {
    const t = await servers.start();
    const committed = CODE_POINT_ORDER.filter((_, i) => i % 2 === 0);
    const pending = CODE_POINT_ORDER.filter((_, i) => i % 2 === 1);
    await putKeys(t, committed);
    const seen = await run(t, "a", async (ctx) => {
      await ctx.storage.put(Object.fromEntries(pending.map((k) => [k, `v:${k}`])));
      await ctx.storage.put("zz-deleted", 1);
      await ctx.storage.delete(["zz-deleted", "A"]);
      return {
        forward: [...(await ctx.storage.list()).keys()],
        reverse: [...(await ctx.storage.list({ reverse: true, limit: 3 })).keys()],
      };
    });
    const expected = CODE_POINT_ORDER.filter((k) => k !== "A");
    expect(seen.forward).toEqual(expected);
    expect(seen.reverse).toEqual(expected.slice(-3).reverse());
  });

  it("handles the empty key and keys holding NUL characters", async () => {
    const t = await servers.start();
    await putKeys(t, ["a\u0001", "a", "a\u0000b", ""]);
    expect(await keysOf(t)).toEqual(["", "a", "a\u0000b", "a\u0001"]);
    expect(await run(t, "a", (ctx) => ctx.storage.get(["", "a\u0000b"]))).toEqual(new Map([["", "v:"], ["a\u0000b", "v:a\u0000b"]]));
  });

  it("returns decoded values", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => ctx.storage.put({ n: 1, d: new Date(5) }));
    expect(await run(t, "a", (ctx) => ctx.storage.list())).toEqual(
      new Map<string, unknown>([
        ["d", new Date(5)],
        ["n", 1],
      ]),
    );
  });
});

describe("ctx.storage.list options", () => {
  const keys = ["use", "user", "user:1", "user:2", "user:10", "user;", "users", "v"];

  it("prefix keeps only keys that start with it", async () => {
    const t = await servers.start();
    await putKeys(t, keys);
    expect(await keysOf(t, { prefix: "user:" })).toEqual(["user:1", "user:10", "user:2"]);
    expect(await keysOf(t, { prefix: "user" })).toEqual(["user", "user:1", "user:10", "user:2", "user;", "users"]);
    expect(await keysOf(t, { prefix: "nothing" })).toEqual([]);
  });

  it("prefix works at the edges of the BMP and with astral characters", async () => {
    const t = await servers.start();
    await putKeys(t, ["\uD7FF", "\uD7FFa", "\uE000", "x\uFFFF", "x\uFFFFa", "x\u{10000}", "😀", "😀b", "😁", "\u{10FFFF}a", "\u{10FFFF}"]);
    expect(await keysOf(t, { prefix: "\uD7FF" })).toEqual(["\uD7FF", "\uD7FFa"]);
    expect(await keysOf(t, { prefix: "x\uFFFF" })).toEqual(["x\uFFFF", "x\uFFFFa"]);
    expect(await keysOf(t, { prefix: "😀" })).toEqual(["😀", "😀b"]);
    expect(await keysOf(t, { prefix: "\u{10FFFF}" })).toEqual(["\u{10FFFF}", "\u{10FFFF}a"]);
  });

  it("start is inclusive, startAfter exclusive, end exclusive", async () => {
    const t = await servers.start();
    await putKeys(t, ["a", "b", "c", "d", "e"]);
    expect(await keysOf(t, { start: "b", end: "d" })).toEqual(["b", "c"]);
    expect(await keysOf(t, { startAfter: "b", end: "e" })).toEqual(["c", "d"]);
    expect(await keysOf(t, { start: "bb" })).toEqual(["c", "d", "e"]);
    expect(await keysOf(t, { startAfter: "b", end: "e", reverse: true })).toEqual(["d", "c"]);
  });

  it("combines prefix with start and end", async () => {
    const t = await servers.start();
    await putKeys(t, keys);
    expect(await keysOf(t, { prefix: "user:", start: "a" })).toEqual(["user:1", "user:10", "user:2"]);
    expect(await keysOf(t, { prefix: "user:", start: "user:10" })).toEqual(["user:10", "user:2"]);
    expect(await keysOf(t, { prefix: "user:", startAfter: "user:10" })).toEqual(["user:2"]);
    expect(await keysOf(t, { prefix: "user:", end: "user:2" })).toEqual(["user:1", "user:10"]);
    expect(await keysOf(t, { prefix: "user:", end: "zzz" })).toEqual(["user:1", "user:10", "user:2"]);
  });

  it("limit takes the first keys, or the last ones with reverse", async () => {
    const t = await servers.start();
    await putKeys(t, ["a", "b", "c", "d", "e"]);
    expect(await keysOf(t, { limit: 2 })).toEqual(["a", "b"]);
    expect(await keysOf(t, { limit: 2, reverse: true })).toEqual(["e", "d"]);
    expect(await keysOf(t, { limit: 2, prefix: "c" })).toEqual(["c"]);
  });

  it("limit counts what is left after the handler's own deletes and puts", async () => {
    const t = await servers.start();
    await putKeys(t, ["a", "b", "c", "d", "e"]);
    const seen = await run(t, "a", async (ctx) => {
      await ctx.storage.delete(["a", "b"]);
      await ctx.storage.put("bb", 1);
      return [...(await ctx.storage.list({ limit: 3 })).keys()];
    });
    expect(seen).toEqual(["bb", "c", "d"]);
  });

  it("pages through every key with limit and startAfter", async () => {
    const t = await servers.start();
    const all = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await putKeys(t, all);
    const paged: string[] = [];
    for (let page = await keysOf(t, { limit: 10 }); page.length > 0; page = await keysOf(t, { limit: 10, startAfter: paged.at(-1)! })) {
      paged.push(...page);
    }
    expect(paged).toEqual(all);
  });

  it("refuses start together with startAfter, and limits that are not positive integers", async () => {
    const t = await servers.start();
    await expect(keysOf(t, { start: "a", startAfter: "b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(keysOf(t, { limit })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    await expect(keysOf(t, { prefix: 5 as unknown as string })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("tells a client that start with startAfter is an INVALID_ARGUMENT", async () => {
    const t = await servers.start();
    const client = await t.connect("box", "a");
    await expect(client.request("list", { start: "a", startAfter: "b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await client.request("list", { prefix: "x" })).toEqual([]);
  });
});
