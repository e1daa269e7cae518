import { describe, expect, it } from "vitest";
import { useHost } from "./harness.js";

const hosts = useHost();

describe("ordering (guarantee 1)", () => {
  it("runs one event at a time in arrival order, even when a handler awaits; other instances are not blocked", async () => {
    const host = await hosts.start();
    const a = await host.connect("seq", "a");
    const b = await host.connect("seq", "b");
    let firstDone = false;
    const first = a.request("step", { n: "1", hold: "h1" }).finally(() => (firstDone = true));
    const second = a.request("step", { n: "2" });

    // Instance b answers while instance a's first handler waits at its latch.
    expect(await b.request("step", { n: "b" })).toEqual(["b"]);
    expect(firstDone).toBe(false);

    await b.request("open", "h1");
    expect(await first).toEqual(["1"]);
    expect(await second).toEqual(["1", "2"]);
    // The second event started only once the first had ended.
    expect(await a.request("log")).toEqual(["start 1", "end 1", "start 2", "end 2"]);
    expect(await b.request("log")).toEqual(["start b", "end b"]);
  });

  it("keeps each client's order when many clients interleave", async () => {
    const host = await hosts.start();
    const clients = await Promise.all([1, 2, 3].map(() => host.connect("seq", "many")));
    const sends = clients.flatMap((c, i) => Array.from({ length: 30 }, (_, j) => c.request("step", { n: `${i}:${j}` })));
    const results = (await Promise.all(sends)) as string[][];
    const final = results.reduce((longest, r) => (r.length > longest.length ? r : longest));
    expect(final).toHaveLength(90);
    for (const i of [0, 1, 2]) {
      expect(final.filter((n) => n.startsWith(`${i}:`))).toEqual(Array.from({ length: 30 }, (_, j) => `${i}:${j}`));
    }
  });
});
