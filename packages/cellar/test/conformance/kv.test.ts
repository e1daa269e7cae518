import { describe, expect, it } from "vitest";
import type { HostConfig } from "./harness.js";
import { useHost } from "./harness.js";
import { limitError, script, single } from "./script.js";

// KV namespace "NS" from inside rooms: Cloudflare KV's API, global to all rooms, and part
// of the output gate.

const hosts = useHost();

async function rooms(config?: HostConfig) {
  const host = await hosts.start(config);
  const a = await host.connect("box", "a");
  const b = await host.connect("box", "b");
  return { host, a: script(a), b: script(b), one: single(a) };
}

describe("KV get, put, delete", () => {
  it("reads a value as text, JSON or bytes; a missing key is null", async () => {
    const { a } = await rooms();
    const text = JSON.stringify({ n: 1, s: "é😀" });
    await a(["kvPut", "doc", text]);
    expect(await a(["kvGet", "doc"], ["kvGet", "doc", "json"], ["kvGet", "doc", "arrayBuffer"], ["kvGet", "missing"])).toEqual([
      text,
      { n: 1, s: "é😀" },
      [...new TextEncoder().encode(text)],
      null,
    ]);
  });

  it("stores binary values (an ArrayBuffer, or a view into part of one), and deletes", async () => {
    const { a } = await rooms();
    await a(["kvPut", "buffer", { buffer: [0, 1, 255] }], ["kvPut", "view", [8, 7]], ["kvPut", "k", "v"]);
    await a(["kvDelete", "k"]);
    expect(await a(["kvGet", "buffer", "arrayBuffer"], ["kvGet", "view", "arrayBuffer"], ["kvGet", "k"])).toEqual([[0, 1, 255], [8, 7], null]);
  });

  it("returns metadata with getWithMetadata and list", async () => {
    const { a, one } = await rooms();
    await a(["kvPut", "with", "v1", { metadata: { owner: "ann", tags: [1, 2] } }], ["kvPut", "without", "v2"]);
    expect(await a(["kvMeta", "with"], ["kvMeta", "without"], ["kvMeta", "missing"], ["try", ["kvMeta", "with", "json"]])).toEqual([
      { value: "v1", metadata: { owner: "ann", tags: [1, 2] } },
      { value: "v2", metadata: null },
      { value: null, metadata: null },
      expect.objectContaining({ error: "INVALID_ARGUMENT" }),
    ]);
    expect((await one(["kvList"])).keys).toEqual([{ name: "with", metadata: { owner: "ann", tags: [1, 2] } }, { name: "without" }]);
  });

  it("reads its own writes inside a handler", async () => {
    const { a } = await rooms();
    await a(["kvPut", "old", "committed"]);
    const [, , fresh, old, listed] = await a(["kvPut", "new", "pending"], ["kvDelete", "old"], ["kvGet", "new"], ["kvGet", "old"], ["kvList"]);
    expect([fresh, old, listed.keys]).toEqual(["pending", null, [{ name: "new" }]]);
  });

  it("refuses empty keys, keys over 512 bytes, values over 25 MiB and metadata over 1,024 bytes, writing nothing", async () => {
    const { one } = await rooms();
    await expect(one(["kvPut", "", "v"])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(one(["kvPut", "é".repeat(257), "v"])).rejects.toEqual(limitError("KV_KEY_SIZE"));
    await one(["kvPut", "é".repeat(256), "fits"]);
    await expect(one(["kvPut", "k", { not: "text" } as unknown as string])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(one(["kvPut", "k", "v", { metadata: { text: "x".repeat(1100) } }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(one(["kvFill", "k", 25 * 1024 * 1024 + 1])).rejects.toEqual(limitError("KV_VALUE_SIZE"));
    expect(await one(["kvGet", "k"])).toBeNull();
  });
});

describe("KV expiration", () => {
  it("refuses an expirationTtl below 60 seconds, or an expiration less than 60 s away, with INVALID_ARGUMENT", async () => {
    const { one } = await rooms();
    for (const ttl of [59, 30, 0, -1]) {
      await expect(one(["kvPut", "k", "v", { expirationTtl: ttl }]), `ttl ${ttl}`).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    await expect(one(["kvPut", "old", "v", { expiration: Math.floor(Date.now() / 1000) - 1 }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await one(["kvGet", "k"])).toBeNull();
  });

  it("lists the expiration of an entry", async () => {
    const { one } = await rooms();
    const at = Math.floor(Date.now() / 1000) + 3600;
    await one(["kvPut", "k", "v", { expiration: at }]);
    expect((await one(["kvList"])).keys).toEqual([{ name: "k", expiration: at }]);
  });
});

describe("KV list", () => {
  const names = ["a:1", "a:2", "a:3", "a:4", "a:5", "b:1"];

  it("filters by prefix and pages with limit and cursor, saying list_complete on the last page, even when exactly full", async () => {
    const { a, one } = await rooms();
    await a(...names.map((name) => ["kvPut", name, name] as ["kvPut", string, string]));
    expect((await one(["kvList", { prefix: "b:" }])).keys).toEqual([{ name: "b:1" }]);
    const pages: Array<{ names: string[]; complete: boolean; cursor: boolean }> = [];
    let cursor: string | undefined;
    do {
      const page = await one(["kvList", { prefix: "a:", limit: 2, ...(cursor === undefined ? {} : { cursor }) }]);
      pages.push({ names: page.keys.map((k: { name: string }) => k.name), complete: page.list_complete, cursor: page.cursor !== undefined });
      cursor = page.cursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages).toEqual([
      { names: ["a:1", "a:2"], complete: false, cursor: true },
      { names: ["a:3", "a:4"], complete: false, cursor: true },
      { names: ["a:5"], complete: true, cursor: false },
    ]);
    const full = await one(["kvList", { prefix: "a:", limit: 5 }]);
    expect([full.keys.length, full.list_complete, full.cursor]).toEqual([5, true, undefined]);
  });

  it("orders keys by code point and refuses a limit above 1,000", async () => {
    const { a, one } = await rooms();
    const ordered = ["z", "\uFFFD", "😀"];
    await a(...[...ordered].reverse().map((name) => ["kvPut", name, "v"] as ["kvPut", string, string]));
    expect((await one(["kvList"])).keys.map((k: { name: string }) => k.name)).toEqual(ordered);
    await expect(one(["kvList", { limit: 1001 }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("KV is global and part of the output gate", () => {
  it("a write acknowledged in one room is visible in another room", async () => {
    const { a, b } = await rooms();
    expect(await a(["kvPut", "shared", "from A"])).toEqual([null]);
    expect(await b(["kvGet", "shared"])).toEqual(["from A"]);
  });

  it("a handler that writes KV and then throws leaves KV unchanged", async () => {
    const { a, b } = await rooms();
    await a(["kvPut", "k", "before"]);
    await expect(a(["kvPut", "k", "after"], ["kvPut", "new", "v"], ["throw", "HANDLER_FAILS"])).rejects.toMatchObject({ code: "HANDLER_FAILS" });
    expect(await b(["kvGet", "k"], ["kvGet", "new"])).toEqual(["before", null]);
  });

  it("a handler whose commit fails leaves KV unchanged", async () => {
    const { a, b } = await rooms({ limits: { maxInstanceBytes: 20_000 } });
    await expect(a(["kvPut", "k", "from a failed commit"], ["fill", "big", 30_000])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    expect(await b(["kvGet", "k"])).toEqual([null]);
  });
});
