import { afterEach, describe, expect, it, vi } from "vitest";
import type { KvNamespace } from "cellar";
import type { TestServer } from "cellar/testing";
import { expectLimit, run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `fn` with namespace `name` inside instance `id`. */
const inRoom = <R>(t: TestServer, id: string, fn: (kv: KvNamespace) => Promise<R>, name = "NS") => run(t, id, (ctx) => fn(ctx.kv(name)));

describe("KV get and put", () => {
  it("reads a value as text, JSON or an ArrayBuffer", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("doc", JSON.stringify({ n: 1, s: "é😀" })));
    const read = await inRoom(t, "a", async (kv) => ({
      text: await kv.get("doc"),
      textObject: await kv.get("doc", { type: "text" }),
      json: await kv.get("doc", "json"),
      bytes: new TextDecoder().decode((await kv.get("doc", "arrayBuffer"))!),
      missing: await kv.get("missing"),
    }));
    expect(read).toEqual({
      text: '{"n":1,"s":"é😀"}',
      textObject: '{"n":1,"s":"é😀"}',
      json: { n: 1, s: "é😀" },
      bytes: '{"n":1,"s":"é😀"}',
      missing: null,
    });
  });

  it("stores binary values", async () => {
    const t = await servers.start();
    await inRoom(t, "a", async (kv) => {
      await kv.put("buffer", new Uint8Array([0, 1, 255]).buffer);
      await kv.put("view", new Uint8Array([9, 8, 7, 6]).subarray(1, 3));
    });
    const read = await inRoom(t, "a", async (kv) => [
      [...new Uint8Array((await kv.get("buffer", "arrayBuffer"))!)],
      [...new Uint8Array((await kv.get("view", "arrayBuffer"))!)],
    ]);
    expect(read).toEqual([
      [0, 1, 255],
      [8, 7],
    ]);
  });

  it("returns metadata with getWithMetadata and list", async () => {
    const t = await servers.start();
    await inRoom(t, "a", async (kv) => {
      await kv.put("with", "v1", { metadata: { owner: "ann", tags: [1, 2] } });
      await kv.put("without", "v2");
    });
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("with"))).toEqual({ value: "v1", metadata: { owner: "ann", tags: [1, 2] } });
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("with", "json").catch((e) => e.code))).toBe("INVALID_ARGUMENT");
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("without"))).toEqual({ value: "v2", metadata: null });
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("missing"))).toEqual({ value: null, metadata: null });
    expect((await inRoom(t, "a", (kv) => kv.list())).keys).toEqual([{ name: "with", metadata: { owner: "ann", tags: [1, 2] } }, { name: "without" }]);
  });

  it("deletes a key", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("k", "v"));
    await inRoom(t, "a", (kv) => kv.delete("k"));
    expect(await inRoom(t, "a", (kv) => kv.get("k"))).toBeNull();
  });

  it("reads its own writes inside a handler", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("old", "committed"));
    const seen = await inRoom(t, "a", async (kv) => {
      await kv.put("new", "pending");
      await kv.delete("old");
      return [await kv.get("new"), await kv.get("old"), (await kv.list()).keys.map((k) => k.name)];
    });
    expect(seen).toEqual(["pending", null, ["new"]]);
  });

  it("keeps namespaces apart", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("k", "in A"), "A");
    await inRoom(t, "a", (kv) => kv.put("k", "in B"), "B");
    expect(await inRoom(t, "a", (kv) => kv.get("k"), "A")).toBe("in A");
    expect(await inRoom(t, "a", (kv) => kv.get("k"), "B")).toBe("in B");
  });

  it("refuses empty keys, keys over 512 bytes and values that are not strings or bytes", async () => {
    const t = await servers.start();
    await expect(inRoom(t, "a", (kv) => kv.put("", "v"))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expectLimit(inRoom(t, "a", (kv) => kv.put("é".repeat(257), "v")), "KV_KEY_SIZE");
    await inRoom(t, "a", (kv) => kv.put("é".repeat(256), "fits"));
    await expect(inRoom(t, "a", (kv) => kv.put("k", { not: "text" } as unknown as string))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("refuses metadata over 1,024 bytes and values over 25 MiB, writing nothing", async () => {
    const t = await servers.start();
    const metadata = { text: "x".repeat(1100) };
    await expect(inRoom(t, "a", (kv) => kv.put("k", "v", { metadata }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expectLimit(inRoom(t, "a", (kv) => kv.put("k", "x".repeat(25 * 1024 * 1024 + 1))), "KV_VALUE_SIZE");
    expect(await t.server.kv("NS").get("k")).toBeNull();
  });
});

describe("KV expiration", () => {
  it("refuses an expirationTtl below 60 seconds with INVALID_ARGUMENT", async () => {
    const t = await servers.start();
    for (const ttl of [59, 0, -1, Number.NaN]) {
      await expect(inRoom(t, "a", (kv) => kv.put("k", "v", { expirationTtl: ttl }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    expect(await inRoom(t, "a", (kv) => kv.get("k"))).toBeNull();
    const client = await t.connect("box", "a");
    await expect(client.request("kv-put", { ns: "NS", key: "k", value: "v", ttl: 30 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("takes an absolute expiration at least 60 seconds away", async () => {
    const t = await servers.start();
    const at = Math.floor(Date.now() / 1000) + 3600;
    await inRoom(t, "a", (kv) => kv.put("k", "v", { expiration: at }));
    expect((await inRoom(t, "a", (kv) => kv.list())).keys).toEqual([{ name: "k", expiration: at }]);
    const past = Math.floor(Date.now() / 1000) - 1;
    await expect(inRoom(t, "a", (kv) => kv.put("old", "v", { expiration: past }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("lists the expiration and hides the entry once it has passed", async () => {
    const t = await servers.start();
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    await inRoom(t, "a", (kv) => kv.put("short", "v", { expirationTtl: 60 }));
    await inRoom(t, "a", (kv) => kv.put("long", "v", { expirationTtl: 3600 }));
    const listed = await inRoom(t, "a", (kv) => kv.list());
    expect(listed.keys).toEqual([
      { name: "long", expiration: Math.floor((start + 3_600_000) / 1000) },
      { name: "short", expiration: Math.floor((start + 60_000) / 1000) },
    ]);
    vi.setSystemTime(start + 61_000);
    expect(await inRoom(t, "a", (kv) => kv.get("short"))).toBeNull();
    expect(await t.server.kv("NS").get("short")).toBeNull();
    expect((await inRoom(t, "a", (kv) => kv.list())).keys.map((k) => k.name)).toEqual(["long"]);
  });
});

describe("KV list", () => {
  const names = ["a:1", "a:2", "a:3", "a:4", "a:5", "b:1"];

  it("filters by prefix and pages with limit and cursor", async () => {
    const t = await servers.start();
    await inRoom(t, "a", async (kv) => {
      for (const name of names) await kv.put(name, name);
    });
    expect((await inRoom(t, "a", (kv) => kv.list({ prefix: "b:" }))).keys).toEqual([{ name: "b:1" }]);
    const pages: Array<{ names: string[]; complete: boolean; cursor: boolean }> = [];
    let cursor: string | undefined;
    do {
      const page = await inRoom(t, "a", (kv) => kv.list({ prefix: "a:", limit: 2, cursor }));
      pages.push({ names: page.keys.map((k) => k.name), complete: page.list_complete, cursor: page.cursor !== undefined });
      cursor = page.cursor;
    } while (cursor !== undefined && pages.length < 10);
    expect(pages).toEqual([
      { names: ["a:1", "a:2"], complete: false, cursor: true },
      { names: ["a:3", "a:4"], complete: false, cursor: true },
      { names: ["a:5"], complete: true, cursor: false },
    ]);
  });

  it("says list_complete when the last page is exactly full", async () => {
    const t = await servers.start();
    await inRoom(t, "a", async (kv) => {
      for (const name of names) await kv.put(name, name);
    });
    const page = await inRoom(t, "a", (kv) => kv.list({ prefix: "a:", limit: 5 }));
    expect([page.keys.length, page.list_complete, page.cursor]).toEqual([5, true, undefined]);
  });

  it("orders keys by code point", async () => {
    const t = await servers.start();
    const ordered = ["z", "\uFFFD", "😀"];
    await inRoom(t, "a", async (kv) => {
      for (const name of [...ordered].reverse()) await kv.put(name, "v");
    });
    expect((await t.server.kv("NS").list()).keys.map((k) => k.name)).toEqual(ordered);
  });

  it("refuses a limit above 1,000", async () => {
    const t = await servers.start();
    await expect(inRoom(t, "a", (kv) => kv.list({ limit: 1001 }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("KV is global and part of the output gate", () => {
  it("a write in one room is visible in another room and to server.kv once the handler returned", async () => {
    const t = await servers.start();
    await inRoom(t, "room-a", (kv) => kv.put("shared", "from A"));
    expect(await inRoom(t, "room-b", (kv) => kv.get("shared"))).toBe("from A");
    expect(await t.server.kv("NS").get("shared")).toBe("from A");
  });

  it("a write through server.kv is visible in rooms at once", async () => {
    const t = await servers.start();
    await t.server.kv("NS").put("outside", "v", { metadata: { by: "http" } });
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("outside"))).toEqual({ value: "v", metadata: { by: "http" } });
    await t.server.kv("NS").delete("outside");
    expect(await inRoom(t, "a", (kv) => kv.get("outside"))).toBeNull();
  });

  it("a handler that writes KV and then throws leaves KV unchanged", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("k", "before"));
    const failing = inRoom(t, "a", async (kv) => {
      await kv.put("k", "after");
      await kv.put("new", "v");
      throw new Error("handler fails");
    });
    await expect(failing).rejects.toThrow("handler fails");
    expect(await t.server.kv("NS").get("k")).toBe("before");
    expect(await inRoom(t, "b", (kv) => kv.get("new"))).toBeNull();
  });

  it("a handler whose commit fails leaves KV unchanged", async () => {
    const t = await servers.start({ limits: { maxInstanceBytes: 20_000 } });
    const over = run(t, "a", async (ctx) => {
      await ctx.kv("NS").put("k", "from a failed commit");
      await ctx.storage.put("big", "x".repeat(30_000));
    });
    await expectLimit(over, "INSTANCE_SIZE");
    expect(await t.server.kv("NS").get("k")).toBeNull();
  });

  it("commits KV written by a handler that also ran SQL", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await run(first, "a", async (ctx) => {
      ctx.storage.sql.exec("CREATE TABLE t (x)");
      await ctx.kv("NS").put("with-sql", "v");
    });
    expect(await first.server.kv("NS").get("with-sql")).toBe("v");
    await first.close();
    const second = await servers.start({ dataDir });
    expect(await second.server.kv("NS").get("with-sql")).toBe("v");
  });

  it("a client's ack comes after its KV write is visible everywhere", async () => {
    const t = await servers.start();
    const client = await t.connect("box", "a");
    expect(await client.request("kv-put", { ns: "NS", key: "acked", value: "v" })).toBe(true);
    expect(await t.server.kv("NS").get("acked")).toBe("v");
  });

  it("keeps KV across a restart", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await inRoom(first, "a", (kv) => kv.put("room", "v", { metadata: { m: 1 } }));
    await first.server.kv("NS").put("outside", "w");
    await first.close();
    const second = await servers.start({ dataDir });
    expect(await second.server.kv("NS").getWithMetadata("room")).toEqual({ value: "v", metadata: { m: 1 } });
    expect(await inRoom(second, "b", (kv) => kv.get("outside"))).toBe("w");
  });
});
