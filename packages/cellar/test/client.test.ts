import { rmSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { backoffDelay, CellarClient, CellarError, memoryStore, RECONNECT_DEFAULTS, type ClientOptions, type WebSocketConstructor } from "cellar/client";
import { startTcpProxy, startTestServer, tempDataDir, type TcpProxy, type TestServer, type TestServerOptions } from "cellar/testing";
import { holds, resumeRooms } from "./fixtures/resume-rooms.js";
import { record, next } from "./helpers/client-events.js";

/*
 * The client's side of reconnecting: backoff, final close codes, the offline queue, and
 * requests (answers, server errors, timeouts). Clients go through a TCP proxy that a test
 * can sever or make refuse connections, like a network going down.
 */

const WS = WebSocket as unknown as WebSocketConstructor;

let servers: TestServer[] = [];
let proxies: TcpProxy[] = [];
let clients: CellarClient[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.close();
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  servers = [];
  proxies = [];
  clients = [];
  dirs = [];
});

async function serve(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  // The tests send bursts of frames on purpose.
  const t = await startTestServer({ rooms: resumeRooms, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 }, ...options });
  servers.push(t);
  return t;
}

async function proxyTo(t: TestServer): Promise<TcpProxy> {
  const p = await startTcpProxy(t.server.port);
  proxies.push(p);
  return p;
}

function open(url: string, options: ClientOptions = {}): CellarClient {
  const c = new CellarClient(url, { WebSocket: WS, ...options });
  clients.push(c);
  return c;
}

/** A client of `kind/id` through the proxy, connected. */
async function through(proxy: TcpProxy, t: TestServer, kind: string, id: string, options: ClientOptions = {}): Promise<CellarClient> {
  const c = open(proxy.via(t.server.roomUrl(kind, id)), options);
  await c.waitForConnection();
  return c;
}


/** The error a promise rejects with (call it at once: the rejection is handled from then on). */
async function rejection(promise: Promise<unknown>): Promise<CellarError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CellarError);
  return error as CellarError;
}

describe("backoffDelay", () => {
  const options = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.3, maxAttempts: Infinity };
  const delays = (random: () => number, count = 7) => Array.from({ length: count }, (_, a) => backoffDelay(options, a, random));

  it("grows by the multiplier up to the cap, spread by ± jitter", () => {
    expect(delays(() => 0.5)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    // random() = 0 is the low end of the spread (1 - jitter), random() → 1 the high end (1 + jitter).
    expect(delays(() => 0)).toEqual([70, 140, 280, 560, 700, 700, 700]);
    expect(delays(() => 0.999_999)).toEqual([130, 260, 520, 1040, 1300, 1300, 1300]);
    expect(delays(() => 0.25)).toEqual([85, 170, 340, 680, 850, 850, 850]);
    // No jitter: the bare exponential.
    expect(Array.from({ length: 5 }, (_, a) => backoffDelay({ ...options, jitter: 0 }, a, () => 0.9))).toEqual([100, 200, 400, 800, 1000]);
    // Far past the cap (multiplier ** attempt overflows to Infinity) it stays capped.
    expect(backoffDelay(options, 5_000, () => 0.5)).toBe(1000);
    expect(backoffDelay({ ...options, jitter: 1 }, 0, () => 0)).toBe(0);
  });

  it("has the documented defaults", () => {
    expect(RECONNECT_DEFAULTS).toEqual({ initialDelayMs: 250, maxDelayMs: 10_000, multiplier: 2, jitter: 0.3, maxAttempts: Infinity });
    expect(backoffDelay(RECONNECT_DEFAULTS, 0, () => 0.5)).toBe(250);
    expect(backoffDelay(RECONNECT_DEFAULTS, 10, () => 0.5)).toBe(10_000);
  });

  it("with Math.random, spreads delays over the whole jitter range", () => {
    const samples = Array.from({ length: 2000 }, () => backoffDelay(options, 3));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(560);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1040);
    // Both ends of the range are reached (each end's last twelfth: p(miss) ≈ e^-166).
    expect(Math.min(...samples)).toBeLessThan(600);
    expect(Math.max(...samples)).toBeGreaterThan(1000);
  });
});

describe("reconnecting with backoff", () => {
  it("$retry delays stay within the jitter bounds, grow, are capped, are waited out, and start over after a success", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const reconnect = { initialDelayMs: 10, maxDelayMs: 160, multiplier: 2, jitter: 0.3 };
    const c = await through(proxy, t, "journal", "backoff", { reconnect });
    const retries: Array<{ attempt: number; delayMs: number; code: number; at: number }> = [];
    const closedAt: number[] = [];
    c.on("$retry", (e: { attempt: number; delayMs: number; code: number }) => retries.push({ ...e, at: performance.now() }));
    c.on("$close", () => closedAt.push(performance.now()));

    proxy.refuse();
    proxy.sever();
    await vi.waitFor(() => expect(retries.length).toBeGreaterThanOrEqual(8), { timeout: 5_000, interval: 5 });
    proxy.accept();
    await next(c, "$resumed");

    const first = retries.slice(0, 8);
    expect(first.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(first.every((r) => r.code === 1006)).toBe(true);
    const bases = first.map((_, a) => Math.min(160, 10 * 2 ** a));
    for (const [a, r] of first.entries()) {
      expect(r.delayMs).toBeGreaterThanOrEqual(Math.floor(bases[a]! * 0.7));
      expect(r.delayMs).toBeLessThanOrEqual(Math.ceil(bases[a]! * 1.3));
    }
    // With multiplier 2 and jitter 0.3 the ranges of consecutive attempts do not overlap:
    // the delays grow strictly until the cap.
    for (let a = 0; a < 4; a++) expect(first[a + 1]!.delayMs).toBeGreaterThan(first[a]!.delayMs);
    // The jitter is applied (all eight on their base value: p ≈ 10^-12).
    expect(first.some((r, a) => r.delayMs !== bases[a])).toBe(true);
    // Each attempt waited its delay: the next failure came no sooner (timers may round a millisecond or two).
    for (let i = 0; i < 7; i++) expect(closedAt[i + 1]! - first[i]!.at).toBeGreaterThanOrEqual(first[i]!.delayMs - 2);

    // A successful connection resets the backoff: the next drop starts at attempt 1.
    const before = retries.length;
    proxy.sever();
    await vi.waitFor(() => expect(retries.length).toBeGreaterThan(before), { timeout: 5_000, interval: 5 });
    const again = retries[before]!;
    expect(again.attempt).toBe(1);
    expect(again.delayMs).toBeGreaterThanOrEqual(7);
    expect(again.delayMs).toBeLessThanOrEqual(13);
    await next(c, "$resumed");
  });

  it("a graceful restart (1012) retries at once; emits made while the server is down arrive once, in order", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const first = await serve({ dataDir });
    const proxy = await proxyTo(first);
    const c = await through(proxy, first, "journal", "restart", { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const id = c.connectionId;
    const retries = record<{ attempt: number; delayMs: number; code: number }>(c, "$retry");
    c.emit("jot", 1);
    expect(await c.request("entries")).toEqual([1]);

    await first.server.close();
    // First retry at once after 1012; the server being down, the next ones back off.
    await vi.waitFor(() => expect(retries.length).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 5 });
    expect(retries[0]).toEqual({ attempt: 1, delayMs: 0, code: 1012 });
    expect(retries[1]!.attempt).toBe(2);
    expect(retries[1]!.delayMs).toBeGreaterThanOrEqual(28); // attempt index 1: 40 ms ± 30%
    expect(retries[1]!.delayMs).toBeLessThanOrEqual(52);
    expect(c.state).toBe("reconnecting");
    for (let i = 2; i <= 6; i++) c.emit("jot", i);

    const second = await serve({ dataDir });
    proxy.retarget(second.server.port);
    expect(await next(c, "$resumed")).toEqual({ replayed: 0 });
    expect(c.connectionId).toBe(id);
    // The emits went after the resume, before this request on the same socket.
    expect(await c.request("entries")).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("gives up on a socket that gets no welcome within connectTimeoutMs (local code 4000) and retries", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    proxy.stall();
    const c = open(proxy.via(t.server.roomUrl("journal", "slow-net")), { connectTimeoutMs: 100, reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    const closes = record<{ code: number; reason: string; final: boolean }>(c, "$close");
    const retries = record<{ attempt: number; code: number }>(c, "$retry");
    await vi.waitFor(() => expect(retries.length).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 5 });
    expect(closes.slice(0, 2)).toEqual([
      { code: 4000, reason: "connect timeout", final: false },
      { code: 4000, reason: "connect timeout", final: false },
    ]);
    expect(retries.slice(0, 2)).toMatchObject([
      { attempt: 1, code: 4000 },
      { attempt: 2, code: 4000 },
    ]);
    proxy.sever();
    proxy.flow();
    await c.waitForConnection();
    expect(await c.request("jot", 1)).toBe(1);
  });

  it("stops after maxAttempts: closed for good, pending and queued requests rejected", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const c = await through(proxy, t, "journal", "max", { reconnect: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 } });
    const retries = record<{ attempt: number }>(c, "$retry");
    const closes = record<{ code: number; final: boolean }>(c, "$close");
    proxy.refuse();
    proxy.sever();
    await vi.waitFor(() => expect(c.state).not.toBe("open"), { timeout: 5_000, interval: 2 });
    const queued = rejection(c.request("entries"));
    await vi.waitFor(() => expect(c.state).toBe("closed"), { timeout: 5_000, interval: 5 });
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(closes.map((e) => e.final)).toEqual([false, false, false, true]);
    expect((await queued).code).toBe("CONNECTION_CLOSED");
    expect((await rejection(c.waitForConnection())).code).toBe("CONNECTION_CLOSED");
    expect(() => c.emit("jot", 1)).toThrow(CellarError);
  });
});

describe("close codes after which the client does not retry", () => {
  it("4401: authenticate refuses the connection", async () => {
    const t = await serve();
    const c = t.client("gate", "g1", { reconnect: { initialDelayMs: 5 } });
    const retries = record(c, "$retry");
    const closed = next<{ code: number; final: boolean }>(c, "$close");
    expect((await rejection(c.waitForConnection())).code).toBe("CONNECTION_CLOSED");
    expect(await closed).toMatchObject({ code: 4401, final: true });
    expect(c.state).toBe("closed");
    expect(retries).toEqual([]);
  });

  it("4403 on a reconnect (the user was banned meanwhile): one retry, then closed; the queued request is rejected", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const bob = await through(proxy, t, "gate", "g2", { params: { user: "bob" }, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    expect(await bob.request("ping")).toBe("pong");
    const admin = await t.connect("gate", "g2", { params: { user: "admin" } });
    await admin.request("ban", "bob");
    const retries = record(bob, "$retry");
    const closes = record<{ code: number; final: boolean }>(bob, "$close");

    proxy.sever();
    await vi.waitFor(() => expect(bob.state).not.toBe("open"), { timeout: 5_000, interval: 2 });
    const queued = rejection(bob.request("ping"));
    await vi.waitFor(() => expect(bob.state).toBe("closed"), { timeout: 5_000, interval: 5 });
    expect(closes.map((e) => [e.code, e.final])).toEqual([
      [1006, false],
      [4403, true],
    ]);
    expect(retries).toHaveLength(1);
    expect((await queued).code).toBe("CONNECTION_CLOSED");
    // The admin, not banned, is unaffected.
    expect(await admin.request("ping")).toBe("pong");
  });

  it("1000 or a code of the room's own: the room closes the connection (ctx.connection.close)", async () => {
    const t = await serve();
    for (const code of [1000, 4321]) {
      const c = await t.connect("journal", `kick-${code}`, { reconnect: { initialDelayMs: 5 } });
      const retries = record(c, "$retry");
      const closed = next<{ code: number; final: boolean }>(c, "$close");
      // The ack goes out before the close.
      expect(await c.request("kick", code)).toBeUndefined();
      expect(await closed).toEqual({ code, reason: "kicked", final: true });
      expect(c.state).toBe("closed");
      expect(retries).toEqual([]);
      expect((await rejection(c.request("entries"))).code).toBe("CONNECTION_CLOSED");
    }
  });

  it("4429 (rate limited) is not final: the client reconnects and resumes", async () => {
    const t = await serve({ rateLimit: { eventsPerSecond: 1, burst: 2 } });
    const c = await t.connect("journal", "rate", { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const id = c.connectionId;
    const closed = next<{ code: number; final: boolean }>(c, "$close");
    const retry = next<{ attempt: number; code: number }>(c, "$retry");
    const resumed = next<{ replayed: number }>(c, "$resumed");
    const errors = record<CellarError>(c, "$error");
    // Two pass, then three refusals in a row (more than the burst) close the socket.
    for (let i = 0; i < 5; i++) c.emit("jot", i);
    expect(await closed).toEqual({ code: 4429, reason: "RATE_LIMITED", final: false });
    expect(await retry).toMatchObject({ attempt: 1, code: 4429 });
    await resumed;
    expect(c.connectionId).toBe(id);
    expect(errors.map((e) => e.code)).toEqual(["RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]);
  });
});

describe("the offline queue", () => {
  it("emits made while the network refuses connections arrive once, in order, after the resume", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const c = await through(proxy, t, "journal", "offline", { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const retries = record(c, "$retry");
    c.emit("jot", "a");
    expect(await c.request("entries")).toEqual(["a"]);

    proxy.refuse();
    proxy.sever();
    await vi.waitFor(() => expect(c.state).toBe("reconnecting"), { timeout: 5_000, interval: 2 });
    for (const v of ["b", "c", "d", "e"]) c.emit("jot", v);
    // Several attempts fail with the emits queued: none may send them.
    await vi.waitFor(() => expect(retries.length).toBeGreaterThanOrEqual(4), { timeout: 5_000, interval: 5 });
    c.emit("jot", "f");
    proxy.accept();
    await next(c, "$resumed");
    expect(await c.request("entries")).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("a request made offline resolves after the reconnect; one that timed out while queued is never sent", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const c = await through(proxy, t, "counter", "offline", { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    proxy.refuse();
    proxy.sever();
    await vi.waitFor(() => expect(c.state).toBe("reconnecting"), { timeout: 5_000, interval: 2 });
    const expired = rejection(c.request("inc", undefined, { timeoutMs: 30 }));
    const kept = c.request("inc");
    expect((await expired).code).toBe("TIMEOUT");
    proxy.accept();
    expect(await kept).toBe(1);
    expect(await c.request("peek")).toBe(1);
  });

  it("holds at most maxQueueSize frames: further emits throw QUEUE_FULL, requests reject with it", async () => {
    const t = await serve();
    const proxy = await proxyTo(t);
    const c = await through(proxy, t, "journal", "full", { maxQueueSize: 3, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    proxy.refuse();
    proxy.sever();
    await vi.waitFor(() => expect(c.state).toBe("reconnecting"), { timeout: 5_000, interval: 2 });
    c.emit("jot", 1);
    c.emit("jot", 2);
    c.emit("jot", 3);
    let thrown: unknown;
    try {
      c.emit("jot", 4);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CellarError);
    expect((thrown as CellarError).code).toBe("QUEUE_FULL");
    expect((await rejection(c.request("entries"))).code).toBe("QUEUE_FULL");
    proxy.accept();
    await next(c, "$resumed");
    expect(await c.request("entries")).toEqual([1, 2, 3]);
  });
});

describe("requests", () => {
  it("resolve with the handler's return value, or reject with a CellarError carrying the server's code", async () => {
    const t = await serve();
    const c = await t.connect("journal", "req");
    expect(await c.request("jot", "x")).toBe(1);
    expect(await c.request("jot", { y: [1, 2] })).toBe(2);
    expect(await c.request("entries")).toEqual(["x", { y: [1, 2] }]);
    const failed = await rejection(c.request("fail", { code: "OUT_OF_STOCK" }));
    expect(failed.code).toBe("OUT_OF_STOCK");
    expect(failed.message).toBe("refused on purpose");
    expect((await rejection(c.request("no-such-event"))).code).toBe("UNKNOWN_EVENT");
    // The failure of an emit (no request to reject) comes as $error.
    const error = next<CellarError>(c, "$error");
    c.emit("fail", { code: "NOT_NOW" });
    expect(await error).toBeInstanceOf(CellarError);
    expect((await error).code).toBe("NOT_NOW");
  });

  it("time out with TIMEOUT when no answer comes in time; the late answer is ignored", async () => {
    const t = await serve();
    const c = await t.connect("journal", "slow");
    const timedOut = await rejection(c.request("slow", 300, { timeoutMs: 50 }));
    expect(timedOut.code).toBe("TIMEOUT");
    // The room's queue runs the next request after the slow one: its answer is its own.
    expect(await c.request("jot", "after")).toBe(1);
    expect(c.state).toBe("open");
  });

  it("with resume off, a request in flight across a drop rejects with CONNECTION_LOST and the client reports $resynced", async () => {
    const t = await serve({ resumeWindowMs: 0 });
    const proxy = await proxyTo(t);
    const c = await through(proxy, t, "counter", "lost", { reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const id = c.connectionId;
    const hold = `lost-${Math.random()}`;
    const inFlight = rejection(c.request("inc", { hold }));
    await holds.wait(`entered:${hold}`);
    proxy.refuse();
    proxy.sever();
    holds.release(hold);
    await vi.waitFor(() => expect(c.state).toBe("reconnecting"), { timeout: 5_000, interval: 2 });
    const resynced = next<{ code: number }>(c, "$resynced");
    proxy.accept();
    expect(await resynced).toEqual({ code: 1006 });
    // It was applied, but the client cannot know: it says so rather than guess.
    expect((await inFlight).code).toBe("CONNECTION_LOST");
    expect(c.connectionId).not.toBe(id);
    expect(await c.request("peek")).toBe(1);
  });
});

describe("sessions shared through a store", () => {
  it("4409: another client resuming the stored session takes it over; the first starts a session of its own", async () => {
    const t = await serve();
    const store = memoryStore();
    const first = await t.connect("feed", "tabs", { sessionStore: store, reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const firstId = first.connectionId!;
    const closed = next<{ code: number; final: boolean }>(first, "$close");
    const resynced = next<{ code: number }>(first, "$resynced");

    const second = t.client("feed", "tabs", { sessionStore: store });
    expect(await next(second, "$resumed")).toEqual({ replayed: 0 });
    expect(second.connectionId).toBe(firstId);
    expect(await closed).toEqual({ code: 4409, reason: "SESSION_REPLACED", final: false });
    expect(await resynced).toEqual({ code: 4409 });
    expect(first.connectionId).not.toBe(firstId);

    // Both are live, distinct connections of the room.
    const seenByFirst = record<{ n: number }>(first, "line");
    const seenBySecond = record<{ n: number }>(second, "line");
    await second.request("say");
    await vi.waitFor(() => expect([seenByFirst.length, seenBySecond.length]).toEqual([1, 1]), { timeout: 5_000, interval: 5 });
    const connects = (await second.request("connects")) as Array<{ id: string; resumed: boolean }>;
    expect(connects).toEqual([
      { id: firstId, resumed: false },
      { id: firstId, resumed: true },
      { id: first.connectionId, resumed: false },
    ]);
  });
});
