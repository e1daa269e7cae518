import { Writable } from "node:stream";
import { Hono } from "hono";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { CellarClient, type CellarClient as Client } from "cellar/client";
import { CellarError, defineRoom } from "cellar";
import { createServer } from "cellar/node";
import { startTcpProxy, startTestServer, type TcpProxy, type TestServer, type TestServerOptions } from "cellar/testing";
import { fast, WS } from "./conformance/proxy.js";
import { RawSocket } from "./helpers/raw-socket.js";

const tally = defineRoom({
  name: "tally",
  state: { count: 0 },
  persistedKeys: ["count"],
  onAlarm(ctx) {
    ctx.state.count += 100;
  },
})
  .on("add", (ctx) => {
    ctx.state.count++;
    ctx.emit.broadcast("count", ctx.state.count);
    return ctx.state.count;
  })
  .on("refuse", () => {
    throw new CellarError("NOT_ALLOWED", "no");
  })
  .on("crash", () => {
    throw new Error("secret internal detail");
  })
  .on("later", async (ctx) => {
    await ctx.schedule.after(20, "tick");
  })
  .action("boom", () => {
    throw new Error("action broke");
  });

const TOKEN = "0123456789abcdef-metrics-token";

let servers: TestServer[] = [];
let proxy: TcpProxy | undefined;
const sockets: Array<RawSocket | Client> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await proxy?.close();
  proxy = undefined;
  for (const t of servers.splice(0)) await t.close();
});

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  const t = await startTestServer({ rooms: [tally], ...options });
  servers.push(t);
  return t;
}

/** Scrapes `url` and reads the samples: `name{labels}` → value. */
async function scrape(url: string, token?: string): Promise<Map<string, number>> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe("Prometheus metrics (createServer({ metrics }))", () => {
  it("counts what clients did: connections, events by outcome, hibernation and wake-up, refused frames, commits, resumes, alarms", async () => {
    const t = await start({ metrics: { port: 0 }, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } });
    const url = t.server.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toContain(`:${t.server.port}/`);

    const before = await scrape(url);
    expect(before.get('cellar_events_total{room="tally",outcome="ok"}')).toBe(0);
    expect(before.get('cellar_connections{room="tally"}')).toBe(0);

    const a = await t.connect("tally", "one");
    const b = await t.connect("tally", "one");
    for (let i = 0; i < 3; i++) await a.request("add");
    await expect(b.request("refuse")).rejects.toMatchObject({ code: "NOT_ALLOWED" });
    await expect(b.request("crash")).rejects.toMatchObject({ code: "HANDLER_ERROR" });
    await expect(b.request("add")).resolves.toBe(4);

    // Hibernated, then woken by the next event.
    expect(t.server.hibernate("tally", "one")).toBe(1);
    let m = await scrape(url);
    expect(m.get('cellar_rooms{room="tally",state="hibernated"}')).toBe(1);
    expect(m.get('cellar_rooms{room="tally",state="live"}')).toBe(0);
    expect(await a.request("add")).toBe(5);

    // A frame refused before it reaches the room.
    const raw = await RawSocket.connect(t.server.roomUrl("tally", "one"));
    sockets.push(raw);
    raw.send("{not json");
    expect(await raw.next()).toMatchObject({ t: "error", code: "BAD_FRAME" });

    m = await scrape(url);
    expect(m.get('cellar_connections{room="tally"}')).toBe(3);
    expect(m.get('cellar_events_total{room="tally",outcome="ok"}')).toBe(5);
    expect(m.get('cellar_events_total{room="tally",outcome="NOT_ALLOWED"}')).toBe(1);
    expect(m.get('cellar_events_total{room="tally",outcome="HANDLER_ERROR"}')).toBe(1);
    expect(m.get('cellar_handler_duration_seconds_count{room="tally"}')).toBe(7);
    expect(m.get('cellar_handler_duration_seconds_bucket{le="+Inf",room="tally"}')).toBe(7);
    expect(m.get('cellar_room_hibernations_total{room="tally"}')).toBe(1);
    expect(m.get('cellar_room_wakeups_total{room="tally"}')).toBe(1);
    expect(m.get('cellar_rooms{room="tally",state="live"}')).toBe(1);
    expect(m.get('cellar_connects_total{room="tally",outcome="new"}')).toBe(3);
    expect(m.get('cellar_refused_frames_total{reason="BAD_FRAME"}')).toBe(1);
    expect(m.get("cellar_commit_transactions_total")).toBeGreaterThanOrEqual(5);
    expect(m.get("cellar_commit_writes_total")).toBeGreaterThanOrEqual(5);
    expect(m.get("cellar_commit_failures_total")).toBe(0);
    expect(m.get("cellar_commit_batch_size_count")).toBeGreaterThanOrEqual(5);
    expect(m.get("cellar_commit_duration_seconds_count")).toBe(m.get("cellar_commit_batch_size_count"));
    expect(m.get("cellar_replay_log_rows")).toBeGreaterThanOrEqual(5); // every broadcast "count" is logged for resumes
    expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(m.get("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);

    // An alarm falls due and runs.
    await a.request("later");
    m = await scrape(url);
    expect(m.get("cellar_alarms_scheduled")).toBe(1);
    await vi.waitFor(async () => expect((await scrape(url)).get("cellar_alarm_lateness_seconds_count")).toBe(1), { timeout: 5_000, interval: 20 });
    await vi.waitFor(async () => expect((await scrape(url)).get("cellar_alarms_scheduled")).toBe(0), { timeout: 5_000, interval: 20 });
    m = await scrape(url);
    expect(m.get("cellar_alarms_due")).toBe(0);
    expect(m.get("cellar_alarms_in_flight")).toBe(0);
  });

  it("counts resumed sessions, and a resume the server could not honour as resynced", async () => {
    const t = await start({ metrics: { port: 0 } });
    proxy = await startTcpProxy(t.server.port);
    const client = new CellarClient(proxy.via(t.server.roomUrl("tally", "r")), { WebSocket: WS, reconnect: fast });
    sockets.push(client);
    await client.waitForConnection();
    await client.request("add");
    const resumed = new Promise((resolve) => client.once("$resumed", resolve));
    proxy.sever();
    await resumed;
    const m = await scrape(t.server.metricsUrl!);
    expect(m.get('cellar_connects_total{room="tally",outcome="new"}')).toBe(1);
    expect(m.get('cellar_connects_total{room="tally",outcome="resumed"}')).toBe(1);
    expect(m.get("cellar_sessions_detached")).toBe(0);

    // A resume token the server does not know: a fresh session.
    const raw = await RawSocket.open(t.server.roomUrl("tally", "r"));
    sockets.push(raw);
    raw.send({ t: "hello", v: 1, resume: { token: "nobody.secret", lastSeq: 0 } });
    expect(await raw.next()).toMatchObject({ t: "welcome", resumed: false });
    expect((await scrape(t.server.metricsUrl!)).get('cellar_connects_total{room="tally",outcome="resynced"}')).toBe(1);
  });

  it("counts refused frames by reason and refused connects, as server.stats() counts them", async () => {
    const guarded = defineRoom({
      name: "guarded",
      state: {},
      authenticate(request) {
        if (!new URL(request.url).searchParams.has("ok")) throw new CellarError("UNAUTHORIZED", "no");
        return {};
      },
    }).on("ping", () => "pong");
    const t = await start({ rooms: [guarded], metrics: { port: 0 }, maxPayloadBytes: 1024, rateLimit: { eventsPerSecond: 0.001, burst: 2 } });
    const url = `${t.server.roomUrl("guarded", "g")}?ok`;
    const flooder = await RawSocket.connect(url);
    sockets.push(flooder);
    for (let i = 0; i < 3; i++) flooder.send({ t: "emit", event: "ping" }); // the hello took a token: 1 passes, 2 are refused
    const unknown = await RawSocket.connect(url);
    sockets.push(unknown);
    unknown.send({ t: "emit", event: "nope" });
    expect(await unknown.next()).toMatchObject({ t: "error", code: "UNKNOWN_EVENT" });
    const big = await RawSocket.connect(url);
    sockets.push(big);
    big.send(JSON.stringify({ t: "emit", event: "ping", data: "x".repeat(2048) }));
    expect((await big.closeEvent()).code).toBe(1009);
    const stranger = await RawSocket.open(t.server.roomUrl("guarded", "g"));
    sockets.push(stranger);
    stranger.send({ t: "hello", v: 1 });
    expect(await stranger.next()).toMatchObject({ t: "error", code: "UNAUTHORIZED" });

    await vi.waitFor(() => expect(t.server.stats().refusedFrames).toEqual({ bad: 2, rate: 2 }));
    const m = await scrape(t.server.metricsUrl!);
    expect(m.get('cellar_refused_frames_total{reason="RATE_LIMITED"}')).toBe(2);
    expect(m.get('cellar_refused_frames_total{reason="UNKNOWN_EVENT"}')).toBe(1);
    expect(m.get('cellar_refused_frames_total{reason="PAYLOAD_TOO_LARGE"}')).toBe(1);
    expect(m.get('cellar_connects_total{room="guarded",outcome="refused"}')).toBe(1);
    expect(m.get('cellar_connects_total{room="guarded",outcome="new"}')).toBe(3);
  });

  it("on the server's port, answers scrapes only with the bearer token; other paths still reach the app", async () => {
    const app = new Hono().get("/", (c) => c.text("home"));
    const t = await start({ metrics: { token: TOKEN }, http: app });
    const url = t.server.metricsUrl!;
    expect(url).toBe(`${t.url}/metrics`);
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer wrong-token-wrong-token" }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }];
    for (const headers of attempts) {
      const refused = await fetch(url, { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain("Bearer");
      expect(await refused.text()).not.toContain("cellar_");
    }
    expect((await scrape(url, TOKEN)).has("cellar_commit_transactions_total")).toBe(true);
    expect((await scrape(`${url}?x=1`, TOKEN)).has("cellar_commit_transactions_total")).toBe(true);
    expect(await (await fetch(`${t.url}/`)).text()).toBe("home");
    expect((await fetch(`${url}`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it("on a listener of its own, is not on the public port; a token there is checked too", async () => {
    const t = await start({ metrics: { port: 0, token: TOKEN } });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
    expect((await fetch(t.server.metricsUrl!)).status).toBe(401);
    expect((await scrape(t.server.metricsUrl!, TOKEN)).has("cellar_connections{room=\"tally\"}")).toBe(true);
    expect((await fetch(t.server.metricsUrl!.replace("/metrics", "/other"))).status).toBe(404);
    const url = t.server.metricsUrl!;
    await t.server.close();
    await expect(fetch(url)).rejects.toThrow();
  });

  it("reads memory and CPU at scrape time; prom-client's default metrics (timers, a GC observer) only with nodeDefaults", async () => {
    const lean = await start({ metrics: { port: 0 } });
    const full = await start({ metrics: { port: 0, nodeDefaults: true } });
    const m = await scrape(lean.server.metricsUrl!);
    for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "process_cpu_seconds_total", "cellar_event_loop_busy_seconds_total"]) {
      expect(m.get(name), name).toBeGreaterThan(0);
    }
    expect(m.has("nodejs_eventloop_lag_seconds")).toBe(false);
    const f = await scrape(full.server.metricsUrl!);
    expect(f.has("nodejs_eventloop_lag_seconds")).toBe(true);
    expect(f.get("cellar_event_loop_busy_seconds_total")).toBeGreaterThan(0);
    expect(f.get("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("is off by default: no endpoint, no metricsUrl", async () => {
    const t = await start();
    expect(t.server.metricsUrl).toBeUndefined();
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });

  it("keeps each server's metrics apart in one process", async () => {
    const one = await start({ metrics: { port: 0 } });
    const two = await start({ metrics: { port: 0 } });
    const client = await one.connect("tally", "x");
    sockets.push(client);
    await client.request("add");
    expect((await scrape(one.server.metricsUrl!)).get('cellar_events_total{room="tally",outcome="ok"}')).toBe(1);
    expect((await scrape(two.server.metricsUrl!)).get('cellar_events_total{room="tally",outcome="ok"}')).toBe(0);
  });

  it("refuses invalid metrics options with INVALID_OPTION naming the field", () => {
    const bad: Array<[unknown, string]> = [
      ["yes", "metrics"],
      [{ path: "metrics" }, "metrics.path"],
      [{ path: "/a b" }, "metrics.path"],
      [{ token: "short" }, "metrics.token"],
      [{ token: "has spaces in the token!" }, "metrics.token"],
      [{ port: 70000 }, "metrics.port"],
      [{ port: 8787 }, "metrics.port"],
      [{ port: 0, host: "" }, "metrics.host"],
      [{ port: 0, nodeDefaults: "yes" }, "metrics.nodeDefaults"],
    ];
    for (const [metrics, field] of bad) {
      expect(() => createServer({ rooms: [tally], metrics: metrics as never }), field).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining(field) }),
      );
    }
  });
});

describe("log lines that follow one connection and its events", () => {
  /** A pino logger at `level` whose lines the test reads. */
  function captured(level: string) {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    return { logger: pino({ level }, stream), lines };
  }

  it("carries the upgrade's request id, the room, the instance, the connection id and the event's seq", async () => {
    const { logger, lines } = captured("debug");
    const t = await start({ logger });
    const raw = await RawSocket.open(t.server.roomUrl("tally", "logged"), undefined, { "x-request-id": "trace-42" });
    sockets.push(raw);
    raw.send({ t: "hello", v: 1 });
    const welcome = await raw.next();
    expect(await raw.request("add")).toMatchObject({ t: "ack", data: 1 });
    expect(await raw.request("crash")).toMatchObject({ t: "error", code: "HANDLER_ERROR" });

    const conn = welcome.connectionId as string;
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === "event handled")).toHaveLength(2));
    expect(lines.find((l) => l.msg === "connection opened")).toMatchObject({ room: "tally", instance: "logged", conn, req: "trace-42", outcome: "new" });
    const [added, crashed] = lines.filter((l) => l.msg === "event handled");
    expect(added).toMatchObject({ room: "tally", instance: "logged", conn, event: "add", frameId: 1, seq: 1 });
    expect(added!.error).toBeUndefined();
    expect(typeof added!.ms).toBe("number");
    expect(crashed).toMatchObject({ conn, event: "crash", frameId: 2, error: "HANDLER_ERROR" });
    expect(lines.find((l) => l.msg === "handler failed")).toMatchObject({ level: 50, room: "tally", instance: "logged", conn, frameId: 2, where: "crash" });
  });

  it("gives an upgrade without an x-request-id one of its own; refused upgrades are debug lines with it", async () => {
    const { logger, lines } = captured("debug");
    const t = await start({ logger });
    const c = await t.connect("tally", "anon");
    sockets.push(c);
    await vi.waitFor(() => expect(lines.find((l) => l.msg === "connection opened")).toBeDefined());
    expect(lines.find((l) => l.msg === "connection opened")!.req).toMatch(/^[\w-]+-[0-9a-z]+$/);
    const refused = new WebSocket(`${t.server.roomUrl("nope", "x")}?token=secret`);
    await new Promise((resolve) => refused.once("error", resolve));
    expect(lines.find((l) => l.msg === "upgrade refused")).toMatchObject({ level: 20, status: 404, code: "ROOM_NOT_FOUND", path: "/rooms/nope/x" });
    expect(JSON.stringify(lines)).not.toContain("secret");
  });

  it("gives the app's HTTP requests an id: the app and the response see it, and a failed action's line carries it", async () => {
    const { logger, lines } = captured("info");
    let t: TestServer | undefined;
    const app = new Hono().get("/boom", async (c) => {
      const code = await t!.server.call("tally", "h", "boom").catch((error: CellarError) => error.code);
      return c.json({ code, seen: c.req.header("x-request-id") });
    });
    t = await start({ logger, http: app });

    const traced = await fetch(`${t.url}/boom`, { headers: { "x-request-id": "trace-7" } });
    expect(traced.headers.get("x-request-id")).toBe("trace-7");
    expect(await traced.json()).toEqual({ code: "INTERNAL_ERROR", seen: "trace-7" });
    expect(lines.find((l) => l.msg === "room action failed")).toMatchObject({ room: "tally", instance: "h", action: "boom", req: "trace-7" });

    const anonymous = await fetch(`${t.url}/boom`, { headers: { "x-request-id": "not sane!" } });
    const made = anonymous.headers.get("x-request-id");
    expect(made).toMatch(/^[\w-]+-[0-9a-z]+$/);
    expect((await anonymous.json()).seen).toBe(made);
    expect(lines.filter((l) => l.msg === "room action failed").map((l) => l.req)).toEqual(["trace-7", made]);
  });

  it("writes no per-event line at info level", async () => {
    const { logger, lines } = captured("info");
    const t = await start({ logger });
    const c = await t.connect("tally", "quiet");
    sockets.push(c);
    await c.request("add");
    await c.request("add");
    expect(lines.filter((l) => (l.level as number) < 30)).toEqual([]);
  });
});
