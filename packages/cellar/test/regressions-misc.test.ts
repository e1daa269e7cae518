import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { CellarError, defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function countingLogger() {
  const errors: string[] = [];
  const noop = () => {};
  return { errors, logger: { error: (_f: object, m: string) => void errors.push(m), warn: noop, info: noop, debug: noop, child: () => countingLogger().logger } };
}

describe("logging a client can drive (guarantee 7, operations.md 'at most 10 lines a minute')", () => {
  it("commit failures a client provokes (a full instance) are throttled in the log", async () => {
    const { errors, logger } = countingLogger();
    const r = defineRoom({ name: "full", state: { n: 0 }, persistedKeys: ["n"] });
    r.on("warm", async (ctx) => void (await ctx.storage.put("w", 1)));
    r.on("post", async (ctx, i) => {
      ctx.state.n++;
      await ctx.storage.put(`m${i}`, "x".repeat(5000));
    });
    t = await startTestServer({ rooms: [r], limits: { maxInstanceBytes: 4096 }, logger: logger as never });
    const c = await t.connect("full", "f");
    await c.request("warm"); // creates the instance row (see review-commit.test.ts for why)
    const codes: unknown[] = [];
    for (let i = 0; i < 50; i++) codes.push(await c.request("post", i).catch((e: CellarError) => e.code));
    expect(codes.every((code) => code === "STORAGE_LIMIT")).toBe(true);
    expect(errors.length).toBeLessThanOrEqual(11);
  });
});

describe("onAlarm whose commit fails every time", () => {
  it("is not retried forever at 1 Hz (docs: dropped after the sixth failure)", async () => {
    let runs = 0;
    const r = defineRoom({
      name: "alfull",
      state: {},
      async onAlarm(ctx) {
        runs++;
        await ctx.storage.put("big", "x".repeat(5000));
      },
    });
    r.on("arm", async (ctx) => void (await ctx.schedule.after(0, "a")));
    t = await startTestServer({ rooms: [r], limits: { maxInstanceBytes: 4096 } });
    const c = await t.connect("alfull", "a");
    await c.request("arm");
    await sleep(8_000);
    expect(runs).toBeLessThanOrEqual(6);
  }, 20_000);
});

describe("a handler that throws", () => {
  it("undoes its channel joins (non-persisted state is scratch: it is not rolled back)", async () => {
    const r = defineRoom({ name: "undo", state: { scratch: 0 } });
    r.on("join", (ctx) => void ctx.connection!.join("base"));
    r.on("fail", (ctx) => {
      ctx.state.scratch = 99;
      ctx.connection!.join("vip");
      ctx.connection!.leave("base");
      throw new CellarError("NOPE", "no");
    });
    r.on("peek", (ctx) => ({ scratch: ctx.state.scratch, channels: [...ctx.connection!.channels] }));
    t = await startTestServer({ rooms: [r] });
    const c = await t.connect("undo", "u");
    await c.request("join");
    await c.request("fail").catch(() => undefined);
    expect(await c.request("peek")).toEqual({ scratch: 99, channels: ["base"] });
  });
});
