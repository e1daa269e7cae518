// KV as rooms see it (values, metadata, limits, list, the output gate, durability) is in
// conformance/kv.test.ts and durability.test.ts. What is left needs the Node host: other
// namespaces than "NS", server.kv, fake clocks, and values JSON cannot carry.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KvNamespace } from "cellar";
import type { TestServer } from "cellar/testing";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `fn` with namespace `name` inside instance `id`. */
const inRoom = <R>(t: TestServer, id: string, fn: (kv: KvNamespace) => Promise<R>, name = "NS") => run(t, id, (ctx) => fn(ctx.kv(name)));

describe("KV namespaces", () => {
  it("keeps namespaces apart", async () => {
    const t = await servers.start();
    await inRoom(t, "a", (kv) => kv.put("k", "in A"), "A");
    await inRoom(t, "a", (kv) => kv.put("k", "in B"), "B");
    expect(await inRoom(t, "a", (kv) => kv.get("k"), "A")).toBe("in A");
    expect(await inRoom(t, "a", (kv) => kv.get("k"), "B")).toBe("in B");
  });
});

describe("KV expiration", () => {
  it("refuses an expirationTtl of NaN (JSON cannot carry it to a conformance room) with INVALID_ARGUMENT", async () => {
    const t = await servers.start();
    await expect(inRoom(t, "a", (kv) => kv.put("k", "v", { expirationTtl: Number.NaN }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await inRoom(t, "a", (kv) => kv.get("k"))).toBeNull();
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

describe("KV is global and part of the output gate", () => {
  it("a write in a room is visible to server.kv once the handler returned", async () => {
    const t = await servers.start();
    await inRoom(t, "room-a", (kv) => kv.put("shared", "from A"));
    expect(await t.server.kv("NS").get("shared")).toBe("from A");
  });

  it("a write through server.kv is visible in rooms at once", async () => {
    const t = await servers.start();
    await t.server.kv("NS").put("outside", "v", { metadata: { by: "http" } });
    expect(await inRoom(t, "a", (kv) => kv.getWithMetadata("outside"))).toEqual({ value: "v", metadata: { by: "http" } });
    await t.server.kv("NS").delete("outside");
    expect(await inRoom(t, "a", (kv) => kv.get("outside"))).toBeNull();
  });

  it("a client's ack comes after its KV write is visible everywhere", async () => {
    const t = await servers.start();
    const client = await t.connect("box", "a");
    expect(await client.request("kv-put", { ns: "NS", key: "acked", value: "v" })).toBe(true);
    expect(await t.server.kv("NS").get("acked")).toBe("v");
  });

  it("keeps what server.kv wrote across a restart", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await first.server.kv("NS").put("outside", "w");
    await first.close();
    const second = await servers.start({ dataDir });
    expect(await inRoom(second, "b", (kv) => kv.get("outside"))).toBe("w");
  });
});
