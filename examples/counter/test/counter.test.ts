import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";
import { servePage } from "../src/node-page.js";
import { counter } from "../src/room.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function join(server: TestServer, name: string) {
  const client = server.client("counter", "main", { params: { name } });
  const synced = new Promise((resolve) => client.once("counter:sync", resolve));
  await client.waitForConnection();
  return { client, synced: await synced };
}

describe("counter example", () => {
  it("syncs on connect, broadcasts updates and resets, validates amounts", async () => {
    t = await startTestServer({ rooms: [counter] });
    const { client: ana, synced } = await join(t, "Ana");
    expect(synced).toEqual({ count: 0, lastUpdatedBy: null });
    const { client: bo } = await join(t, "Bo");

    const update = new Promise((resolve) => bo.once("counter:update", resolve));
    expect(await ana.request("counter:increment", { amount: 5 })).toBe(5);
    expect(await update).toEqual({ count: 5, updatedBy: "Ana" });
    expect(await bo.request("counter:decrement", {})).toBe(4);
    await expect(ana.request("counter:increment", { amount: -3 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    await expect(ana.request("counter:increment", { amount: "many" })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });

    const reset = new Promise((resolve) => ana.once("counter:reset", resolve));
    expect(await bo.request("counter:reset")).toBe(0);
    expect(await reset).toEqual({ resetBy: "Bo" });
    expect(await ana.request("counter:get")).toEqual({ count: 0, lastUpdatedBy: "Bo" });
  });

  it("keeps count and lastUpdatedBy through forced hibernation and through a restart", async () => {
    const dataDir = tempDataDir();
    t = await startTestServer({ rooms: [counter], dataDir });
    const { client } = await join(t, "Ana");
    await client.request("counter:increment", { amount: 3 });

    expect(t.server.hibernate("counter", "main")).toBe(1);
    expect(t.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });
    expect(await client.request("counter:get")).toEqual({ count: 3, lastUpdatedBy: "Ana" });

    await t.close({ keepData: true });
    t = await startTestServer({ rooms: [counter], dataDir });
    const { synced } = await join(t, "Bo");
    expect(synced).toEqual({ count: 3, lastUpdatedBy: "Ana" });
  });

  it("serves the page and the browser client's modules, and nothing outside them", async () => {
    const app = servePage();
    expect((await app.request("/")).status).toBe(200);
    expect(await (await app.request("/")).text()).toContain("/cellar/client/index.js");
    const client = await app.request("/cellar/client/index.js");
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
    expect((await app.request("/cellar/../../package.json")).status).toBe(404);
    expect((await app.request("/cellar/client/index.d.ts")).status).toBe(404);
  });
});
