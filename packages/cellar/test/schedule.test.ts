import { afterEach, describe, expect, it, vi } from "vitest";
import { CellarError, defineRoom, type Alarm } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function alarmRoom(failTimes = 0) {
  const fired: Array<{ name: string; payload: unknown; late: boolean }> = [];
  const hooks: string[] = [];
  let failures = 0;
  const room = defineRoom({
    name: "timer",
    state: { ticks: 0 },
    persistedKeys: ["ticks"],
    onCreate: () => void hooks.push("create"),
    onHibernationRestore: () => void hooks.push("restore"),
    async onAlarm(ctx, alarm: Alarm) {
      if (failures < failTimes) {
        failures++;
        throw new Error(`failure ${failures}`);
      }
      ctx.state.ticks++;
      fired.push({ name: alarm.name, payload: alarm.payload, late: Date.now() >= alarm.scheduledAt.getTime() });
      ctx.emit.broadcast("fired", alarm.name);
    },
  });
  room.on("after", async (ctx, data) => {
    const { ms, name, payload } = data as { ms: number; name: string; payload?: unknown };
    return ctx.schedule.after(ms, name, payload);
  });
  room.on("at", async (ctx, data) => ctx.schedule.at(new Date((data as { time: number }).time), "at"));
  room.on("cancel", async (ctx, id) => ctx.schedule.cancel(id as string));
  room.on("list", async (ctx) => (await ctx.schedule.list()).map((a) => ({ name: a.name, payload: a.payload })));
  room.on("armThenFail", async (ctx) => {
    await ctx.schedule.after(10, "never");
    throw new CellarError("CHANGED_MY_MIND", "no");
  });
  room.on("ticks", (ctx) => ctx.state.ticks);
  return { room, fired, hooks };
}

describe("ctx.schedule", () => {
  it("lists pending alarms in time order with their payloads, and cancels", async () => {
    const { room } = alarmRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "list");
    const late = await c.request("after", { ms: 60_000, name: "late", payload: { n: 2 } });
    await c.request("after", { ms: 30_000, name: "soon", payload: new Map([["k", 1]]) });
    expect(await c.request("list")).toEqual([
      { name: "soon", payload: {} },
      { name: "late", payload: { n: 2 } },
    ]);
    expect(await c.request("cancel", late)).toBe(true);
    expect(await c.request("cancel", late)).toBe(false);
    expect(await c.request("list")).toEqual([{ name: "soon", payload: {} }]);
  });

  it("fires with its payload and wakes a hibernated instance", async () => {
    const { room, fired, hooks } = alarmRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "wake");
    const heard = new Promise((resolve) => c.once("fired", resolve));
    await c.request("after", { ms: 150, name: "bell", payload: { bottle: 3 } });
    expect(t.server.hibernate("timer", "wake")).toBe(1);
    expect(await heard).toBe("bell");
    expect(hooks).toEqual(["create", "restore"]);
    expect(fired).toEqual([{ name: "bell", payload: { bottle: 3 }, late: true }]);
    expect(await c.request("list")).toEqual([]);
    expect(await c.request("ticks")).toBe(1);
  });

  it("fires an alarm set in the past at once", async () => {
    const { room } = alarmRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "past");
    const heard = new Promise((resolve) => c.once("fired", resolve));
    await c.request("at", { time: Date.now() - 60_000 });
    expect(await heard).toBe("at");
  });

  it("an alarm scheduled by a handler that fails is never created", async () => {
    const { room } = alarmRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "undo");
    await expect(c.request("armThenFail")).rejects.toMatchObject({ code: "CHANGED_MY_MIND" });
    expect(await c.request("list")).toEqual([]);
  });

  it("retries a failing onAlarm with backoff; its writes land only with the successful run", async () => {
    const { room, fired } = alarmRoom(1);
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "retry");
    await c.request("after", { ms: 0, name: "flaky" });
    await vi.waitFor(() => expect(fired).toHaveLength(1), { timeout: 5000, interval: 20 });
    expect(await c.request("ticks")).toBe(1);
    expect(await c.request("list")).toEqual([]);
  });

  it("refuses bad arguments with INVALID_ARGUMENT", async () => {
    const { room } = alarmRoom();
    t = await startTestServer({ rooms: [room] });
    const c = await t.connect("timer", "bad");
    await expect(c.request("after", { ms: -5, name: "x" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(c.request("after", { ms: 5, name: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    // JSON has no NaN: an unparsable date string makes an Invalid Date in the handler.
    await expect(c.request("at", { time: "not a date" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
