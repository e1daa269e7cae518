import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";

/*
 * The counter on Cloudflare's runtime: src/worker.ts with wrangler.jsonc, run in workerd by
 * Miniflare, with the page and the client as static assets.
 */

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

let server: WorkerdServer;
beforeAll(async () => {
  // As `wrangler dev` does: build.command bundles the client into public/cellar/, and the
  // Worker runs behind the static assets, which hand room upgrades to it
  // (run_worker_first). Cellar is bundled from its sources (the "source" export condition).
  server = await startWorkerdServer({
    wrangler: here("../wrangler.jsonc"),
    conditions: ["source"],
  });
});
afterAll(() => server?.close());

async function join(name: string): Promise<{ client: CellarClient; synced: unknown }> {
  const client = server.client("counter", "main", { params: { name } });
  const synced = new Promise((resolve) => client.once("counter:sync", resolve));
  await client.waitForConnection();
  return { client, synced: await synced };
}

describe("counter example on workerd", () => {
  it("counts, broadcasts and resets; the count survives a restart of workerd", async () => {
    const { client: ana, synced } = await join("Ana");
    expect(synced).toEqual({ count: 0, lastUpdatedBy: null });
    const { client: bo } = await join("Bo");

    const update = new Promise((resolve) => bo.once("counter:update", resolve));
    expect(await ana.request("counter:increment", { amount: 5 })).toBe(5);
    expect(await update).toEqual({ count: 5, updatedBy: "Ana" });
    const reset = new Promise((resolve) => ana.once("counter:reset", resolve));
    expect(await bo.request("counter:reset")).toBe(0);
    expect(await reset).toEqual({ resetBy: "Bo" });
    expect(await bo.request("counter:decrement", { amount: 2 })).toBe(-2);
    await expect(ana.request("counter:increment", { amount: -3 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });

    const resumed = new Promise((resolve) => ana.once("$resumed", resolve));
    await server.restart();
    await resumed;
    expect(await ana.request("counter:get")).toEqual({ count: -2, lastUpdatedBy: "Bo" });
    expect((await join("Cy")).synced).toEqual({ count: -2, lastUpdatedBy: "Bo" });
  });

  it("serves the page and the bundled client from static assets", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('from "/cellar/client/index.js"');
    const client = await fetch(`${server.url}/cellar/client/index.js`);
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
    expect(await client.text()).toMatch(/export\s*{[^}]*CellarClient/);
    // A room path goes past the assets to the Worker, which wants a WebSocket upgrade.
    expect((await fetch(`${server.url}/rooms/counter/main`)).status).toBe(426);
  });
});
