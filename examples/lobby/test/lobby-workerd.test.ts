import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";
import type { ChatMessage, ChatRoom } from "../src/chat-store.js";
import { MAIN } from "../src/identity.js";
import { next } from "./helpers.js";

/*
 * The lobby on Cloudflare's runtime: src/worker.ts with wrangler.jsonc, run in workerd by
 * Miniflare. Both room kinds, and the HTTP API calling the lobby's actions over RPC, through
 * a restart of workerd.
 */

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

let server: WorkerdServer;
beforeAll(async () => {
  // As `wrangler dev` does: build.command bundles the client into public/cellar/, and the
  // Worker runs behind the static assets, which hand room upgrades and the API to it
  // (run_worker_first). Cellar is bundled from its sources (the "source" export condition).
  server = await startWorkerdServer({
    wrangler: here("../wrangler.jsonc"),
    conditions: ["source"],
  });
});
afterAll(() => server?.close());

async function as(kind: "lobby" | "games", name: string): Promise<CellarClient> {
  const client = server.client(kind, MAIN, { params: { name } });
  await client.waitForConnection();
  return client;
}

const api = (method: "GET" | "POST", body?: unknown) =>
  fetch(`${server.url}/api/chat-rooms`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("lobby example on workerd", () => {
  it("keeps chat rooms, members, history, games and scores through a restart of workerd", async () => {
    const [ana, bo] = [await as("lobby", "Ana"), await as("lobby", "Bo")];
    expect(await (await api("GET")).json()).toEqual({ rooms: [] });
    await ana.request("chat:create", { id: "tavern", name: "Tavern", maxParticipants: 2 });
    await ana.request("chat:join", { roomId: "tavern" });
    await bo.request("chat:join", { roomId: "tavern" });
    const boHears = next<ChatMessage>(bo, "chat:message", (m) => m.text === "first");
    await ana.request("chat:send", { roomId: "tavern", text: "first" });
    expect(await boHears).toMatchObject({ roomId: "tavern", seq: 3, from: "Ana" });

    // The API runs the lobby's create-room action in its object: connected clients hear of it.
    const announced = next<ChatRoom>(bo, "chat:room-created");
    const created = await api("POST", { id: "notice-board", name: "Notice board" });
    expect(created.status).toBe(201);
    expect(await announced).toMatchObject({ id: "notice-board", createdBy: null });
    // A CellarError keeps its code across the RPC.
    const again = await api("POST", { id: "notice-board", name: "Again" });
    expect([again.status, await again.json()]).toMatchObject([409, { error: { code: "CHAT_ROOM_EXISTS" } }]);
    expect((await api("POST", { id: "x", name: "X", maxParticipants: 0 })).status).toBe(400);

    const [anaPlays, boPlays] = [await as("games", "Ana"), await as("games", "Bo")];
    await anaPlays.request("game:create", { id: "g1", gameType: "trivia", maxPlayers: 3 });
    await boPlays.request("game:join", { gameId: "g1" });
    await anaPlays.request("game:start", { gameId: "g1" });
    await anaPlays.request("game:score", { gameId: "g1", points: 7 });
    await boPlays.request("game:score", { gameId: "g1", points: 3 });

    await server.restart();

    const cy = await as("lobby", "Cy");
    expect(await cy.request("chat:list")).toMatchObject({
      rooms: [
        { id: "tavern", memberCount: 2, createdBy: "Ana" },
        { id: "notice-board", memberCount: 0, createdBy: null },
      ],
    });
    await expect(cy.request("chat:join", { roomId: "tavern" })).rejects.toMatchObject({ code: "CHAT_ROOM_FULL" });
    const { messages } = await ana.request<{ messages: ChatMessage[] }>("chat:history", { roomId: "tavern" });
    expect(messages.map((m) => [m.seq, m.from, m.text])).toEqual([
      [1, null, "Ana joined"],
      [2, null, "Bo joined"],
      [3, "Ana", "first"],
    ]);
    expect(await boPlays.request("game:get", { gameId: "g1" })).toMatchObject({
      status: "playing",
      players: [{ userId: "Ana", score: 7 }, { userId: "Bo", score: 3 }],
    });
    expect(await (await api("GET")).json()).toMatchObject({ rooms: [{ id: "tavern" }, { id: "notice-board" }] });
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
