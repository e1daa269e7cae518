import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";
import { refusal, scene, watch, type Watched } from "./helpers.js";

/*
 * The tabletop on Cloudflare's runtime: src/worker.ts with wrangler.jsonc, run in workerd by
 * Miniflare. A table made over HTTP (the room's action over RPC), its scene, the host
 * leaving and coming back across a restart of workerd.
 */

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const GRACE_MS = 60_000;

let server: WorkerdServer;
beforeAll(async () => {
  // As `wrangler dev` does: build.command bundles the client into public/cellar/, and the
  // Worker runs behind the static assets, which hand room upgrades and the API to it
  // (run_worker_first). Cellar is bundled from its sources (the "source" export condition).
  server = await startWorkerdServer({
    wrangler: here("../wrangler.jsonc"),
    conditions: ["source"],
    vars: { GRACE_MS: String(GRACE_MS) },
  });
});
afterAll(() => server?.close());

async function join(tableId: string, params: Record<string, unknown> = {}): Promise<Watched> {
  const w = watch(server.client("tabletop", tableId, { params }));
  await w.client.waitForConnection();
  await w.until("table:sync");
  return w;
}

describe("tabletop example on workerd", () => {
  it("creates a table over HTTP; the scene and the host's grace window survive a restart of workerd", async () => {
    const response = await fetch(`${server.url}/api/tables`, { method: "POST" });
    expect([response.status, response.headers.get("cache-control")]).toEqual([201, "no-store"]);
    const { tableId, hostKey } = (await response.json()) as { tableId: string; hostKey: string };
    expect(hostKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const host = await join(tableId, { hostKey });
    expect(host.of("table:sync")[0]).toMatchObject({ role: "host", status: "live", version: 0 });
    const player = await join(tableId);
    expect(await host.client.request("scene:update", { baseVersion: 0, ...scene })).toEqual({ status: "applied", version: 1 });
    expect(await player.until("scene:updated")).toEqual({ version: 1, scene });
    expect(await host.client.request("scene:update", { baseVersion: 0, activeSceneId: "x" })).toMatchObject({ status: "resync", version: 1 });
    await expect(player.client.request("scene:update", { baseVersion: 1, activeSceneId: "x" })).rejects.toMatchObject({ code: "NOT_HOST" });
    expect(await refusal(watch(server.client("tabletop", tableId, { params: { hostKey: "not-the-key" } })))).toMatchObject({ code: 4403, reason: "WRONG_HOST_KEY" });

    // The host leaves: players are told, and the grace window (GRACE_MS from the Worker's vars) starts.
    const leftAt = Date.now();
    host.client.close();
    const away = await player.until("table:status", (s) => s.status === "hibernating");
    expect(away.graceEndsAt).toBeGreaterThanOrEqual(leftAt + GRACE_MS - 5_000);
    expect(away.graceEndsAt).toBeLessThanOrEqual(Date.now() + GRACE_MS);

    await server.restart();

    expect(await player.client.request("table:get")).toMatchObject({ role: "player", status: "hibernating", graceEndsAt: away.graceEndsAt, version: 1, scene });
    const back = await join(tableId, { hostKey });
    expect(back.of("table:sync")[0]).toEqual({ role: "host", status: "live", graceEndsAt: null, purgeAt: null, version: 1, scene });
    expect(await player.until("table:status", (s) => s.status === "live")).toMatchObject({ graceEndsAt: null });
  });

  it("serves the page and the bundled client from static assets", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('from "/cellar/client/index.js"');
    const client = await fetch(`${server.url}/cellar/client/index.js`);
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
  });
});
