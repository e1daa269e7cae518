import { createHash } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { CellarClient as Client, memoryStore, type ClientOptions, type SessionStore, type WebSocketConstructor } from "cellar/client";
import type { CellarClient } from "cellar/client";
import { startTcpProxy, startTestServer, type TcpProxy, type TestServer } from "cellar/testing";
import { fast, WS } from "./conformance/proxy.js";
import { holds, resumeRooms } from "./fixtures/resume-rooms.js";
import { record, next } from "./helpers/client-events.js";
import { lines, pump, range } from "./helpers/feed.js";

/*
 * Resume through a TCP proxy that a test breaks on purpose. What every host must do (replay
 * after drops, restarts and hibernation, resync outside the window, per-connection state) is
 * in conformance/resume*.test.ts; these tests need the Node host: handlers held by in-process
 * latches, the sessions table, connection counts, hibernating one instance.
 */

let t: TestServer | undefined;
let proxy: TcpProxy | undefined;
let extra: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of extra) await item.close();
  extra = [];
  await proxy?.close();
  await t?.close();
  t = proxy = undefined;
});

async function serve(options: { replayLogMaxEntries?: number } = {}): Promise<TestServer> {
  // Writers send as fast as the room answers: no rate limit in the way.
  t = await startTestServer({ rooms: resumeRooms, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 }, ...options });
  proxy = await startTcpProxy(t.server.port);
  return t;
}

/** A client whose every socket goes through the proxy. */
function viaProxy(kind: string, id: string, options: ClientOptions = {}): CellarClient {
  const client = new Client(proxy!.via(t!.server.roomUrl(kind, id)), { WebSocket: WS, reconnect: fast, ...options });
  extra.push(client);
  return client;
}

/** Whether the next reconnect resumed the session or could not. */
function reconnected(client: CellarClient, timeoutMs = 5_000): Promise<"$resumed" | "$resynced"> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      client.off("$resumed", onResumed);
      client.off("$resynced", onResynced);
    };
    const onResumed = () => (stop(), resolve("$resumed"));
    const onResynced = () => (stop(), resolve("$resynced"));
    const timer = setTimeout(() => (stop(), reject(new Error(`no $resumed nor $resynced within ${timeoutMs} ms`))), timeoutMs);
    client.on("$resumed", onResumed);
    client.on("$resynced", onResynced);
  });
}

function waitFor(check: () => void, timeout = 5_000): Promise<void> {
  return vi.waitFor(check, { timeout, interval: 5 });
}

/**
 * Lets 20 more lines reach the client, stops the writer, and checks that the client and
 * the directly connected observer both got every line, 1 to the last, in order, once.
 */
async function finishWriting(writing: { stop(): Promise<number> }, seen: number[], expected: number[]): Promise<number> {
  const before = seen.length;
  await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(before + 20));
  const last = await writing.stop();
  await waitFor(() => expect(seen.at(-1)).toBe(last));
  await waitFor(() => expect(expected.at(-1)).toBe(last));
  expect(expected).toEqual(range(1, last));
  expect(seen).toEqual(expected);
  return last;
}

describe("resume while a writer keeps broadcasting", () => {
  it("a stalled socket: pings go unanswered, the client resumes on a new socket while the server still holds the old one (closed with 4409)", async () => {
    await serve();
    // The network path changes (the old one goes silent, as after a Wi-Fi switch): new
    // sockets go straight to the server while the proxy holds the old one, still open.
    let route = (url: string) => proxy!.via(url);
    class RoutedWebSocket extends WebSocket {
      constructor(url: string) {
        super(route(url));
      }
    }
    const observer = await t!.connect("feed", "stall");
    const expected = lines(observer);
    const client = new Client(t!.server.roomUrl("feed", "stall"), {
      WebSocket: RoutedWebSocket as unknown as WebSocketConstructor,
      pingIntervalMs: 100,
      reconnect: fast,
    });
    extra.push(client);
    await client.waitForConnection();
    const id = client.connectionId!;
    const seen = lines(client);
    const closes = record<{ code: number; final: boolean }>(client, "$close");
    const writer = await t!.connect("feed", "stall");
    const writing = pump(writer);
    await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(20));

    proxy!.stall();
    route = (url) => url;
    const resumed = await next<{ replayed: number }>(client, "$resumed");
    // The client gave up on the silent socket itself (local code 4001)…
    expect(closes).toEqual([{ code: 4001, reason: "no answer to ping", final: false }]);
    // …while the server still had it open: the resume took the session over and the room
    // saw the old socket go with 4409.
    expect(proxy!.open).toBe(1);
    expect(await writer.request("disconnects")).toEqual([{ id, code: 4409 }]);
    expect(client.connectionId).toBe(id);
    expect(resumed.replayed).toBeGreaterThan(0);

    await finishWriting(writing, seen, expected);
    const connects = (await writer.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.filter((c) => c.id === id)).toEqual([
      { id, resumed: false },
      { id, resumed: true },
    ]);
  });
});

describe("resume tokens and credentials", () => {
  it("a token holds at least 128 random bits; the server keeps only its secret's SHA-256", async () => {
    await serve();
    const store = memoryStore();
    const a = await t!.connect("feed", "tokens", { sessionStore: store });
    const b = await t!.connect("feed", "tokens", { sessionStore: memoryStore() });
    const token = store.get(`cellar:${t!.server.roomUrl("feed", "tokens")}`)!.token;
    const [id, secret] = token.split(".") as [string, string];
    expect(id).toBe(a.connectionId);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22,}$/); // base64url: 22 characters carry 132 bits
    expect(b.connectionId).not.toBe(a.connectionId);
    // A graceful stop (1012) keeps the sessions, and frees the file for reading.
    await t!.server.close();
    const db = new Database(join(t!.dataDir, "cellar.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT conn_id, secret_hash FROM sessions").all() as Array<{ conn_id: string; secret_hash: string }>;
      const hash = createHash("sha256").update(secret).digest("base64url");
      expect(rows.find((r) => r.conn_id === id)?.secret_hash).toBe(hash);
      const dump = JSON.stringify(db.prepare("SELECT * FROM sessions").all());
      expect(dump).not.toContain(secret);
    } finally {
      db.close();
    }
  });

  it("a hello with a detached session's token but other credentials gets a session of its own; the owner still resumes", async () => {
    await serve();
    // One record whatever the URL (Bob goes through the proxy, Eve straight to the server).
    const records = memoryStore();
    const store: SessionStore = {
      get: () => records.get("one"),
      set: (_key, record) => records.set("one", record),
      delete: () => records.delete("one"),
    };
    const bob = viaProxy("gate", "detached", { params: { user: "bob" }, sessionStore: store });
    await bob.waitForConnection();
    const bobId = bob.connectionId;
    proxy!.refuse();
    proxy!.sever();
    await waitFor(() => expect(bob.state).toBe("reconnecting"));
    // The server saw Bob's socket go: his session is away, not open.
    await waitFor(() => expect(t!.server.stats().connections).toBe(0));
    // Eve's client finds Bob's session in the (shared) store and asks to resume it.
    const eve = t!.client("gate", "detached", { params: { user: "eve" }, sessionStore: store });
    expect(await next(eve, "$resynced")).toEqual({ code: 0 });
    expect(eve.connectionId).not.toBe(bobId);
    proxy!.accept();
    expect(await next(bob, "$resumed")).toEqual({ replayed: 0 });
    expect(bob.connectionId).toBe(bobId);
  });

  // BUG (reported): when authenticate turns a matched resume into a fresh session (another
  // userId), RoomInstance#onConnect keeps what it computed for the match: no fresh secret
  // (the welcome's token is "<id>.undefined") and the old session's secret hash stored for
  // the new session. That session can never resume. Flip to it(...) once fixed.
  it("a session opened by a hello that carried another session's token (other credentials) can itself resume", async () => {
    await serve();
    const records = memoryStore();
    const store: SessionStore = {
      get: () => records.get("one"),
      set: (_key, record) => records.set("one", record),
      delete: () => records.delete("one"),
    };
    const bob = viaProxy("gate", "again", { params: { user: "bob" }, sessionStore: store, reconnect: false });
    await bob.waitForConnection();
    proxy!.sever();
    await waitFor(() => expect(t!.server.stats().connections).toBe(0));
    const eve = viaProxy("gate", "again", { params: { user: "eve" }, sessionStore: store });
    expect(await next(eve, "$resynced")).toEqual({ code: 0 });
    const eveId = eve.connectionId!;
    expect(records.get("one")!.token).toMatch(new RegExp(`^${eveId}\\.[A-Za-z0-9_-]{16,}$`));
    proxy!.sever();
    expect(await reconnected(eve)).toBe("$resumed");
    expect(eve.connectionId).toBe(eveId);
  });

  // BUG (reported): RoomInstance#onConnect closes the session's open socket with 4409 (the
  // takeover) before authenticate has run; when authenticate then gives another userId the
  // hello gets a fresh session, but the owner's socket is already gone: the owner's client
  // drops its session (4409), resyncs, and requests it had in flight reject with
  // CONNECTION_LOST. Flip to it(...) once fixed.
  it("a hello with an open session's token but other credentials leaves the session's socket alone", async () => {
    await serve();
    const store = memoryStore();
    const bob = await t!.connect("gate", "open", { params: { user: "bob" }, sessionStore: store });
    const bobId = bob.connectionId;
    const closes = record(bob, "$close");
    const eve = t!.client("gate", "open", { params: { user: "eve" }, sessionStore: store });
    expect(await next(eve, "$resynced")).toEqual({ code: 0 });
    expect(eve.connectionId).not.toBe(bobId);
    // A round trip on Bob's socket after Eve's welcome: by then a 4409 would have arrived.
    expect(await bob.request("ping")).toBe("pong");
    expect(closes).toEqual([]);
    expect(bob.connectionId).toBe(bobId);
  });
});

describe("requests across a drop", () => {
  it("a request sent before the drop fails with CONNECTION_LOST (it may have been applied); one made while offline is sent after the resume; none is sent twice", async () => {
    await serve();
    const client = viaProxy("counter", "k");
    await client.waitForConnection();
    const hold = `ack-lost-${Math.random()}`;

    // A: reaches the room, which holds it until the socket is gone: applied, answer lost.
    const a = client.request("inc", { hold });
    await holds.wait(`entered:${hold}`);
    // B: sent into a silent network, never reaches the room.
    proxy!.stall();
    const b = client.request("inc");
    proxy!.refuse();
    proxy!.sever();
    holds.release(hold);
    await expect(a).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    await expect(b).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    await waitFor(() => expect(client.state).toBe("reconnecting"));
    // C: made while offline, queued, sent once the session resumed.
    const c = client.request("inc");
    proxy!.flow();
    proxy!.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 0 });
    // A was applied (1), B never arrived, C is the second increment: nothing ran twice.
    expect(await c).toBe(2);
    expect(await client.request("peek")).toBe(2);
  });
});

describe("more resume cases", () => {
  it("a request's broadcast lost with the socket is replayed; the request itself fails with CONNECTION_LOST and is not sent again", async () => {
    await serve();
    const observer = await t!.connect("counter", "shout");
    const heard = record(observer, "announced");
    const client = viaProxy("counter", "shout");
    await client.waitForConnection();
    const clientHeard = record(client, "announced");
    const hold = `announce-${Math.random()}`;
    const announced = client.request("announce", { hold });
    await holds.wait(`entered:${hold}`);
    proxy!.refuse();
    proxy!.sever();
    holds.release(hold);
    await expect(announced).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    proxy!.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 1 });
    // Round trips after the resume: an announce sent again would have been heard by now.
    expect(await client.request("peek")).toBe(0);
    expect(await observer.request("peek")).toBe(0);
    expect(heard).toEqual([{ count: 0 }]);
    expect(clientHeard).toEqual([{ count: 0 }]);
  });

  it("resumes after the room hibernated while the client was away", async () => {
    await serve();
    const client = viaProxy("feed", "sleepy");
    await client.waitForConnection();
    const id = client.connectionId!;
    const seen = lines(client);
    const writer = await t!.connect("feed", "sleepy", { reconnect: false });
    await writer.request("say");
    await waitFor(() => expect(seen).toEqual([1]));
    proxy!.refuse();
    proxy!.sever();
    await waitFor(async () => expect(await writer.request("disconnects")).toEqual([{ id, code: 1006 }]));
    await writer.request("say");
    await writer.request("say");
    writer.close();
    await waitFor(() => expect(t!.server.hibernate("feed", "sleepy")).toBe(1));
    expect(t!.server.stats().rooms.live).toBe(0);

    proxy!.accept();
    expect(await next(client, "$resumed")).toEqual({ replayed: 2 });
    expect(client.connectionId).toBe(id);
    await waitFor(() => expect(seen).toEqual([1, 2, 3]));
    const connects = (await client.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects.filter((c) => c.id === id)).toEqual([
      { id, resumed: false },
      { id, resumed: true },
    ]);
  });
});
