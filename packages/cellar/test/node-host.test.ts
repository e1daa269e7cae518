import Database from "better-sqlite3";
import { Hono } from "hono";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CellarError, defineRoom } from "cellar";
import { notes } from "./conformance/rooms.js";
import { createServer } from "cellar/node";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";

let servers: TestServer[] = [];
afterEach(async () => {
  for (const t of servers) await t.close();
  servers = [];
});
async function start(options: Parameters<typeof startTestServer>[0]) {
  const t = await startTestServer(options);
  servers.push(t);
  return t;
}

describe("createServer options", () => {
  it("refuses invalid options with INVALID_OPTION naming the field", () => {
    const bad: Array<[object, string]> = [
      [{ rooms: [] }, "rooms"],
      [{ rooms: [notes, notes] }, "rooms"],
      [{ rooms: [notes], port: 70000 }, "port"],
      [{ rooms: [notes], durability: "fast" }, "durability"],
      [{ rooms: [notes], hibernateAfterMs: -1 }, "hibernateAfterMs"],
      [{ rooms: [notes], rateLimit: { burst: 0 } }, "rateLimit.burst"],
      [{ rooms: [notes], limits: { maxKeyBytes: 10_000 } }, "limits.maxKeyBytes"],
      [{ rooms: [notes], http: 42 }, "http"],
      [{ rooms: [notes], allowedOrigins: "https://x" }, "allowedOrigins"],
    ];
    for (const [options, field] of bad) {
      const error = (() => {
        try {
          createServer(options as never);
        } catch (e) {
          return e as CellarError;
        }
      })();
      expect(error?.code, field).toBe("INVALID_OPTION");
      expect(error?.message, field).toContain(field);
    }
  });

  it("refuses a second server on the same data directory", async () => {
    const t = await start({ rooms: [notes] });
    const second = createServer({ rooms: [notes], dataDir: t.dataDir, port: 0, logLevel: "silent", signals: false });
    await expect(second.listen()).rejects.toMatchObject({ code: "INVALID_OPTION", message: expect.stringContaining("in use") });
  });

  it("runs with durability: full", async () => {
    const dataDir = tempDataDir();
    const t = await start({ rooms: [notes], durability: "full", dataDir });
    expect(await (await t.connect("notes", "a")).request("add", "hello")).toBe(1);
    await t.close({ keepData: true });
    servers = [];
    const again = await start({ rooms: [notes], durability: "full", dataDir });
    expect(await (await again.connect("notes", "a")).request("read")).toEqual({ count: 1, rows: 1 });
  });
});

describe("one port for rooms and the app", () => {
  // A room's own websocketPath is tested on every host in conformance/access.test.ts.
  it("hands other HTTP requests to a Hono app", async () => {
    const app = new Hono().get("/api/hello", (c) => c.json({ hello: "world" }));
    const t = await start({ rooms: [notes], http: app });
    expect(await (await fetch(`${t.url}/api/hello`)).json()).toEqual({ hello: "world" });
    expect((await fetch(`${t.url}/missing`)).status).toBe(404);
  });

  it("accepts a Node request listener", async () => {
    const t = await start({ rooms: [notes], http: (_req, res) => res.end("plain node") });
    expect(await (await fetch(t.url)).text()).toBe("plain node");
  });
});

describe("server.invoke and server.kv", () => {
  it("run code inside an instance and reach KV from outside rooms", async () => {
    const t = await start({ rooms: [notes] });
    expect(await t.server.invoke("notes", "b", (ctx) => (ctx.state as { count: number }).count)).toBe(0);
    await t.server.invoke("notes", "b", async (ctx) => {
      (ctx.state as { count: number }).count = 41;
      await ctx.kv("INDEX").put("b", "41");
    });
    expect(await (await t.connect("notes", "b")).request("add", "y")).toBe(42);
    expect(await t.server.kv("INDEX").get("b")).toBe("41");
    await expect(t.server.invoke("nope", "x", () => 1)).rejects.toMatchObject({ code: "ROOM_NOT_FOUND" });
    await expect(t.server.invoke("notes", "b", () => { throw new CellarError("NO", "refused"); })).rejects.toMatchObject({ code: "NO" });
  });
});

describe("SQL redo records", () => {
  it("apply at the next start when the shared commit was lost after the SQL file's", async () => {
    const dataDir = tempDataDir();
    const t = await start({ rooms: [notes], dataDir });
    const c = await t.connect("notes", "r");
    await c.request("add", "one");
    await c.request("add", "two");
    await t.close({ keepData: true });
    servers = [];

    // Make cellar.db look as if the process died between the two commits of the second add:
    // its state write and turn are missing, and the shutdown was not clean.
    const db = new Database(join(dataDir, "cellar.db"));
    const { id, sql_turn } = db.prepare("SELECT id, sql_turn FROM instances WHERE kind = 'notes' AND name = 'r'").get() as { id: number; sql_turn: number };
    const one = db.prepare("SELECT value FROM state WHERE instance = ? AND key = 'count'").get(id) as { value: string };
    expect(JSON.parse(one.value)).toEqual([2]);
    db.prepare("UPDATE state SET value = ? WHERE instance = ? AND key = 'count'").run("[1]", id);
    db.prepare("UPDATE instances SET sql_turn = ? WHERE id = ?").run(sql_turn - 1, id);
    db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
    db.close();

    const again = await start({ rooms: [notes], dataDir });
    expect(await (await again.connect("notes", "r")).request("read")).toEqual({ count: 2, rows: 2 });
  });
});

describe("server.invoke arguments", () => {
  it("refuses instance ids the router would refuse, and empty KV namespace names", async () => {
    const t = await start({ rooms: [notes] });
    for (const id of ["", "a/b", "x".repeat(129), "tab\there"]) {
      await expect(t.server.invoke("notes", id, () => 1)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    expect(() => t.server.kv("")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("dead and slow sockets", () => {
  const shout = defineRoom({ name: "shout", state: {} });
  shout.on("flood", (ctx, megabytes) => {
    for (let i = 0; i < Number(megabytes); i++) ctx.emit.broadcast("blob", "x".repeat(1024 * 1024));
  });

  it("cuts off a socket that stops answering heartbeat pings", async () => {
    const t = await start({ rooms: [shout], heartbeatIntervalMs: 50 });
    const healthy = await t.connect("shout", "s");
    // A paused socket reads nothing, so it never answers the server's pings.
    const { WebSocket } = await import("ws");
    const raw = new WebSocket(t.server.roomUrl("shout", "s"));
    await new Promise((resolve) => raw.once("open", resolve));
    (raw as unknown as { _socket: { pause(): void } })._socket.pause();
    expect(t.server.stats().connections).toBe(2);
    await vi.waitFor(() => expect(t.server.stats().connections).toBe(1), { timeout: 5000, interval: 10 });
    // The well-behaved client answered every ping and is still served.
    expect(await healthy.request("flood", 0)).toBeUndefined();
    raw.terminate();
  });

  it("cuts off a reader that falls more than 16 MiB behind, and keeps serving the others", async () => {
    const t = await start({ rooms: [shout] });
    const sender = await t.connect("shout", "f");
    const { WebSocket } = await import("ws");
    const slow = new WebSocket(t.server.roomUrl("shout", "f"));
    await new Promise((resolve) => slow.once("open", resolve));
    slow.send(JSON.stringify({ t: "hello", v: 1 }));
    await new Promise((resolve) => slow.once("message", resolve));
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    expect(t.server.stats().connections).toBe(2);
    // 4 MiB at a time: the sender reads each burst before asking for the next, the paused
    // reader falls further behind with each one.
    for (let i = 0; i < 8 && t.server.stats().connections === 2; i++) await sender.request("flood", 4);
    expect(t.server.stats().connections).toBe(1);
    expect(await sender.request("flood", 0)).toBeUndefined();
    slow.terminate();
  });
});
