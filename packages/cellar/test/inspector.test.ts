import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sha256 } from "cellar";
import type { CellarClient, SessionStore } from "cellar/client";
import { createServer } from "cellar/node";
import { startTestServer, type TestServer } from "cellar/testing";
import { HOST_KEY, hooks, REJOIN, vault } from "./fixtures/inspector-rooms.js";

const TOKEN = "inspector-token-0123456789-abcdefghij";
const PATH = "/_cellar/inspector";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  hooks.length = 0;
});

/** Resume tokens the clients were given, caught on their way to the session store. */
const resumeTokens = new Set<string>();
const catchingStore: SessionStore = {
  get: () => undefined,
  set: (_key, record) => void resumeTokens.add(record.token),
  delete: () => {},
};

async function start(): Promise<TestServer> {
  t = await startTestServer({ rooms: [vault], inspector: { token: TOKEN } });
  return t;
}

function api(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return fetch(`${t!.url}${PATH}${path}`, { ...rest, headers });
}

async function json(path: string): Promise<any> {
  const response = await api(path);
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

async function setUp(id: string, user = "ana"): Promise<CellarClient> {
  const client = await t!.connect("vault", id, { params: { user }, sessionStore: catchingStore });
  expect(await client.request("setup")).toBe(true);
  return client;
}

const instancePath = (id: string) => `/api/rooms/vault/${encodeURIComponent(id)}`;

describe("the inspector's option", () => {
  it("is validated where it enters, naming the field", () => {
    const bad = [
      [{ token: "short" }, "inspector.token"],
      [{ token: `${"x".repeat(31)} ` }, "inspector.token"],
      [{ token: TOKEN, path: "/" }, "inspector.path"],
      [{ token: TOKEN, path: "/inspect/" }, "inspector.path"],
      [{ token: TOKEN, path: "inspect" }, "inspector.path"],
      ["yes", "inspector"],
    ] as const;
    for (const [inspector, field] of bad) {
      expect(() => createServer({ rooms: [vault], inspector: inspector as never }), field).toThrow(new RegExp(`createServer: ${field.replace(".", "\\.")} must be`));
    }
  });

  it("is off by default: its paths are the app's, a 404 without one", async () => {
    t = await startTestServer({ rooms: [vault] });
    for (const path of ["", "/", "/inspector.js", "/api/rooms"]) {
      const response = await api(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("content-security-policy")).toBeNull();
    }
  });
});

describe("who may use the inspector", () => {
  it("refuses the API without the token, or with a wrong one", async () => {
    await start();
    for (const token of [null, "", "wrong", TOKEN.slice(0, -1), `${TOKEN}x`]) {
      const response = await api("/api/rooms", { token });
      expect(response.status, String(token)).toBe(401);
      expect(await response.json()).toEqual({ code: "UNAUTHORIZED", message: expect.any(String) });
    }
    expect((await api("/api/rooms")).status).toBe(200);
  });

  it("refuses cross-origin requests, even with the token", async () => {
    await start();
    const evil = { origin: "http://evil.example" };
    expect((await api("/api/rooms", { headers: evil })).status).toBe(403);
    expect((await api("/api/rooms", { headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await api("/api/events", { headers: evil })).status).toBe(403);
    const login = await api("/api/login", { token: null, method: "POST", headers: { ...evil, "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN }) });
    expect(login.status).toBe(403);
    expect(login.headers.get("set-cookie")).toBeNull();
    // The same origin is fine.
    expect((await api("/api/rooms", { headers: { origin: t!.url, "sec-fetch-site": "same-origin" } })).status).toBe(200);
  });

  it("logs a page in with a cookie: HttpOnly, SameSite=Strict, scoped to its path; a forged one is refused", async () => {
    await start();
    const login = (body: string, type = "application/json") => api("/api/login", { token: null, method: "POST", headers: { "content-type": type }, body });
    expect((await login(JSON.stringify({ token: "wrong" }))).status).toBe(401);
    expect((await login(`token=${TOKEN}`, "application/x-www-form-urlencoded")).status).toBe(415);
    const ok = await login(JSON.stringify({ token: TOKEN }));
    expect(ok.status).toBe(204);
    const setCookie = ok.headers.get("set-cookie")!;
    expect(setCookie).toMatch(new RegExp(`^cellar_inspector=\\d+\\.[\\w-]+; Path=${PATH}; Max-Age=28800; HttpOnly; SameSite=Strict$`));
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(";")[0]!;
    expect((await api("/api/rooms", { token: null, headers: { cookie } })).status).toBe(200);

    const [expires, mac] = cookie.slice("cellar_inspector=".length).split(".");
    const forged = [`cellar_inspector=${Number(expires) + 1000}.${mac}`, `cellar_inspector=${expires}.${mac!.slice(1)}`, `cellar_inspector=${Date.now() - 1}.${mac}`];
    for (const value of forged) expect((await api("/api/rooms", { token: null, headers: { cookie: value } })).status, value).toBe(401);

    const out = await api("/api/logout", { token: null, method: "POST", headers: { cookie } });
    expect(out.headers.get("set-cookie")).toMatch(/^cellar_inspector=; Path=[^;]+; Max-Age=0;/);
  });

  it("sends strict headers with the page, the API and its refusals", async () => {
    await start();
    expect((await api("", { redirect: "manual" })).headers.get("location")).toBe(`${PATH}/`);
    for (const [path, token] of [["/", null], ["/inspector.js", null], ["/api/rooms", TOKEN], ["/api/rooms", null]] as const) {
      const response = await api(path, { token });
      expect(response.headers.get("content-security-policy"), path).toContain("default-src 'none'");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    }
    expect((await api("/inspector.js")).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });
});

describe("what the inspector shows", () => {
  it("lists room kinds and instances: live, hibernated with connections, and only on disk", async () => {
    await start();
    await setUp("live");
    await setUp("sleeping");
    const gone = await setUp("on-disk");
    gone.close();
    await vi.waitFor(() => expect(t!.server.stats().connections).toBe(2));
    expect(t!.server.hibernate("vault", "sleeping")).toBe(1);
    await vi.waitFor(() => expect(t!.server.hibernate("vault", "on-disk")).toBe(1));

    const list = await json("/api/rooms");
    expect(list.kinds).toEqual([{ name: "vault", live: 1, hibernated: 1, stored: 3, storedCapped: false }]);
    const byId = Object.fromEntries(list.instances.map((i: { id: string }) => [i.id, i]));
    expect(byId.live).toMatchObject({ kind: "vault", status: "live", connections: 1, detached: 0, sql: true, lastActivity: expect.any(Number) });
    expect(byId.sleeping).toMatchObject({ status: "hibernated", connections: 1, sql: true, lastActivity: expect.any(Number) });
    expect(byId["on-disk"]).toMatchObject({ status: "stored", connections: 0, sql: true, lastActivity: expect.any(Number) });
    expect(byId.live.bytes).toBeGreaterThan(0);
    expect(list.instances.map((i: { id: string }) => i.id)).toEqual(["live", "on-disk", "sleeping"]);

    const page = await json("/api/rooms?kind=vault&limit=1&offset=1");
    expect(page.instances.map((i: { id: string }) => i.id)).toEqual(["on-disk"]);
    expect(page.more).toBe(true);
    expect((await api("/api/rooms?limit=0")).status).toBe(400);
    expect((await api("/api/rooms?offset=-1")).status).toBe(400);
  });

  it("shows a live instance in detail: state and storage decoded, SQL tables, alarms, the log's head, sessions", async () => {
    await start();
    await setUp("main");
    const view = await json(instancePath("main"));
    expect(view).toMatchObject({ kind: "vault", id: "main", status: "live", connections: 1 });
    expect(view.state.room).toEqual({
      count: 0,
      owner: "‹redacted›",
      labels: { $type: "Map", size: 2, entries: [["greeting", "hello"]] },
      since: { $type: "Date", value: "1970-01-01T00:00:00.000Z" },
    });
    expect(view.state.scopes).toEqual([{ scope: "u:ana", values: { nick: "Ana" } }]);
    expect(view.storage).toMatchObject({ offset: 0, count: 3, entries: [{ key: "greeting", value: { text: "hi", big: { $type: "bigint", value: "10" } } }, { key: "participant:‹redacted›", value: { name: "Ana" } }] });
    expect(view.sql).toEqual({
      present: true,
      more: false,
      tables: [
        { name: "api_tokens", rows: 1, rowsCapped: false, columns: [], firstRows: [], hidden: true },
        { name: "notes", rows: 1, rowsCapped: false, columns: ["id", "text"], firstRows: [[1, "first note"]] },
      ],
    });
    expect(view.alarms).toEqual({ count: 1, items: [{ id: expect.any(String), name: "reminder", scheduledAt: expect.any(Number), dueAt: expect.any(Number), attempt: 0, payload: { about: "tea" } }] });
    expect(view.log).toEqual([{ seq: 1, at: expect.any(Number), to: "all", frame: { t: "event", event: "setup:done", data: { ok: true }, seq: 1 } }]);
    expect(view.sessions).toEqual([{ id: expect.any(String), userId: "ana", state: "open", detachedAt: null, channels: [] }]);
    expect(view.seq).toEqual({ last: 1, trimmedUpTo: 0 });
    expect(view.redacted).toBeGreaterThanOrEqual(8);

    const page = await json(`${instancePath("main")}?prefix=part&limit=1`);
    expect(page.storage.entries.map((e: { key: string }) => e.key)).toEqual(["participant:‹redacted›"]);
    expect((await api(instancePath("nobody"))).status).toBe(404);
    expect((await api("/api/rooms/vault/%E0%A4%A")).status).toBe(400);
  });

  it("shows the SQL tables of an instance whose last handler failed after writing SQL", async () => {
    await start();
    const client = await setUp("broken");
    await expect(client.request("break")).rejects.toMatchObject({ code: "HANDLER_ERROR" });
    const view = await json(instancePath("broken"));
    expect(view.status).toBe("live");
    expect(view.sql.busy).toBeUndefined();
    expect(view.sql.tables[1]).toMatchObject({ name: "notes", rows: 1, firstRows: [[1, "first note"]] });
  });

  it("reads a hibernated instance, and one only on disk, without waking it or changing its files", async () => {
    await start();
    const client = await setUp("asleep");
    expect(t!.server.hibernate("vault", "asleep")).toBe(1);
    expect(t!.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });
    const sqlDir = join(t!.dataDir, "sql", "vault");
    const files = readdirSync(sqlDir).sort();
    hooks.length = 0;

    const view = await json(instancePath("asleep"));
    expect(view).toMatchObject({ status: "hibernated", connections: 1, state: { room: { count: 0 } } });
    expect(view.sql.tables.map((table: { name: string }) => table.name)).toEqual(["api_tokens", "notes"]);
    await json("/api/rooms");
    expect(t!.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });
    expect(hooks).toEqual([]);
    expect(readdirSync(sqlDir).sort()).toEqual(files);

    // The instance wakes as usual afterwards, SQL file and all, and the inspector sees the change.
    expect(await client.request("increment")).toBe(1);
    expect(hooks).toEqual(["restore"]);
    const after = await json(instancePath("asleep"));
    expect(after).toMatchObject({ status: "live", state: { room: { count: 1 } } });
    expect(after.sql.tables[1]).toMatchObject({ name: "notes", rows: 2 });

    client.close();
    await vi.waitFor(() => expect(t!.server.stats().connections).toBe(0));
    await vi.waitFor(() => expect(t!.server.hibernate("vault", "asleep")).toBe(1));
    expect(t!.server.stats().rooms).toEqual({ live: 0, hibernated: 0 });
    hooks.length = 0;
    const stored = await json(instancePath("asleep"));
    expect(stored).toMatchObject({ status: "stored", connections: 0, state: { room: { count: 1 } }, sessions: [] });
    expect(stored.sql.tables[1]).toMatchObject({ name: "notes", rows: 2 });
    expect(t!.server.stats().rooms).toEqual({ live: 0, hibernated: 0 });
    expect(hooks).toEqual([]);
    expect(readdirSync(sqlDir).sort()).toEqual(files);
  });

  it("streams a view again when it changes (Server-Sent Events)", async () => {
    await start();
    const client = await setUp("streamed");
    const response = await api(`/api/events?kind=vault&id=streamed`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = readEvents(response.body!);
    expect((await events.next()).state.room.count).toBe(0);
    expect(await client.request("increment")).toBe(1);
    expect((await events.next()).state.room.count).toBe(1);
    await events.close();
    expect((await api(`/api/events?kind=vault&id=${"x".repeat(200)}`)).status).toBe(400);
  });

  it("follows at most 8 streams at once, and ends them when the server shuts down", async () => {
    await start();
    const streams = await Promise.all(Array.from({ length: 8 }, () => api("/api/events")));
    expect(streams.map((r) => r.status)).toEqual(Array(8).fill(200));
    const ninth = await api("/api/events");
    expect(ninth.status).toBe(429);
    expect(await ninth.json()).toMatchObject({ code: "RATE_LIMITED" });
    const readers = streams.map((r) => readEvents(r.body!));
    for (const reader of readers) expect((await reader.next()).kinds).toHaveLength(1);
    // A closed page frees its place.
    await readers.pop()!.close();
    await vi.waitFor(async () => expect((await api("/api/rooms")).status).toBe(200));
    const again = await vi.waitFor(async () => {
      const response = await api("/api/events");
      expect(response.status).toBe(200);
      return response;
    });
    readers.push(readEvents(again.body!));
    expect((await readers.at(-1)!.next()).kinds).toHaveLength(1);
    const started = Date.now();
    await t!.close();
    t = undefined;
    for (const reader of readers) await expect(reader.next()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("never lets a secret out: no field named like one, no hash-looking value", async () => {
    await start();
    resumeTokens.clear();
    await setUp("secrets");
    await setUp("secrets-asleep", "bo");
    t!.server.hibernate("vault", "secrets-asleep");
    expect(resumeTokens.size).toBe(2);

    const events = readEvents((await api("/api/events?kind=vault&id=secrets")).body!);
    const bodies = [
      await json("/api/rooms"),
      await json(instancePath("secrets")),
      await json(instancePath("secrets-asleep")),
      await json(`${instancePath("secrets")}?prefix=participant`),
      await events.next(),
    ];
    await events.close();
    // Alarm ids are Cellar's own (time, counter, random tail): no secret, but random-looking.
    const alarmIds: string[] = bodies.flatMap((body) => body.alarms?.items.map((a: { id: string }) => a.id) ?? []);
    expect(alarmIds.length).toBeGreaterThan(0);
    let text = JSON.stringify(bodies);
    for (const id of alarmIds) text = text.replaceAll(id, "alarm-id");

    const secrets = [HOST_KEY, await sha256(HOST_KEY), REJOIN, await sha256("owner"), await sha256("pw"), "map-token-value", "storage-secret-value", "alarm-key-value"];
    for (const token of resumeTokens) {
      const secret = token.slice(token.indexOf(".") + 1);
      secrets.push(token, secret, await sha256(secret), await sha256(token));
    }
    for (const secret of secrets) expect(text, secret).not.toContain(secret);
    const names = fieldNames(bodies);
    expect(names.filter((name) => /token|secret|hash|passw|apikey/i.test(name))).toEqual([]);
    // Hashes and tokens: base64url of 16+ random bytes, or hex.
    expect(text.match(/[A-Za-z0-9_-]{22,}|[0-9a-f]{32,}/gi)?.filter((run) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run)) ?? []).toEqual([]);
  });
});

/** Every object key anywhere in `value`. */
function fieldNames(value: unknown, names: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) fieldNames(item, names);
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      names.push(key);
      fieldNames(item, names);
    }
  }
  return names;
}

/** Reads `data:` events of a Server-Sent Events body. */
function readEvents(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(): Promise<any> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split("\n").find((line) => line.startsWith("data: "));
          if (data) return JSON.parse(data.slice("data: ".length));
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => reader.cancel(),
  };
}
