import { afterEach, describe, expect, it } from "vitest";
import { defineRoom, type Alarm } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function alarmRoom() {
  const fired: Array<{ name: string; payload: unknown; late: boolean }> = [];
  const hooks: string[] = [];
  const room = defineRoom({
    name: "timer",
    state: { ticks: 0 },
    persistedKeys: ["ticks"],
    onCreate: () => void hooks.push("create"),
    onHibernationRestore: () => void hooks.push("restore"),
    async onAlarm(ctx, alarm: Alarm) {
      ctx.state.ticks++;
      fired.push({ name: alarm.name, payload: alarm.payload, late: Date.now() >= alarm.scheduledAt.getTime() });
      ctx.emit.broadcast("fired", alarm.name);
    },
  });
  room.on("after", async (ctx, data) => {
    const { ms, name, payload } = data as { ms: number; name: string; payload?: unknown };
    return ctx.schedule.after(ms, name, payload);
  });
  room.on("list", async (ctx) => (await ctx.schedule.list()).map((a) => ({ name: a.name, payload: a.payload })));
  room.on("ticks", (ctx) => ctx.state.ticks);
  return { room, fired, hooks };
}

// Alarms as clients see them (list, cancel, firing, order, retries, restarts) are in
// conformance/schedule.test.ts; waking a hibernated instance is checked here, where the
// test can hibernate one instance and watch its hooks.
describe("ctx.schedule", () => {
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
});
