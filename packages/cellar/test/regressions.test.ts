import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { CellarError, defineConnection, defineRoom } from "cellar";
import type { CellarClient } from "cellar/client";
import { latches } from "./helpers/latches.js";
import { startTestServer, type TestServer } from "cellar/testing";
import { RawSocket } from "./helpers/raw-socket.js";

/*
 * Regression tests from a review of the durability and ordering logic: each scenario broke a
 * guarantee of the spec or a promise of the docs before it was fixed.
 */

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});


const within = <T>(p: Promise<T>, ms: number): Promise<T | "TIMED OUT"> =>
  Promise.race([p, sleep(ms).then(() => "TIMED OUT" as const)]);

describe("instance row id cached from a rolled-back transaction", () => {
  const kv = defineRoom({ name: "kvroom", state: {} });
  kv.on("put", async (ctx, data) => {
    const { key, value } = data as { key: string; value: string };
    await ctx.storage.put(key, value);
    return true;
  });
  kv.on("get", async (ctx, key) => (await ctx.storage.get(key as string)) ?? null);

  it("an acknowledged write of an instance whose FIRST commit failed survives hibernation", async () => {
    t = await startTestServer({ rooms: [kv], limits: { maxInstanceBytes: 4096 } });
    const y = await t.connect("kvroom", "y");
    const first = await y.request("put", { key: "big", value: "x".repeat(5000) }).catch((e: CellarError) => e.code);
    expect(first).toBe("STORAGE_LIMIT");
    expect(await y.request("put", { key: "secret", value: "y-secret" })).toBe(true); // acknowledged
    expect(t.server.hibernate("kvroom", "y")).toBe(1);
    expect(await y.request("get", "secret")).toBe("y-secret");
  });

  it("the instance size limit is still enforced after the first commit failed", async () => {
    t = await startTestServer({ rooms: [kv], limits: { maxInstanceBytes: 4096 } });
    const y = await t.connect("kvroom", "y");
    await y.request("put", { key: "big", value: "x".repeat(5000) }).catch(() => undefined);
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i++) codes.push(await y.request("put", { key: `k${i}`, value: "x".repeat(3000) }).catch((e: CellarError) => e.code));
    expect(codes.filter((c) => c === true).length).toBeLessThanOrEqual(1);
  });

  it("a new instance does not inherit another instance's storage", async () => {
    t = await startTestServer({ rooms: [kv], limits: { maxInstanceBytes: 4096 } });
    const y = await t.connect("kvroom", "y");
    await y.request("put", { key: "big", value: "x".repeat(5000) }).catch(() => undefined);
    await y.request("put", { key: "secret", value: "y-secret" });
    const z = await t.connect("kvroom", "z");
    await z.request("put", { key: "mine", value: "z" });
    t.server.hibernate("kvroom", "z");
    expect(await z.request("get", "secret")).toBeNull();
  });
});

describe("a commit failure while a later handler of the room is mid-await", () => {
  function room(gate: ReturnType<typeof latches>) {
    const r = defineRoom({ name: "mid", state: { a: 0, b: 0 }, persistedKeys: ["a", "b"] });
    r.on("warm", async (ctx) => void (await ctx.storage.put("w", 1)));
    r.on("big", async (ctx) => {
      await gate.wait("go");
      ctx.state.a = 1;
      await ctx.storage.put("x", 1);
      await ctx.storage.put("blob", "x".repeat(5000)); // INSTANCE_SIZE at commit
      return "big";
    });
    r.on("setb", async (ctx) => {
      ctx.state.b = 7;
      await sleep(50); // the commit of "big" fails here
      return ctx.state.b;
    });
    r.on("copy", async (ctx) => {
      const v = await ctx.storage.get("x"); // sees big's uncommitted write
      await sleep(50);
      await ctx.storage.put("y", v);
      return v ?? null;
    });
    r.on("read", async (ctx) => ({ a: ctx.state.a, b: ctx.state.b, x: (await ctx.storage.get("x")) ?? null, y: (await ctx.storage.get("y")) ?? null }));
    return r;
  }

  async function scenario(second: string) {
    const gate = latches();
    t = await startTestServer({ rooms: [room(gate)], limits: { maxInstanceBytes: 4096 } });
    const c = await t.connect("mid", "m");
    await c.request("warm");
    const p1 = c.request("big").catch((e: CellarError) => e.code);
    const p2 = c.request(second).catch((e: CellarError) => e.code);
    await sleep(100); // both queued; "big" held at its latch
    gate.release("go");
    return { c, big: await p1, second: await p2 };
  }

  // A failed commit fails the handler running at that moment too (as a Durable Object resets):
  // it ran on state that was just rolled back. What it must never do is be acknowledged
  // with, or commit, anything built on the lost writes.
  it("fails the later handler too, so none of its writes is half kept", async () => {
    const { c, big, second } = await scenario("setb");
    expect(big).toBe("STORAGE_LIMIT");
    expect(second).toBe("PERSIST_FAILED");
    expect(await c.request("read")).toMatchObject({ a: 0, b: 0 }); // memory
    t!.server.hibernate("mid", "m");
    expect(await c.request("read")).toMatchObject({ a: 0, b: 0 }); // disk
  });

  it("never acknowledges, nor commits, a value whose commit failed", async () => {
    const { c, big, second } = await scenario("copy");
    expect(big).toBe("STORAGE_LIMIT");
    expect(second).toBe("PERSIST_FAILED");
    t!.server.hibernate("mid", "m");
    expect(await c.request("read")).toMatchObject({ x: null, y: null });
  });
});

describe("a failed onConnect that ran SQL strands the batch before it", () => {
  it("the earlier handler's ack is still sent", async () => {
    const gate = latches();
    const r = defineRoom({
      name: "stuck",
      state: { n: 0 },
      persistedKeys: ["n"],
      async authenticate(_req, ctx) {
        if (!ctx.params.bad) return {};
        ctx.storage.sql.exec("SELECT 1"); // e.g. a user lookup
        await sleep(30); // e.g. verifying a token
        throw new CellarError("UNAUTHORIZED", "no");
      },
    });
    r.on("slowinc", async (ctx) => {
      await gate.wait("go");
      return ++ctx.state.n;
    });
    t = await startTestServer({ rooms: [r] });
    const c1 = await t.connect("stuck", "s");
    const p = c1.request("slowinc", undefined, { timeoutMs: 60_000 });
    const bad = t.client("stuck", "s", { params: { bad: true } });
    bad.waitForConnection().catch(() => undefined);
    await sleep(100);
    gate.release("go");
    expect(await within(p, 2000)).toBe(1);
  });
});

describe("socket closed while authenticate runs", () => {
  it("does not leave a ghost connection whose onDisconnect never runs", async () => {
    const gate = latches();
    const disconnects: string[] = [];
    const r = defineRoom({
      name: "ghost",
      state: { present: [] as string[] },
      persistedKeys: ["present"],
      async authenticate(_req, ctx) {
        if (ctx.params.hold) await gate.wait("auth");
        return {};
      },
      onConnect(ctx) {
        ctx.state.present = [...ctx.state.present, ctx.connection!.id];
      },
      onDisconnect(ctx) {
        disconnects.push(ctx.connection!.id);
        ctx.state.present = ctx.state.present.filter((id) => id !== ctx.connection!.id);
      },
    });
    r.on("who", (ctx) => ctx.state.present);
    t = await startTestServer({ rooms: [r] });
    const observer = await t.connect("ghost", "g");
    const ghost = await RawSocket.open(t.server.roomUrl("ghost", "g"));
    ghost.send({ t: "hello", v: 1, params: { hold: true } });
    await sleep(50);
    ghost.close(); // gone while authenticate awaits
    await sleep(50);
    gate.release("auth");
    await sleep(50);
    expect(await observer.request("who")).toEqual([observer.connectionId]);
  });
});

describe("alarms", () => {
  it("an alarm whose cancel() returned true does not fire", async () => {
    let fired = 0;
    const r = defineRoom({
      name: "al",
      state: { alarmId: "" },
      persistedKeys: ["alarmId"],
      onAlarm() {
        fired++;
      },
    });
    r.on("arm", async (ctx) => (ctx.state.alarmId = await ctx.schedule.after(30, "x")));
    r.on("slowcancel", async (ctx) => {
      await sleep(200); // the alarm falls due and is queued behind this handler
      return ctx.schedule.cancel(ctx.state.alarmId);
    });
    t = await startTestServer({ rooms: [r] });
    const c = await t.connect("al", "a");
    await c.request("arm");
    expect(await c.request("slowcancel")).toBe(true);
    await sleep(300);
    expect(fired).toBe(0);
  });
});

describe("calls after the handler returned (api.md: 'throws INVALID_ARGUMENT instead of being lost silently')", () => {
  it("schedule and sql calls after return are refused", async () => {
    const results: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const r = defineRoom({ name: "late", state: {} });
    r.on("late", (ctx) => {
      setTimeout(async () => {
        await ctx.schedule.after(10_000, "x").then(
          () => results.push("schedule ok"),
          (e: CellarError) => results.push(`schedule ${e.code}`),
        );
        try {
          ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (x)");
          results.push("sql ok");
        } catch (e) {
          results.push(`sql ${(e as CellarError).code}`);
        }
        done();
      }, 20);
    });
    t = await startTestServer({ rooms: [r] });
    const c = await t.connect("late", "l");
    await c.request("late");
    await finished;
    expect(results).toEqual(["schedule INVALID_ARGUMENT", "sql INVALID_ARGUMENT"]);
  });
});

describe("a room whose onCreate fails", () => {
  it("leaves no routing entry behind per id tried", async () => {
    const r = defineRoom({
      name: "brk",
      state: {},
      onCreate() {
        throw new Error("boom");
      },
    });
    t = await startTestServer({ rooms: [r] });
    for (let i = 0; i < 20; i++) await t.server.invoke("brk", `b${i}`, () => 1).catch(() => undefined);
    expect(t.server.stats().rooms).toEqual({ live: 0, hibernated: 0 });
  });
});

describe("per-user connection state when the user reconnects behind a slow handler", () => {
  it("the new connection sees the user's last write", async () => {
    const gate = latches();
    const r = defineRoom({
      name: "pref",
      state: {},
      authenticate: (_req, ctx) => ({ userId: String(ctx.params.user) }),
      connection: defineConnection({ state: { theme: "light" }, persistedKeys: ["theme"] }),
    });
    r.on("setTheme", async (ctx, theme) => {
      await gate.wait("t");
      (ctx.connection!.state as { theme: string }).theme = theme as string;
    });
    r.on("theme", (ctx) => (ctx.connection!.state as { theme: string }).theme);
    t = await startTestServer({ rooms: [r] });
    const c1 = await t.connect("pref", "p", { params: { user: "u" } });
    c1.emit("setTheme", "dark");
    await sleep(50);
    c1.close(); // page refresh while setTheme is running
    const c2: CellarClient = t.client("pref", "p", { params: { user: "u" } });
    await sleep(100);
    gate.release("t");
    await c2.waitForConnection();
    const inMemory = await c2.request("theme");
    t.server.hibernate("pref", "p");
    const onDisk = await c2.request("theme");
    expect({ inMemory, onDisk }).toEqual({ inMemory: "dark", onDisk: "dark" });
  });
});

describe("onDisconnect of a connection whose room hibernated", () => {
  it("can read the connection state", async () => {
    const seen: unknown[] = [];
    const r = defineRoom({
      name: "hd",
      state: {},
      connection: defineConnection({ state: { n: 0 }, persistedKeys: ["n"] }),
      onDisconnect(ctx) {
        try {
          seen.push((ctx.connection!.state as { n: number }).n);
        } catch (error) {
          seen.push((error as Error).message);
        }
      },
    });
    r.on("inc", (ctx) => ++(ctx.connection!.state as { n: number }).n);
    t = await startTestServer({ rooms: [r] });
    const c = await t.connect("hd", "h");
    expect(await c.request("inc")).toBe(1);
    expect(t.server.hibernate("hd", "h")).toBe(1);
    c.close();
    await sleep(200);
    expect(seen).toEqual([1]);
  });
});

describe("state rows of a user-less connection", () => {
  it("are dropped when it closes while its room is hibernated", async () => {
    const Database = (await import("better-sqlite3")).default;
    const r = defineRoom({ name: "hd2", state: {}, connection: defineConnection({ state: { n: 0 }, persistedKeys: ["n"] }) });
    r.on("inc", (ctx) => ++(ctx.connection!.state as { n: number }).n);
    t = await startTestServer({ rooms: [r] });
    const { dataDir } = t;
    const c = await t.connect("hd2", "h");
    await c.request("inc");
    t.server.hibernate("hd2", "h");
    c.close();
    await sleep(200);
    await t.close({ keepData: true });
    t = undefined;
    const db = new Database(`${dataDir}/cellar.db`, { readonly: true });
    const rows = db.prepare("SELECT scope FROM state WHERE scope LIKE 'c:%'").all();
    db.close();
    expect(rows).toEqual([]);
  });
});
