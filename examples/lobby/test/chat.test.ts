import { afterEach, describe, expect, it } from "vitest";
import type { TestServer } from "cellar/testing";
import type { ChatMessage, ChatRoom } from "../src/chat-store.js";
import { MAIN } from "../src/identity.js";
import { collect, next, startLobby } from "./helpers.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const as = (server: TestServer, name: string) => server.connect("lobby", MAIN, { params: { name } });
const line = (m: ChatMessage) => [m.seq, m.type, m.from, m.text];

describe("lobby: chat rooms", () => {
  it("creates rooms, joins (refused when full), talks and leaves, with system messages", async () => {
    t = await startLobby();
    const [ana, bo, cy] = [await as(t, "Ana"), await as(t, "Bo"), await as(t, "Cy")];

    const announced = next<ChatRoom>(bo, "chat:room-created");
    const general = await ana.request("chat:create", { id: "general", name: "General" });
    expect(general).toEqual({ id: "general", name: "General", maxParticipants: 50, isPrivate: false, createdBy: "Ana", createdAt: expect.any(Number), memberCount: 0 });
    expect(await announced).toEqual(general);
    await expect(bo.request("chat:create", { id: "general", name: "Again" })).rejects.toMatchObject({ code: "CHAT_ROOM_EXISTS" });
    await expect(bo.request("chat:create", { id: "no spaces", name: "x" })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    await expect(bo.request("chat:create", { id: "x", name: "x", maxParticipants: 0 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });

    await ana.request("chat:create", { id: "duo", name: "Duo", maxParticipants: 2 });
    expect(await ana.request("chat:join", { roomId: "duo" })).toMatchObject({ room: { memberCount: 1 }, members: ["Ana"] });
    const boJoined = next<ChatMessage>(ana, "chat:message", (m) => m.text === "Bo joined");
    expect(await bo.request("chat:join", { roomId: "duo" })).toMatchObject({ room: { memberCount: 2 }, members: ["Ana", "Bo"] });
    expect(await boJoined).toEqual({ roomId: "duo", seq: 2, type: "system", from: null, text: "Bo joined", at: expect.any(Number) });
    await expect(cy.request("chat:join", { roomId: "duo" })).rejects.toMatchObject({ code: "CHAT_ROOM_FULL" });
    // A member joining again (another tab, a reload) is not refused and changes nothing (hello below is still #3).
    expect(await ana.request("chat:join", { roomId: "duo" })).toMatchObject({ members: ["Ana", "Bo"] });
    await expect(cy.request("chat:join", { roomId: "nowhere" })).rejects.toMatchObject({ code: "CHAT_ROOM_NOT_FOUND" });
    await expect(cy.request("chat:send", { roomId: "duo", text: "let me in" })).rejects.toMatchObject({ code: "NOT_A_MEMBER" });

    const cyHears = collect<ChatMessage>(cy, "chat:message");
    const boHears = next<ChatMessage>(bo, "chat:message", (m) => m.type === "message");
    const hello = await ana.request("chat:send", { roomId: "duo", text: "  hello  " });
    expect(hello).toMatchObject({ roomId: "duo", seq: 3, type: "message", from: "Ana", text: "hello" });
    expect(await boHears).toEqual(hello);
    await expect(ana.request("chat:send", { roomId: "duo", text: "   " })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });

    const boLeft = next<ChatMessage>(ana, "chat:message", (m) => m.text === "Bo left");
    expect(await bo.request("chat:leave", { roomId: "duo" })).toMatchObject({ room: { memberCount: 1 } });
    expect(await boLeft).toMatchObject({ seq: 4, type: "system" });
    await expect(bo.request("chat:leave", { roomId: "duo" })).rejects.toMatchObject({ code: "NOT_A_MEMBER" });

    // A seat is free again. Cy heard nothing of the room before joining it.
    expect(await cy.request("chat:join", { roomId: "duo" })).toMatchObject({ members: ["Ana", "Cy"] });
    expect(cyHears.map(line)).toEqual([[5, "system", null, "Cy joined"]]);
    const { messages } = await cy.request<{ messages: ChatMessage[] }>("chat:history", { roomId: "duo" });
    expect(messages.map(line)).toEqual([
      [1, "system", null, "Ana joined"],
      [2, "system", null, "Bo joined"],
      [3, "message", "Ana", "hello"],
      [4, "system", null, "Bo left"],
      [5, "system", null, "Cy joined"],
    ]);
  });

  it("lists public rooms to everyone and private ones to their members only", async () => {
    t = await startLobby();
    const [ana, bo] = [await as(t, "Ana"), await as(t, "Bo")];
    const boHears = collect<ChatRoom>(bo, "chat:room-created");
    await ana.request("chat:create", { id: "open", name: "Open" });
    const secret = await ana.request<ChatRoom>("chat:create", { id: "secret", name: "Secret", isPrivate: true });
    expect(secret.isPrivate).toBe(true);

    const ids = async (client: typeof ana) => (await client.request<{ rooms: ChatRoom[] }>("chat:list")).rooms.map((r) => r.id);
    expect(await ids(bo)).toEqual(["open"]);
    expect(boHears.map((r) => r.id)).toEqual(["open"]);
    await expect(bo.request("chat:history", { roomId: "secret" })).rejects.toMatchObject({ code: "NOT_A_MEMBER" });
    // Private means unlisted: whoever knows the id may join.
    await bo.request("chat:join", { roomId: "secret" });
    expect(await ids(bo)).toEqual(["open", "secret"]);
    expect(await ids(ana)).toEqual(["open"]);
  });

  it("answers ping with pong, and unknown events, malformed frames and bad payloads with clear errors", async () => {
    t = await startLobby();
    const ana = await as(t, "Ana");

    const pong = next(ana, "pong");
    const ack = await ana.request("ping");
    expect(ack).toEqual({ at: expect.any(Number) });
    expect(await pong).toEqual(ack);

    await expect(ana.request("chat:shout", { text: "hi" })).rejects.toMatchObject({ code: "UNKNOWN_EVENT", message: expect.stringContaining("chat:shout") });
    const unknown = next(ana, "$error");
    ana.sendRaw(JSON.stringify({ t: "emit", event: "chat:shout", data: {} }));
    expect(await unknown).toMatchObject({ code: "UNKNOWN_EVENT" });
    const garbled = next(ana, "$error");
    ana.sendRaw("{ this is not json");
    expect(await garbled).toMatchObject({ code: "BAD_FRAME" });
    const invalid = next(ana, "$error");
    ana.sendRaw(JSON.stringify({ t: "emit", event: "chat:send", data: { roomId: "duo" } }));
    expect(await invalid).toMatchObject({ code: "INVALID_PAYLOAD", message: expect.stringContaining("text") });

    // None of it hurt the connection or the lobby.
    expect(await ana.request("chat:list")).toEqual({ rooms: [] });
    expect(ana.state).toBe("open");
  });

  it("refuses a connection without a name or with one over 32 characters (4401, no retry)", async () => {
    t = await startLobby();
    const anonymous = t.client("lobby", MAIN);
    const closed = next(anonymous, "$close");
    await expect(anonymous.waitForConnection()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    expect(await closed).toMatchObject({ code: 4401, final: true });

    // A name is 1 to 32 characters.
    const tooLong = t.client("lobby", MAIN, { params: { name: "x".repeat(33) } });
    const tooLongClosed = next(tooLong, "$close");
    await expect(tooLong.waitForConnection()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    expect(await tooLongClosed).toMatchObject({ code: 4401, final: true });
  });

  it("keeps the last 1,000 messages of a room; history pages back with limit (default 50) and before", async () => {
    // 1,005 requests in one burst: over the default per-connection rate limit on purpose.
    t = await startLobby({ rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } });
    const ana = await as(t, "Ana");
    await ana.request("chat:create", { id: "busy", name: "Busy" });
    await ana.request("chat:join", { roomId: "busy" }); // message 1: "Ana joined"
    const sent = await Promise.all(
      Array.from({ length: 1_005 }, (_, i) => ana.request<ChatMessage>("chat:send", { roomId: "busy", text: `m${i + 1}` })),
    );
    expect(sent.at(-1)).toMatchObject({ seq: 1_006, text: "m1005" });

    const history = async (query: object) =>
      (await ana.request<{ messages: ChatMessage[] }>("chat:history", { roomId: "busy", ...query })).messages;
    const latest = await history({});
    expect(latest).toHaveLength(50);
    expect([latest[0]!.text, latest.at(-1)!.text]).toEqual(["m956", "m1005"]);

    const kept = await history({ limit: 1_000 });
    expect(kept).toHaveLength(1_000);
    expect(kept.map((m) => m.seq)).toEqual(Array.from({ length: 1_000 }, (_, i) => 7 + i));
    expect(kept[0]!.text).toBe("m6");
    // Nothing older is left, not just hidden by the limit...
    expect(await history({ before: 7, limit: 1_000 })).toEqual([]);
    // ...and the table holds exactly the cap.
    const rows = await t.server.invoke("lobby", MAIN, (ctx) =>
      ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chat_messages WHERE room_id = ?", "busy").one().n,
    );
    expect(rows).toBe(1_000);

    expect((await history({ before: 957, limit: 3 })).map((m) => m.text)).toEqual(["m953", "m954", "m955"]);
    await expect(history({ limit: 1_001 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
  });

  it("creates rooms over HTTP (POST /api/chat-rooms runs the lobby's create-room action)", async () => {
    t = await startLobby();
    const api = (method: string, body?: unknown) =>
      fetch(`${t!.url}/api/chat-rooms`, {
        method,
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : body === undefined ? undefined : JSON.stringify(body),
      });
    // The lobby's first use is this request: its tables are created on the way.
    expect(await (await api("GET")).json()).toEqual({ rooms: [] });

    const bo = await as(t, "Bo");
    const announced = next<ChatRoom>(bo, "chat:room-created");
    const created = await api("POST", { id: "from-http", name: "From HTTP", maxParticipants: 3 });
    expect(created.status).toBe(201);
    const { room } = (await created.json()) as { room: ChatRoom };
    expect(room).toEqual({ id: "from-http", name: "From HTTP", maxParticipants: 3, isPrivate: false, createdBy: null, createdAt: expect.any(Number), memberCount: 0 });
    expect(await announced).toEqual(room);
    expect(await bo.request("chat:join", { roomId: "from-http" })).toMatchObject({ members: ["Bo"] });

    const again = await api("POST", { id: "from-http", name: "Again" });
    expect([again.status, await again.json()]).toMatchObject([409, { error: { code: "CHAT_ROOM_EXISTS" } }]);
    const invalid = await api("POST", { id: "x", name: "X", maxParticipants: 0 });
    expect([invalid.status, await invalid.json()]).toMatchObject([400, { error: { code: "INVALID_PAYLOAD", message: expect.stringContaining("maxParticipants") } }]);
    const garbled = await api("POST", "{ nope");
    expect([garbled.status, await garbled.json()]).toMatchObject([400, { error: { code: "INVALID_PAYLOAD" } }]);

    expect((await api("POST", { id: "hidden", name: "Hidden", isPrivate: true })).status).toBe(201);
    expect(await (await api("GET")).json()).toMatchObject({ rooms: [{ id: "from-http", memberCount: 1 }] });
  });

  it("serves the page and the browser client's modules, and nothing outside them", async () => {
    t = await startLobby();
    const page = await fetch(`${t.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/cellar/client/index.js");
    const client = await fetch(`${t.url}/cellar/client/index.js`);
    expect([client.status, client.headers.get("content-type")]).toEqual([200, expect.stringContaining("javascript")]);
    expect((await fetch(`${t.url}/cellar/client/index.d.ts`)).status).toBe(404);
    expect((await fetch(`${t.url}/cellar/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
  });

  it("keeps rooms, members, history and channels through a forced hibernation", async () => {
    t = await startLobby();
    const [ana, bo] = [await as(t, "Ana"), await as(t, "Bo")];
    await ana.request("chat:create", { id: "keep", name: "Keep", maxParticipants: 2 });
    await ana.request("chat:join", { roomId: "keep" });
    await bo.request("chat:join", { roomId: "keep" });
    await ana.request("chat:send", { roomId: "keep", text: "before" });

    expect(t.server.hibernate("lobby", MAIN)).toBe(1);
    expect(t.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });

    const boHears = next<ChatMessage>(bo, "chat:message", (m) => m.text === "after");
    await ana.request("chat:send", { roomId: "keep", text: "after" });
    expect(await boHears).toMatchObject({ seq: 4, from: "Ana", text: "after" });
    const { messages } = await bo.request<{ messages: ChatMessage[] }>("chat:history", { roomId: "keep" });
    expect(messages.map((m) => m.text)).toEqual(["Ana joined", "Bo joined", "before", "after"]);
    const cy = await as(t, "Cy");
    expect(await cy.request("chat:list")).toMatchObject({ rooms: [{ id: "keep", memberCount: 2 }] });
    await expect(cy.request("chat:join", { roomId: "keep" })).rejects.toMatchObject({ code: "CHAT_ROOM_FULL" });

    // Membership belongs to the user: a brand-new session of Ana is back in the room's channel.
    ana.close();
    const anaAgain = await as(t, "Ana");
    const anaHears = next<ChatMessage>(anaAgain, "chat:message");
    await bo.request("chat:send", { roomId: "keep", text: "welcome back" });
    expect(await anaHears).toMatchObject({ from: "Bo", text: "welcome back" });
  });
});
