import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, tempDataDir, type ServerProcess, type TestServer } from "cellar/testing";
// The program under test is the example: Verani's documented counter, only its import changed.
import { CounterActor } from "../../../../examples/verani-counter/src/room.js";
import { ActivityActor } from "./fixtures/activity-room.js";
import { Clients, startVeraniProcess } from "./helpers.js";

/*
 * Verani's documented counter room, unchanged but for its import, through a real server and
 * real VeraniClients: warm, after a forced hibernation, after a restart and after a SIGKILL.
 */

const COUNTER_EVENTS = ["counter:sync", "counter:update", "counter:reset"];
const clients = new Clients();
let servers: TestServer[] = [];
let processes: ServerProcess[] = [];

afterEach(async () => {
  clients.closeAll();
  for (const s of servers.splice(0)) await s.close();
  for (const p of processes.splice(0)) await p.kill("SIGKILL");
});

async function start(dataDir?: string): Promise<TestServer> {
  const t = await startTestServer({ rooms: [CounterActor, ActivityActor], ...(dataDir && { dataDir }) });
  servers.push(t);
  return t;
}

describe("Verani's counter room on Cellar", () => {
  it("syncs on connect and broadcasts increment, decrement and reset to the default channel", async () => {
    const t = await start();
    const alice = clients.make(t.url, "/ws/counter?userId=alice", COUNTER_EVENTS);
    const bob = clients.make(t.url, "/ws/counter?userId=bob", COUNTER_EVENTS);
    await alice.client.waitForConnection();
    await bob.client.waitForConnection();
    expect(await alice.next("counter:sync")).toEqual({ count: 0, lastUpdatedBy: null });
    await bob.next("counter:sync");

    alice.client.emit("counter:increment", { amount: 5 });
    expect(await bob.next("counter:update")).toEqual({ count: 5, updatedBy: "alice" });
    expect(await alice.next("counter:update")).toEqual({ count: 5, updatedBy: "alice" });

    bob.client.emit("counter:decrement", { amount: 2 });
    bob.client.emit("counter:increment", {});
    expect(await alice.next("counter:update")).toEqual({ count: 3, updatedBy: "bob" });
    expect(await alice.next("counter:update")).toEqual({ count: 4, updatedBy: "bob" });

    alice.client.emit("counter:get", {});
    expect(await alice.next("counter:sync")).toEqual({ count: 4, lastUpdatedBy: "bob" });
    // counter:get answers only the sender (ctx.emit.emit).
    bob.client.emit("counter:reset", {});
    expect(await alice.next("counter:reset")).toEqual({ resetBy: "bob" });
    expect(bob.received.filter((r) => r.event === "counter:sync")).toHaveLength(1);
  });

  it("serves the websocketPath without :id as the instance named default", async () => {
    const t = await start();
    const viaPath = clients.make(t.url, "/ws/counter", COUNTER_EVENTS);
    viaPath.client.emit("counter:increment", { amount: 7 });
    await viaPath.next("counter:update");
    const viaRooms = clients.make(t.url, "/rooms/counter/default", COUNTER_EVENTS);
    expect((await viaRooms.next("counter:sync")).count).toBe(7);
  });

  it("gives each connection a fresh userId without ?userId=", async () => {
    const t = await start();
    const a = clients.make(t.url, "/ws/counter", COUNTER_EVENTS);
    const b = clients.make(t.url, "/ws/counter", COUNTER_EVENTS);
    a.client.emit("counter:increment", {});
    b.client.emit("counter:increment", {});
    const first = (await a.next("counter:update")).updatedBy;
    const second = (await a.next("counter:update")).updatedBy;
    expect(typeof first).toBe("string");
    expect(first).not.toBe(second);
  });

  it("keeps count and lastUpdatedBy through a forced hibernation", async () => {
    const t = await start();
    const alice = clients.make(t.url, "/ws/counter?userId=alice", COUNTER_EVENTS);
    alice.client.emit("counter:increment", { amount: 3 });
    await alice.next("counter:update");
    expect(t.server.hibernate()).toBeGreaterThan(0);

    alice.client.emit("counter:get", {});
    await alice.next("counter:sync"); // the one onConnect sent
    expect(await alice.next("counter:sync")).toEqual({ count: 3, lastUpdatedBy: "alice" });
    alice.client.emit("counter:increment", {});
    expect(await alice.next("counter:update")).toEqual({ count: 4, updatedBy: "alice" });
  });

  it("keeps count and lastUpdatedBy through a restart on the same data", async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const alice = clients.make(first.url, "/ws/counter?userId=alice", COUNTER_EVENTS);
    alice.client.emit("counter:increment", { amount: 9 });
    await alice.next("counter:update");
    clients.closeAll();
    await first.close({ keepData: true });
    servers = [];

    const second = await start(dataDir);
    const bob = clients.make(second.url, "/ws/counter?userId=bob", COUNTER_EVENTS);
    expect(await bob.next("counter:sync")).toEqual({ count: 9, lastUpdatedBy: "alice" });
  });

  it("keeps every acknowledged increment through a SIGKILL", async () => {
    const dataDir = tempDataDir();
    const boot = async () => {
      const p = await startVeraniProcess(dataDir);
      processes.push(p);
      return p;
    };
    const first = await boot();
    const alice = clients.make(first.url, "/ws/counter?userId=alice", COUNTER_EVENTS);
    for (let i = 0; i < 20; i++) alice.client.emit("counter:increment", { amount: 1 });
    // An update is sent only once its write committed: seeing 20 means 20 are on disk.
    for (let i = 1; i <= 20; i++) expect((await alice.next("counter:update")).count).toBe(i);
    await first.kill("SIGKILL");
    clients.closeAll();

    const second = await boot();
    const bob = clients.make(second.url, "/ws/counter", COUNTER_EVENTS);
    expect(await bob.next("counter:sync")).toEqual({ count: 20, lastUpdatedBy: "alice" });
  });
});

describe("Verani rooms keep Cellar's persistence", () => {
  it("a Date in persisted state comes back as a Date after hibernation and a restart", async () => {
    const dataDir = tempDataDir();
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    const first = await start(dataDir);
    const a = clients.make(first.url, "/ws/activity", ["activity"]);
    a.client.emit("touch", { at });
    a.client.emit("read", {});
    expect(await a.next("activity")).toEqual({ messageCount: 1, isDate: true, at });
    expect(first.server.hibernate()).toBeGreaterThan(0);
    a.client.emit("read", {});
    expect(await a.next("activity")).toEqual({ messageCount: 1, isDate: true, at });
    clients.closeAll();
    await first.close({ keepData: true });
    servers = [];

    const second = await start(dataDir);
    const b = clients.make(second.url, "/ws/activity", ["activity"]);
    b.client.emit("read", {});
    expect(await b.next("activity")).toEqual({ messageCount: 1, isDate: true, at });
  });

  it("getStorage() gives put, delete, list, transaction and sql.exec, kept through hibernation", async () => {
    const t = await start();
    const a = clients.make(t.url, "/ws/activity?userId=ana", ["notes"]);
    a.client.emit("notes:add", { id: 1, text: "one" });
    a.client.emit("notes:add", { id: 2, text: "two" });
    a.client.emit("notes:delete", { id: 1 });
    a.client.emit("transfer", { amount: 30 });
    a.client.emit("transfer", { amount: 500 }); // refused: the transaction and its handler roll back
    const expected = {
      notes: [["note:2", "two"]],
      history: ["one", "two"],
      balances: { "balance:a": 70, "balance:b": 30 },
    };
    a.client.emit("notes:list", {});
    expect(await a.next("notes")).toEqual(expected);
    expect(t.server.hibernate()).toBeGreaterThan(0);
    a.client.emit("notes:list", {});
    expect(await a.next("notes")).toEqual(expected);
  });
});
