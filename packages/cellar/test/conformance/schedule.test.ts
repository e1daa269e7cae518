import { describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { useHost } from "./harness.js";
import { describeValue, type Fired } from "./rooms.js";

// Durable alarms (guarantee 5), with real delays: the rooms may run in another process.

const hosts = useHost();

/** The next `count` alarms the room reports firing (replayed ones included). */
function fired(client: CellarClient, count: number, timeoutMs = 5_000): Promise<Fired[]> {
  const seen: Fired[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${seen.length} of ${count} alarms fired within ${timeoutMs} ms`)), timeoutMs);
    client.on("fired", (alarm: Fired) => {
      seen.push(alarm);
      if (seen.length === count) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe("ctx.schedule", () => {
  it("lists pending alarms in time order with their payloads, and cancels", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "list");
    const late = await c.request("after", { ms: 60_000, name: "late", payload: { n: 2 } });
    await c.request("after-map");
    const names = async () => ((await c.request("list")) as Array<{ name: string; payload: unknown }>).map(({ name, payload }) => ({ name, payload }));
    expect(await names()).toEqual([
      { name: "soon", payload: describeValue(new Map([["k", 1]])) },
      { name: "late", payload: describeValue({ n: 2 }) },
    ]);
    expect(await c.request("cancel", late)).toBe(true);
    expect(await c.request("cancel", late)).toBe(false);
    expect(await names()).toEqual([{ name: "soon", payload: describeValue(new Map([["k", 1]])) }]);
  });

  it("fires onAlarm with { id, name, payload, scheduledAt } once due, and forgets it", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "bell");
    const ringing = fired(c, 1);
    const before = Date.now();
    const id = await c.request("after", { ms: 150, name: "bell", payload: { bottle: 3 } });
    const [alarm] = await ringing;
    expect(alarm).toMatchObject({ id, name: "bell", payload: { bottle: 3 } });
    expect(alarm!.scheduledAt).toBeGreaterThanOrEqual(before + 150);
    expect(alarm!.firedAt).toBeGreaterThanOrEqual(alarm!.scheduledAt);
    expect(await c.request("list")).toEqual([]);
    expect(await c.request("fired")).toEqual([alarm]);
  });

  it("fires alarms set in the past at once, in the order of their times", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "past");
    const ringing = fired(c, 3);
    const now = Date.now();
    await c.request("at-many", [
      { time: now - 1_000, name: "third" },
      { time: now - 60_000, name: "first" },
      { time: now - 30_000, name: "second" },
    ]);
    expect((await ringing).map((a) => a.name)).toEqual(["first", "second", "third"]);
  });

  it("an alarm scheduled by a handler that fails is never created", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "undo");
    await expect(c.request("arm-then-fail")).rejects.toMatchObject({ code: "CHANGED_MY_MIND" });
    expect(await c.request("list")).toEqual([]);
  });

  it("retries an onAlarm that throws; its writes land only with the successful run", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "retry");
    const ringing = fired(c, 1);
    await c.request("arm-flaky", 100);
    const [alarm] = await ringing;
    // Due at once, it failed until 100 ms had passed: what fired was a retry.
    expect(alarm!.firedAt - alarm!.scheduledAt).toBeGreaterThanOrEqual(100);
    expect(await c.request("fired")).toEqual([alarm]);
    expect(await c.request("list")).toEqual([]);
  });

  it("refuses bad arguments with INVALID_ARGUMENT", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "bad");
    await expect(c.request("after", { ms: -5, name: "x" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(c.request("after", { ms: 5, name: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    // JSON has no NaN: an unparsable date string makes an Invalid Date in the handler.
    await expect(c.request("at", { time: "not a date" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("fires, in order, alarms that fell due across a restart", async () => {
    const host = await hosts.start();
    const c = await host.connect("timer", "restart");
    const ringing = fired(c, 3, 10_000);
    const now = Date.now();
    await c.request("at-many", [
      { time: now + 800, name: "third" },
      { time: now + 600, name: "first" },
      { time: now + 700, name: "second" },
    ]);
    await host.restart();
    // The client resumed: alarms that fired before it was back are replayed to it.
    const alarms = await ringing;
    expect(alarms.map((a) => a.name)).toEqual(["first", "second", "third"]);
    // They fired in the instance loaded after the restart (its second onCreate).
    expect(alarms.map((a) => a.loads)).toEqual([2, 2, 2]);
    expect(await c.request("hooks")).toEqual(["create", "create"]);
    expect(await c.request("list")).toEqual([]);
  });
});
