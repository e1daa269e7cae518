// The storage API as clients see it is in conformance/storage*.test.ts. These tests run
// handlers in the same turn (server.invoke) to read writes that have not committed yet.
import { describe, expect, it } from "vitest";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

describe("read-your-writes across handlers", () => {
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
});
