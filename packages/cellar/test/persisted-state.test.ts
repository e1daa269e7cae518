// Round trips, deep and shallow mode, and PersistError as clients see it are in
// conformance/persisted-state.test.ts; what needs the Node host (hooks, the database file) stays here.
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CellarError, defineRoom, type PersistError } from "cellar";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";

let servers: TestServer[] = [];
afterEach(async () => {
  for (const t of servers) await t.close();
  servers = [];
});

async function start(rooms: Parameters<typeof startTestServer>[0]["rooms"], dataDir: string) {
  const t = await startTestServer({ rooms, dataDir });
  servers.push(t);
  return t;
}

/** Restarts: closes the server and starts a new one on the same data directory. */
async function restart(t: TestServer, rooms: Parameters<typeof startTestServer>[0]["rooms"]) {
  await t.close({ keepData: true });
  servers = servers.filter((s) => s !== t);
  return start(rooms, t.dataDir);
}

describe("values that cannot be stored", () => {
  it("call onPersistError with the key (what the client sees: conformance/persisted-state)", async () => {
    const errors: Array<[string, string]> = [];
    const room = defineRoom({
      name: "bad",
      state: { fn: null as unknown },
      persistedKeys: ["fn"],
      onPersistError: (key, error) => void errors.push([key, error.message]),
    });
    room.on("evil", (ctx) => {
      ctx.state.fn = { nested: { handler: () => 1 } };
    });
    const t = await start([room], tempDataDir());
    const c = await t.connect("bad", "b");
    await expect(c.request("evil")).rejects.toMatchObject({ code: "PERSIST_ERROR" });
    expect(errors.map(([key]) => key)).toEqual(["fn"]);
  });

  it("with throwOnError: false are reported and skipped, the rest is saved", async () => {
    const reported: string[] = [];
    const room = defineRoom({
      name: "lenient",
      state: { ok: 0, sym: null as unknown },
      persistedKeys: ["ok", "sym"],
      persistOptions: { throwOnError: false },
      onPersistError: (key) => void reported.push(key),
    });
    room.on("set", (ctx) => {
      ctx.state.ok = 7;
      ctx.state.sym = Symbol("nope");
      return "done";
    });
    room.on("read", (ctx) => ctx.state.ok);
    let t = await start([room], tempDataDir());
    expect(await (await t.connect("lenient", "l")).request("set")).toBe("done");
    expect(reported).toEqual(["sym"]);
    t = await restart(t, [room]);
    expect(await (await t.connect("lenient", "l")).request("read")).toBe(7);
  });
});

describe("corrupt stored data", () => {
  const room = defineRoom({
    name: "fragile",
    state: { good: 1, broken: "initial" },
    persistedKeys: ["good", "broken"],
    onPersistError: (key, error) => void reports.push({ key, error: error as PersistError }),
  });
  const reports: Array<{ key: string; error: PersistError }> = [];
  room.on("write", (ctx) => {
    ctx.state.good = 2;
    ctx.state.broken = "written";
  });
  room.on("readGood", (ctx) => ctx.state.good);
  room.on("readBroken", (ctx) => ctx.state.broken);

  it("is reported with its key, never replaced by the initial value", async () => {
    const dataDir = tempDataDir();
    const t = await start([room], dataDir);
    await (await t.connect("fragile", "f")).request("write");
    await t.close({ keepData: true });
    servers = [];

    const db = new Database(join(dataDir, "cellar.db"));
    db.prepare("UPDATE state SET value = ? WHERE key = 'broken'").run("{not devalue");
    db.close();

    const again = await start([room], dataDir);
    const c = await again.connect("fragile", "f");
    expect(await c.request("readGood")).toBe(2);
    const failure = (await c.request("readBroken").catch((e) => e)) as CellarError;
    expect(failure.code).toBe("PERSIST_ERROR");
    expect(failure.message).toContain('"broken"');
    expect(reports.map((r) => r.key)).toContain("broken");
  });
});
