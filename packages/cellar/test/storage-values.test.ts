// Stored values as clients see them (every kind, snapshots, refusals, durability) are in
// conformance/storage.test.ts and durability.test.ts; these checks need the error object
// itself or the Node host's hibernation counts.
import { describe, expect, it } from "vitest";
import { PersistError } from "cellar";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

describe("values that cannot be stored", () => {
  it("are refused with a PersistError whose key names the storage key", async () => {
    const t = await servers.start();
    const failing = run(t, "a", (ctx) => ctx.storage.put("handler", { fn: () => 1 }));
    await expect(failing).rejects.toBeInstanceOf(PersistError);
    await expect(failing).rejects.toMatchObject({ code: "PERSIST_ERROR", key: "handler" });
    await expect(run(t, "a", (ctx) => ctx.storage.put("symbol", Symbol("s")))).rejects.toMatchObject({ key: "symbol" });
  });
});

describe("storage and hibernation", () => {
  it("does not hibernate an instance whose writes have not committed", async () => {
    const t = await servers.start();
    const writing = run(t, "a", (ctx) => ctx.storage.put("pending", 1));
    expect(t.server.hibernate("box", "a")).toBe(0);
    await writing;
    expect(t.server.hibernate("box", "a")).toBe(1);
    expect(t.server.stats().rooms.live).toBe(0);
    expect(await run(t, "a", (ctx) => ctx.storage.get("pending"))).toBe(1);
  });
});
