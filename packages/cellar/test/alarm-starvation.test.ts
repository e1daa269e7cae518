import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { defineRoom } from "cellar";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("alarms that cannot run (their room kind was removed)", () => {
  it.each([10, 500])("%i overdue alarms that cannot be dispatched (a removed room kind) do not starve every later alarm", async (n) => {
    const dataDir = tempDataDir();
    const old = defineRoom({ name: "old", state: {}, onAlarm() {} });
    old.on("arm", async (ctx) => {
      for (let i = 0; i < n; i++) await ctx.schedule.after(300, `o${i}`);
    });
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    const fresh = defineRoom({ name: "fresh", state: {}, onAlarm: () => fire() });
    fresh.on("arm", async (ctx) => void (await ctx.schedule.after(50, "f")));

    t = await startTestServer({ rooms: [old, fresh], dataDir });
    await (await t.connect("old", "o")).request("arm");
    await t.close();
    await sleep(400); // the 500 alarms fall due while no server runs

    t = await startTestServer({ rooms: [fresh], dataDir }); // "old" was retired
    await (await t.connect("fresh", "f")).request("arm");
    await fired; // the test's timeout is the bound

  });
});
