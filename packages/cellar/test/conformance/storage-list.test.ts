import { describe, expect, it } from "vitest";
import type { ListOptions } from "cellar";
import { useHost } from "./harness.js";
import { describeValue, everyKind } from "./rooms.js";
import { script, single } from "./script.js";

const hosts = useHost();

/**
 * Keys in Unicode code point order (= UTF-8 byte order). JavaScript's default string order
 * compares UTF-16 units and would put the two astral keys (surrogate pairs, 0xD8xx) before
 * the private-use, full-width and replacement characters (0xE000 and above).
 */
const CODE_POINT_ORDER = ["A", "a", "b", "z", "é", "\uE000", "\uFF21", "\uFFFD", "𝄞", "😀", "😀!"];

/** A `box` instance with `keys` stored, each with the value `v:<key>`. */
async function withKeys(keys: readonly string[]) {
  const host = await hosts.start();
  const client = await host.connect("box", "a");
  const run = script(client);
  await run(["put", Object.fromEntries(keys.map((k) => [k, `v:${k}`]))]);
  const one = single(client);
  return { run, one, keysOf: (options?: ListOptions) => one(["keys", options]) as Promise<string[]> };
}

describe("ctx.storage.list order", () => {
  it("the test keys really do sort differently by code point than by UTF-16", () => {
    expect([...CODE_POINT_ORDER].sort()).not.toEqual(CODE_POINT_ORDER);
  });

  it("lists committed keys by code point, forwards and in reverse", async () => {
    const { keysOf } = await withKeys([...CODE_POINT_ORDER].reverse());
    expect(await keysOf()).toEqual(CODE_POINT_ORDER);
    expect(await keysOf({ reverse: true })).toEqual([...CODE_POINT_ORDER].reverse());
  });

  it("merges pending writes into committed keys in the same order", async () => {
    const committed = CODE_POINT_ORDER.filter((_, i) => i % 2 === 0);
    const pending = CODE_POINT_ORDER.filter((_, i) => i % 2 === 1);
    const { run } = await withKeys(committed);
    const [, , , forward, reverse] = await run(
      ["put", Object.fromEntries(pending.map((k) => [k, `v:${k}`]))],
      ["put", "zz-deleted", 1],
      ["delete", ["zz-deleted", "A"]],
      ["keys"],
      ["keys", { reverse: true, limit: 3 }],
    );
    const expected = CODE_POINT_ORDER.filter((k) => k !== "A");
    expect(forward).toEqual(expected);
    expect(reverse).toEqual(expected.slice(-3).reverse());
  });

  it("handles the empty key and keys holding NUL characters, and returns the values", async () => {
    const { keysOf, one } = await withKeys(["a\u0001", "a", "a\u0000b", ""]);
    expect(await keysOf()).toEqual(["", "a", "a\u0000b", "a\u0001"]);
    expect(await one(["get", ["", "a\u0000b"]])).toEqual([
      ["", "v:"],
      ["a\u0000b", "v:a\u0000b"],
    ]);
    expect(await one(["list", { prefix: "a\u0000" }])).toEqual([["a\u0000b", "v:a\u0000b"]]);
  });

  it("returns decoded values", async () => {
    const { run } = await withKeys([]);
    const [, listed] = await run(["putKinds"], ["describeList", { prefix: "dat" }]);
    expect(listed).toEqual(describeValue(new Map([["date", everyKind().date]])));
  });
});

describe("ctx.storage.list options", () => {
  const keys = ["use", "user", "user:1", "user:2", "user:10", "user;", "users", "v"];

  it("prefix keeps only keys that start with it", async () => {
    const { keysOf } = await withKeys(keys);
    expect(await keysOf({ prefix: "user:" })).toEqual(["user:1", "user:10", "user:2"]);
    expect(await keysOf({ prefix: "user" })).toEqual(["user", "user:1", "user:10", "user:2", "user;", "users"]);
    expect(await keysOf({ prefix: "nothing" })).toEqual([]);
  });

  it("prefix works at the edges of the BMP and with astral characters", async () => {
    const { keysOf } = await withKeys(["\uD7FF", "\uD7FFa", "\uE000", "x\uFFFF", "x\uFFFFa", "x\u{10000}", "😀", "😀b", "😁", "\u{10FFFF}a", "\u{10FFFF}"]);
    expect(await keysOf({ prefix: "\uD7FF" })).toEqual(["\uD7FF", "\uD7FFa"]);
    expect(await keysOf({ prefix: "x\uFFFF" })).toEqual(["x\uFFFF", "x\uFFFFa"]);
    expect(await keysOf({ prefix: "😀" })).toEqual(["😀", "😀b"]);
    expect(await keysOf({ prefix: "\u{10FFFF}" })).toEqual(["\u{10FFFF}", "\u{10FFFF}a"]);
  });

  it("start is inclusive, startAfter exclusive, end exclusive; limit takes the first keys, or the last with reverse", async () => {
    const { keysOf } = await withKeys(["a", "b", "c", "d", "e"]);
    expect(await keysOf({ start: "b", end: "d" })).toEqual(["b", "c"]);
    expect(await keysOf({ startAfter: "b", end: "e" })).toEqual(["c", "d"]);
    expect(await keysOf({ start: "bb" })).toEqual(["c", "d", "e"]);
    expect(await keysOf({ startAfter: "b", end: "e", reverse: true })).toEqual(["d", "c"]);
    expect(await keysOf({ limit: 2 })).toEqual(["a", "b"]);
    expect(await keysOf({ limit: 2, reverse: true })).toEqual(["e", "d"]);
    expect(await keysOf({ limit: 2, prefix: "c" })).toEqual(["c"]);
  });

  it("combines prefix with start and end", async () => {
    const { keysOf } = await withKeys(keys);
    expect(await keysOf({ prefix: "user:", start: "a" })).toEqual(["user:1", "user:10", "user:2"]);
    expect(await keysOf({ prefix: "user:", start: "user:10" })).toEqual(["user:10", "user:2"]);
    expect(await keysOf({ prefix: "user:", startAfter: "user:10" })).toEqual(["user:2"]);
    expect(await keysOf({ prefix: "user:", end: "user:2" })).toEqual(["user:1", "user:10"]);
    expect(await keysOf({ prefix: "user:", end: "zzz" })).toEqual(["user:1", "user:10", "user:2"]);
  });

  it("limit counts what is left after the handler's own deletes and puts", async () => {
    const { run } = await withKeys(["a", "b", "c", "d", "e"]);
    expect((await run(["delete", ["a", "b"]], ["put", "bb", 1], ["keys", { limit: 3 }]))[2]).toEqual(["bb", "c", "d"]);
  });

  it("pages through every key with limit and startAfter", async () => {
    const all = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const { keysOf } = await withKeys(all);
    const paged: string[] = [];
    for (let page = await keysOf({ limit: 10 }); page.length > 0; page = await keysOf({ limit: 10, startAfter: paged.at(-1)! })) paged.push(...page);
    expect(paged).toEqual(all);
  });

  it("refuses start together with startAfter, limits that are not positive integers and a prefix that is not a string", async () => {
    const { keysOf } = await withKeys(["a"]);
    await expect(keysOf({ start: "a", startAfter: "b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    for (const limit of [0, -1, 1.5]) await expect(keysOf({ limit })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(keysOf({ prefix: 5 as unknown as string })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await keysOf({ prefix: "x" })).toEqual([]);
  });
});
