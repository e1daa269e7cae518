import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startServerProcess, startTestServer, tempDataDir, type ServerProcess } from "cellar/testing";
import { createTabletop } from "../src/room.js";
import { refusal, scene, watch, type Watched } from "./helpers.js";

/*
 * The server runs in a child process (test/fixtures/tabletop-server.ts) that is killed with
 * SIGKILL and started again on the same data directory (and port, so that clients
 * reconnect by themselves).
 */

const script = fileURLToPath(new URL("./fixtures/tabletop-server.ts", import.meta.url));

let processes: ServerProcess[] = [];
let clients: CellarClient[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  processes = [];
  clients = [];
  dirs = [];
});

async function boot(dataDir: string, env: Record<string, string>): Promise<ServerProcess> {
  const p = await startServerProcess({ script, env: { DATA_DIR: dataDir, ...env }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

async function createTable(server: ServerProcess): Promise<{ tableId: string; hostKey: string }> {
  const response = await fetch(`${server.url}/api/tables`, { method: "POST" });
  expect(response.status).toBe(201);
  return (await response.json()) as { tableId: string; hostKey: string };
}

/** A client of the table; it reconnects (and resumes) quickly when the server comes back. */
function open(server: ServerProcess, tableId: string, params: Record<string, unknown> = {}): Watched {
  const client = server.client("tabletop", tableId, { params, reconnect: { initialDelayMs: 50, maxDelayMs: 250 } });
  clients.push(client);
  return watch(client);
}

async function join(server: ServerProcess, tableId: string, params: Record<string, unknown> = {}): Promise<Watched> {
  const w = open(server, tableId, params);
  await w.until("table:sync");
  return w;
}

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

describe("tabletop across a SIGKILL", () => {
  it("keeps the scene, its version and the host key; a host lost in the crash gets a grace window and can return", async () => {
    const dir = dataDir();
    const env = { GRACE_MS: "60000", PURGE_AFTER_MS: "60000" };
    const first = await boot(dir, env);
    const { tableId, hostKey } = await createTable(first);
    const host = await join(first, tableId, { hostKey });
    await host.client.request("scene:update", { baseVersion: 0, ...scene });
    expect(await host.client.request("scene:update", { baseVersion: 1, activeSceneId: "tavern" })).toEqual({ status: "applied", version: 2 });
    const current = { ...scene, activeSceneId: "tavern" };
    await first.kill("SIGKILL");

    const second = await boot(dir, env);
    // No onDisconnect ran for the host: the table notices when it loads after the restart.
    const player = await join(second, tableId);
    const restartedAt = Date.now();
    expect(player.of("table:sync")[0]).toMatchObject({ role: "player", status: "hibernating", version: 2, scene: current });
    expect(player.of("table:sync")[0].graceEndsAt).toBeGreaterThanOrEqual(restartedAt + 60_000 - 5_000);

    const back = await join(second, tableId, { hostKey });
    expect(back.of("table:sync")[0]).toEqual({ role: "host", status: "live", graceEndsAt: null, purgeAt: null, version: 2, scene: current });
    expect(await player.until("table:status", (s) => s.status === "live")).toMatchObject({ graceEndsAt: null });
    expect(await back.client.request("scene:update", { baseVersion: 1, activeSceneId: "crypt" })).toMatchObject({ status: "resync", version: 2, scene: current });
    expect(await back.client.request("scene:update", { baseVersion: 2, activeSceneId: "crypt" })).toEqual({ status: "applied", version: 3 });
    await expect(player.client.request("scene:update", { baseVersion: 3, activeSceneId: "x" })).rejects.toMatchObject({ code: "NOT_HOST" });
    expect(await refusal(open(second, tableId, { hostKey: "not-the-key" }))).toMatchObject({ code: 4403, reason: "WRONG_HOST_KEY" });
  });

  it("runs the grace window on a durable alarm: killed during it, the restarted server abandons the table, tells players, then clears it", async () => {
    const dir = dataDir();
    const graceMs = 2500;
    const purgeAfterMs = 1000;
    const env = { GRACE_MS: String(graceMs), PURGE_AFTER_MS: String(purgeAfterMs) };
    const first = await boot(dir, env);
    const port = new URL(first.url).port;
    const { tableId, hostKey } = await createTable(first);
    const host = await join(first, tableId, { hostKey });
    await host.client.request("scene:update", { baseVersion: 0, ...scene });
    const player = await join(first, tableId);

    host.client.close();
    const away = await player.until("table:status", (s) => s.status === "hibernating");
    await first.kill("SIGKILL");
    // The first server died inside the grace window: its alarm cannot have fired there.
    expect(Date.now()).toBeLessThan(away.graceEndsAt);

    const second = await boot(dir, { ...env, PORT: port });
    // The player reconnects by itself, resumes, and is told by the restarted server.
    const abandoned = await player.until("table:status", (s) => s.status === "abandoned");
    expect(Date.now()).toBeGreaterThanOrEqual(away.graceEndsAt);
    expect(abandoned.purgeAt).toBeGreaterThanOrEqual(away.graceEndsAt + purgeAfterMs);
    expect(player.client.state).toBe("open");
    expect(player.of("table:sync")).toHaveLength(1); // it resumed: no fresh sync, the replay had it all
    expect(await player.client.request("table:get")).toMatchObject({ status: "abandoned", version: 1, scene });
    expect(await refusal(open(second, tableId, { hostKey }))).toMatchObject({ code: 4410, reason: "TABLE_ABANDONED" });

    await player.until("table:purged");
    expect(Date.now()).toBeGreaterThanOrEqual(abandoned.purgeAt);
    expect(await refusal(open(second, tableId))).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
    expect(await refusal(open(second, tableId, { hostKey }))).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
    for (const c of clients) c.close();
    await second.kill("SIGKILL");

    // On disk: nothing of the table is left, and no alarm.
    const t = await startTestServer({ rooms: [createTabletop().room], dataDir: dir });
    try {
      const left = await t.server.invoke("tabletop", tableId, async (ctx) => ({ keys: [...(await ctx.storage.list()).keys()], alarms: await ctx.schedule.list() }));
      expect(left).toEqual({ keys: [], alarms: [] });
    } finally {
      await t.close({ keepData: true });
    }
  });

  it("notices a host lost in the crash even when nobody comes back: the watch alarm starts its grace window", async () => {
    const dir = dataDir();
    const env = { GRACE_MS: "1000", PURGE_AFTER_MS: "500" };
    const first = await boot(dir, env);
    const { tableId, hostKey } = await createTable(first);
    const host = await join(first, tableId, { hostKey });
    expect(host.of("table:sync")[0]).toMatchObject({ status: "live" });
    await first.kill("SIGKILL");

    const second = await boot(dir, env);
    // Nothing connects: only the live table's durable watch alarm (due 1 s after the host
    // came) can load it, find the host gone, and start the grace window, then the purge. No
    // event can be awaited without connecting, and a connection would load the table itself,
    // so the test waits out watch + grace + purge (2.5 s at most) with a wide margin.
    await sleep(4500);
    expect(await refusal(open(second, tableId))).toMatchObject({ code: 4404, reason: "TABLE_NOT_FOUND" });
  });
});
