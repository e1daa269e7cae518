import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import type { RoomContext } from "cellar";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import { startTcpProxy, startTestServer, type TcpProxy, type TestServer } from "cellar/testing";
import { createApp } from "../src/app.js";
import { servePage } from "../src/node-page.js";
import { createTabletop, type TabletopOptions } from "../src/room.js";
import { refusal, scene, watch, type Watched } from "./helpers.js";

const WS = WebSocket as unknown as WebSocketConstructor;

let t: TestServer | undefined;
let proxy: TcpProxy | undefined;
let clients: CellarClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await t?.close();
  await proxy?.close();
  t = proxy = undefined;
  clients = [];
});

/** A server with the page and the API, and one table on it. */
async function serve(options: TabletopOptions = {}) {
  const tabletop = createTabletop(options);
  t = await startTestServer({ rooms: [tabletop.room], http: servePage(createApp(tabletop, () => t!.server)) });
  const server = t;
  const { tableId, hostKey } = await tabletop.createTable(server.server);
  /** Opens a client of the table (a host when given the key) and waits for its `table:sync`. */
  const join = async (params: Record<string, unknown> = {}, options: ClientOptions = {}): Promise<Watched> => {
    const w = watch(server.client("tabletop", tableId, { params, ...options }));
    await w.client.waitForConnection();
    await w.until("table:sync");
    return w;
  };
  /** A client whose connection should be refused, and the close it got. */
  const refused = (params: Record<string, unknown>, id = tableId) => refusal(watch(server.client("tabletop", id, { params })));
  const inRoom = <R>(fn: (ctx: RoomContext<any>) => R | Promise<R>) => server.server.invoke("tabletop", tableId, fn);
  const alarms = async () => (await inRoom((ctx) => ctx.schedule.list())).map((a) => a.name);
  /** Waits until the room has `n` open connections (a closed one is no longer listed). */
  const connections = (n: number) =>
    vi.waitFor(async () => expect(await inRoom((ctx) => ctx.room.connections().length)).toBe(n), { timeout: 10_000, interval: 20 });
  return { server, tableId, hostKey, join, refused, inRoom, alarms, connections };
}

describe("tabletop: roles and the scene", () => {
  it("creates tables over HTTP with a 256-bit host key; the key, not a flag, makes the host; players cannot update", async () => {
    const { server, join, refused, hostKey } = await serve();
    const response = await fetch(`${server.url}/api/tables`, { method: "POST" });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const created = (await response.json()) as { tableId: string; hostKey: string };
    expect(created.hostKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(created.hostKey, "base64url")).toHaveLength(32);
    expect(created.hostKey).not.toBe(hostKey);

    const host = await join({ hostKey });
    expect(host.of("table:sync")[0]).toEqual({ role: "host", status: "live", graceEndsAt: null, purgeAt: null, version: 0, scene: { characters: [], initiative: [], activeSceneId: null } });
    // Params that look like a host flag make no one a host.
    const player = await join({ role: "host", host: true, isHost: "1" });
    expect(player.of("table:sync")[0]).toMatchObject({ role: "player", status: "live", version: 0 });

    const { conditions: _, ...goblinWithoutConditions } = scene.characters[1]!;
    const update = { baseVersion: 0, ...scene, characters: [scene.characters[0]!, goblinWithoutConditions] };
    expect(await host.client.request("scene:update", update)).toEqual({ status: "applied", version: 1 });
    // The goblin's conditions default to [].
    expect(await player.until("scene:updated")).toEqual({ version: 1, scene });

    await expect(player.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).rejects.toMatchObject({ code: "NOT_HOST" });
    expect(await player.client.request("table:get")).toMatchObject({ role: "player", version: 1, scene });

    expect(await refused({ hostKey: hostKey.slice(0, -1) + (hostKey.endsWith("A") ? "B" : "A") })).toMatchObject({ code: 4403, reason: "WRONG_HOST_KEY", final: true });
    expect(await refused({ hostKey: created.hostKey })).toMatchObject({ code: 4403, reason: "WRONG_HOST_KEY" });
    expect(await refused({}, "no-such-table")).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
  });

  it("answers a stale update with a resync carrying the current scene, and refuses scenes that do not hold together", async () => {
    const { join, hostKey, inRoom, connections } = await serve();
    const tabA = await join({ hostKey });
    const tabB = await join({ hostKey });
    const player = await join();
    expect(await tabA.client.request("scene:update", { baseVersion: 0, ...scene })).toEqual({ status: "applied", version: 1 });

    // Tab B still holds version 0.
    const stale = { baseVersion: 0, activeSceneId: "tavern" };
    expect(await tabB.client.request("scene:update", stale)).toEqual({ status: "resync", version: 1, scene });
    expect(await tabB.until("scene:resync")).toEqual({ version: 1, scene });
    expect(await tabB.client.request("scene:update", { baseVersion: 5, activeSceneId: "tavern" })).toMatchObject({ status: "resync", version: 1 });
    expect(await player.client.request("table:get")).toMatchObject({ version: 1, scene });
    expect(await tabB.client.request("scene:update", { ...stale, baseVersion: 1 })).toEqual({ status: "applied", version: 2 });
    expect(await player.until("scene:updated", (u) => u.version === 2)).toEqual({ version: 2, scene: { ...scene, activeSceneId: "tavern" } });

    const code = (data: unknown) => tabA.client.request("scene:update", data).catch((e: { code: string; message: string }) => `${e.code}: ${e.message}`);
    expect(await code({ baseVersion: 2, initiative: ["ana", "nobody"] })).toMatch(/^INVALID_SCENE: .*"nobody"/);
    expect(await code({ baseVersion: 2, initiative: ["ana", "ana"] })).toMatch(/^INVALID_SCENE: .*twice/);
    expect(await code({ baseVersion: 2, characters: [scene.characters[0], scene.characters[0]] })).toMatch(/^INVALID_SCENE: .*"ana"/);
    // Removing a character that still acts in the initiative order is refused too.
    expect(await code({ baseVersion: 2, characters: [scene.characters[0]] })).toMatch(/^INVALID_SCENE: .*"gob"/);
    expect(await code({ baseVersion: 2 })).toMatch(/^INVALID_PAYLOAD: .*at least one/);
    expect(await code({ baseVersion: 2, initative: [] })).toMatch(/^INVALID_PAYLOAD: .*initative/);
    expect(await code({ baseVersion: 2, characters: [{ ...scene.characters[0], hp: "lots" }] })).toMatch(/^INVALID_PAYLOAD: .*characters\.0\.hp/);
    expect(await code({ baseVersion: -1, activeSceneId: "x" })).toMatch(/^INVALID_PAYLOAD: .*baseVersion/);
    expect(await code(null)).toMatch(/^INVALID_PAYLOAD/);
    expect(await player.client.request("table:get")).toMatchObject({ version: 2 });

    // One host tab closing leaves the table live while another is connected.
    tabB.client.close();
    // Once the room lists 2 connections, tab B's disconnect is queued: the next call runs after it.
    await connections(2);
    expect(await inRoom(async (ctx) => (await ctx.storage.get<{ status: string }>("table"))?.status)).toBe("live");
    expect(player.of("table:status")).toEqual([]);
  });

  it("keeps the scene, its version and who is host through a forced hibernation", async () => {
    const { server, tableId, join, hostKey } = await serve();
    const host = await join({ hostKey });
    const player = await join();
    await host.client.request("scene:update", { baseVersion: 0, ...scene });

    expect(server.server.hibernate("tabletop", tableId)).toBe(1);
    expect(server.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });
    expect(await player.client.request("table:get")).toEqual({ role: "player", status: "live", graceEndsAt: null, purgeAt: null, version: 1, scene });
    expect(server.server.hibernate("tabletop", tableId)).toBe(1);
    expect(await host.client.request("scene:update", { baseVersion: 0, activeSceneId: "tavern" })).toMatchObject({ status: "resync", version: 1, scene });
    expect(server.server.hibernate("tabletop", tableId)).toBe(1);
    await expect(player.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).rejects.toMatchObject({ code: "NOT_HOST" });
    expect(await host.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).toEqual({ status: "applied", version: 2 });
    const latecomer = await join();
    expect(latecomer.of("table:sync")[0]).toMatchObject({ version: 2, scene: { ...scene, activeSceneId: "tavern" } });
  });

  it("rejects invalid timings, naming the option", () => {
    for (const graceMs of [0, -1, 1.5, Number.NaN, "600000" as unknown as number]) {
      expect(() => createTabletop({ graceMs })).toThrow(/graceMs must be a whole number of milliseconds from 1/);
    }
    expect(() => createTabletop({ purgeAfterMs: 0 })).toThrow(/purgeAfterMs/);
    expect(createTabletop().timing).toEqual({ graceMs: 600_000, purgeAfterMs: 3_600_000 });
  });
});

describe("tabletop: the host leaving", () => {
  it("tells players when the host leaves; they keep the scene; a host back in time cancels abandonment and gets the scene", async () => {
    const { join, hostKey, alarms } = await serve({ graceMs: 60_000 });
    const host = await join({ hostKey });
    const player = await join();
    await host.client.request("scene:update", { baseVersion: 0, ...scene });

    const leftAt = Date.now();
    host.client.close();
    const away = await player.until("table:status");
    expect(away).toMatchObject({ status: "hibernating", purgeAt: null });
    expect(away.graceEndsAt).toBeGreaterThanOrEqual(leftAt + 60_000);
    expect(away.graceEndsAt).toBeLessThan(Date.now() + 60_000 + 1000);
    expect(await alarms()).toEqual(["host:grace"]);

    expect(await player.client.request("table:get")).toMatchObject({ status: "hibernating", version: 1, scene });
    const latecomer = await join();
    expect(latecomer.of("table:sync")[0]).toMatchObject({ role: "player", status: "hibernating", graceEndsAt: away.graceEndsAt, version: 1, scene });

    const back = await join({ hostKey });
    expect(back.of("table:sync")[0]).toEqual({ role: "host", status: "live", graceEndsAt: null, purgeAt: null, version: 1, scene });
    expect(await player.until("table:status", (s) => s.status === "live")).toEqual({ status: "live", graceEndsAt: null, purgeAt: null });
    // The grace alarm is cancelled; only the watch over the live table is pending.
    expect(await alarms()).toEqual(["host:check"]);
    expect(await back.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).toEqual({ status: "applied", version: 2 });
  });

  it("abandons the table after the grace window, even while Cellar has it hibernated, then clears its storage", async () => {
    const { server, tableId, join, hostKey, refused, inRoom, alarms } = await serve({ graceMs: 500, purgeAfterMs: 1500 });
    const host = await join({ hostKey });
    const player = await join();
    await host.client.request("scene:update", { baseVersion: 0, ...scene });
    host.client.close();
    const away = await player.until("table:status", (s) => s.status === "hibernating");

    // The room leaves memory; the grace alarm has to wake it.
    expect(server.server.hibernate("tabletop", tableId)).toBe(1);
    expect(server.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });

    const abandoned = await player.until("table:status", (s) => s.status === "abandoned");
    const abandonedAt = Date.now();
    expect(abandonedAt).toBeGreaterThanOrEqual(away.graceEndsAt);
    expect(abandoned).toMatchObject({ graceEndsAt: null });
    expect(abandoned.purgeAt).toBeGreaterThanOrEqual(away.graceEndsAt + 1500);

    // The host is too late; players may still look at the last scene until the purge.
    expect(await refused({ hostKey })).toMatchObject({ code: 4410, reason: "TABLE_ABANDONED", final: true });
    expect(await player.client.request("table:get")).toMatchObject({ status: "abandoned", version: 1, scene });
    expect(await alarms()).toEqual(["table:purge"]);

    await player.until("table:purged");
    expect(Date.now()).toBeGreaterThanOrEqual(abandoned.purgeAt);
    const left = await inRoom(async (ctx) => ({ keys: [...(await ctx.storage.list()).keys()], alarms: await ctx.schedule.list() }));
    expect(left).toEqual({ keys: [], alarms: [] });
    await expect(player.client.request("table:get")).rejects.toMatchObject({ code: "TABLE_NOT_FOUND" });
    expect(await refused({})).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
    expect(await refused({ hostKey })).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
  });

  it("treats a host whose connection drops and resumes like a returning host", async () => {
    const { server, tableId, join, hostKey, alarms } = await serve({ graceMs: 60_000 });
    // Before its host first comes, a new table is waiting (for one grace window, too).
    const player = await join();
    expect(player.of("table:sync")[0]).toMatchObject({ status: "waiting", graceEndsAt: expect.any(Number), version: 0 });
    expect(await alarms()).toEqual(["host:grace"]);
    // The host goes through a proxy, so that its network can be cut.
    proxy = await startTcpProxy(server.server.port);
    const url = proxy.via(server.server.roomUrl("tabletop", tableId));
    const host = watch(new CellarClient(url, { WebSocket: WS, params: { hostKey }, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } }));
    clients.push(host.client);
    await host.until("table:sync");
    await host.client.request("scene:update", { baseVersion: 0, ...scene });
    const session = host.client.connectionId;

    proxy.sever();
    await host.until("$resumed");
    expect(host.client.connectionId).toBe(session);
    // Its disconnect opened a grace window, which its resume closed.
    expect(await player.until("table:status", (s) => s.status === "live")).toMatchObject({ graceEndsAt: null });
    expect(player.of("table:status").map((s) => s.status)).toEqual(["live", "hibernating", "live"]);
    await vi.waitFor(() => expect(host.of("table:sync")).toHaveLength(2));
    expect(host.of("table:sync")[1]).toEqual({ role: "host", status: "live", graceEndsAt: null, purgeAt: null, version: 1, scene });
    expect(await alarms()).toEqual(["host:check"]);
    expect(await host.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).toEqual({ status: "applied", version: 2 });
  });
});

describe("tabletop: the page", () => {
  it("serves the page and the browser client's modules, and nothing outside them", async () => {
    const app = servePage();
    const page = await app.request("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/cellar/client/index.js");
    const client = await app.request("/cellar/client/index.js");
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
    expect((await app.request("/cellar/../../package.json")).status).toBe(404);
    expect((await app.request("/cellar/client/index.d.ts")).status).toBe(404);
  });
});
