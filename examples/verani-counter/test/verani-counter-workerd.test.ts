import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { WebSocketConstructor } from "cellar/client";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";
import { VeraniClient } from "cellar/verani/client";

/*
 * Verani's counter on Cloudflare's runtime: src/worker.ts with wrangler.jsonc, in workerd
 * through Miniflare, reached at the room's own path (/ws/counter, the instance "default").
 */

let server: WorkerdServer;
const clients: VeraniClient[] = [];
beforeAll(async () => {
  server = await startWorkerdServer({ wrangler: fileURLToPath(new URL("../wrangler.jsonc", import.meta.url)), conditions: ["source"] });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

function connect(userId: string): { client: VeraniClient; next: (event: string) => Promise<any> } {
  const client = new VeraniClient(`${server.url.replace(/^http/, "ws")}/ws/counter?userId=${userId}`, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  clients.push(client);
  return { client, next: (event) => new Promise((resolve) => client.once(event, resolve)) };
}

describe("Verani's counter on workerd", () => {
  it("counts and broadcasts; the count survives a restart of workerd", async () => {
    const ana = connect("ana");
    const synced = ana.next("counter:sync");
    await ana.client.waitForConnection();
    expect(await synced).toEqual({ count: 0, lastUpdatedBy: null });

    const updated = ana.next("counter:update");
    ana.client.emit("counter:increment", { amount: 4 });
    expect(await updated).toEqual({ count: 4, updatedBy: "ana" });

    await server.restart();
    const bo = connect("bo");
    expect(await bo.next("counter:sync")).toEqual({ count: 4, lastUpdatedBy: "ana" });
  });
});
