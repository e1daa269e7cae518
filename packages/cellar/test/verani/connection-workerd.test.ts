import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";
import { Clients } from "./helpers.js";

/*
 * The same per-user connection (fixtures/user-connection.ts) on Cloudflare's runtime:
 * `createConnectionHandler` and `createRoomHandler` give Durable Object classes, which a
 * Verani Worker (fixtures/user-worker.ts) exports and routes to, in workerd via Miniflare.
 */

const EVENTS = ["welcome", "message", "profile", "notes"];
const clients = new Clients();
let server: WorkerdServer;

beforeAll(async () => {
  server = await startWorkerdServer({
    entry: fileURLToPath(new URL("./fixtures/user-worker.ts", import.meta.url)),
    durableObjects: { UserConnection: "UserConnection", ChatRoom: "ChatRoom" },
    conditions: ["source"],
  });
});
afterAll(async () => {
  clients.closeAll();
  await server?.close();
});

describe("Verani's defineConnection on workerd", () => {
  it("keeps each user's state and storage in their own object, relays the room, and survives a restart", async () => {
    const ana = clients.make(server.url, "/ws?userId=ana", EVENTS);
    const bo = clients.make(server.url, "/ws?userId=bo", EVENTS);
    expect(await ana.next("welcome")).toEqual({ messageCount: 0, theme: "dark" });
    await bo.next("welcome");

    ana.client.emit("message", { text: "hello" });
    expect(await bo.next("message")).toEqual({ from: "ana", text: "hello", messageNumber: 1 });
    ana.client.emit("note:save", { id: "1", text: "mine" });
    ana.client.emit("notes:list", {});
    expect(await ana.next("notes")).toEqual({ notes: [["note:1", "mine", true]], history: ["note:save 1"], balances: {} });
    bo.client.emit("notes:list", {});
    expect(await bo.next("notes")).toEqual({ notes: [], history: [], balances: {} });

    clients.closeAll();
    await server.restart();
    const again = clients.make(server.url, "/ws?userId=ana", EVENTS);
    const bo2 = clients.make(server.url, "/ws?userId=bo", EVENTS);
    expect(await again.next("welcome")).toEqual({ messageCount: 1, theme: "dark" });
    await bo2.next("welcome");
    again.client.emit("message", { text: "back" });
    expect(await bo2.next("message")).toEqual({ from: "ana", text: "back", messageNumber: 2 });
  });
});
