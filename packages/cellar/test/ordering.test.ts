// Ordering (guarantee 1) is in conformance/ordering.test.ts; group commit needs the Node host's stats.
import { afterEach, describe, expect, it } from "vitest";
import { defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
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
