import { afterEach, describe, expect, it } from "vitest";
import { defineRoom } from "cellar";
import { latches } from "./helpers/latches.js";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});


describe("ordering (guarantee 1)", () => {
  const gate = latches();
  const log: string[] = [];
  const room = defineRoom({ name: "seq", state: { items: [] as string[] }, persistedKeys: ["items"] });
  room.on("step", async (ctx, data) => {
    const { n, hold } = data as { n: string; hold?: string };
    log.push(`start ${n}`);
    if (hold) await gate.wait(hold);
    await ctx.storage.put(`k${n}`, n);
    ctx.state.items = [...ctx.state.items, n];
    log.push(`end ${n}`);
    return ctx.state.items;
  });

  it("runs one event at a time in arrival order, even when a handler awaits; other rooms are not blocked", async () => {
    t = await startTestServer({ rooms: [room] });
    const a = await t.connect("seq", "a");
    const b = await t.connect("seq", "b");
    const first = a.request("step", { n: "1", hold: "h1" });
    const second = a.request("step", { n: "2" });

    // Room b answers while room a's first handler is held at its await.
    expect(await b.request("step", { n: "b" })).toEqual(["b"]);
    expect(log).toEqual(["start 1", "start b", "end b"]);

    gate.release("h1");
    expect(await first).toEqual(["1"]);
    expect(await second).toEqual(["1", "2"]);
    expect(log).toEqual(["start 1", "start b", "end b", "end 1", "start 2", "end 2"]);
  });

  it("keeps each client's order when many clients interleave", async () => {
    t = await startTestServer({ rooms: [room] });
    const clients = await Promise.all([1, 2, 3].map(() => t!.connect("seq", "many")));
    const sends = clients.flatMap((c, i) => Array.from({ length: 30 }, (_, j) => c.request("step", { n: `${i}:${j}` })));
    const results = await Promise.all(sends);
    const final = results.reduce((longest, r) => ((r as string[]).length > (longest as string[]).length ? r : longest)) as string[];
    expect(final).toHaveLength(90);
    for (const i of [0, 1, 2]) {
      const mine = final.filter((n) => n.startsWith(`${i}:`));
      expect(mine).toEqual(Array.from({ length: 30 }, (_, j) => `${i}:${j}`));
    }
  });
});

describe("group commit (guarantee 3)", () => {
  const room = defineRoom({ name: "tally", state: { n: 0 }, persistedKeys: ["n"] });
  room.on("inc", (ctx) => ++ctx.state.n);

  it("commits a burst of writes from many events and rooms in a few transactions", async () => {
    t = await startTestServer({ rooms: [room] });
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => t!.connect("tally", `r${i % 5}`)));
    // Each instance row is created on its first commit; start from warm instances.
    await Promise.all(clients.map((c) => c.request("inc")));
    const before = t.server.stats().commits;

    const burst = clients.flatMap((c) => Array.from({ length: 25 }, () => c.request("inc")));
    await Promise.all(burst);
    const after = t.server.stats().commits;

    const events = burst.length;
    const transactions = after.transactions - before.transactions;
    expect(after.writes - before.writes).toBeGreaterThan(0);
    expect(after.failures).toBe(0);
    // One transaction per turn of the event loop, not per event: 500 events, a handful of commits.
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThan(events / 10);
  });
});
