import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, tempDataDir, type ServerProcess, type TestServer } from "cellar/testing";
import { ChatRoom, UserConnection } from "./fixtures/user-connection.js";
import { Clients, startVeraniProcess } from "./helpers.js";

/*
 * The per-user connection of Verani's persisted-state tutorial (fixtures/user-connection.ts,
 * Verani's API) through a real server and real VeraniClients: each user's state, storage and
 * SQL are the user's own; a message reaches every member of the room "chat" only once the
 * sender's write committed; all of it survives a forced hibernation and a SIGKILL.
 */

const EVENTS = ["welcome", "message", "theme", "profile", "notes", "direct"];
const clients = new Clients();
let servers: TestServer[] = [];
const processes: ServerProcess[] = [];

afterEach(async () => {
  clients.closeAll();
  for (const s of servers.splice(0)) await s.close();
  for (const p of processes.splice(0)) await p.kill("SIGKILL");
});

async function start(): Promise<TestServer> {
  const t = await startTestServer({ rooms: [UserConnection, ChatRoom] });
  servers.push(t);
  return t;
}

function connect(url: string, userId: string) {
  return clients.make(url, `/ws?userId=${userId}`, EVENTS);
}

describe("Verani's defineConnection on Cellar", () => {
  it("keeps messageCount per user and sends each message to every member of the room", async () => {
    const t = await start();
    const ana = connect(t.url, "ana");
    const bo = connect(t.url, "bo");
    expect(await ana.next("welcome")).toEqual({ messageCount: 0, theme: "dark" });
    await bo.next("welcome");

    ana.client.emit("message", { text: "hello" });
    ana.client.emit("message", { text: "again" });
    bo.client.emit("message", { text: "hi ana" });
    const fromAna = [await bo.next("message"), await bo.next("message"), await bo.next("message")].filter((m) => m.from === "ana");
    expect(fromAna).toEqual([
      { from: "ana", text: "hello", messageNumber: 1 },
      { from: "ana", text: "again", messageNumber: 2 },
    ]);
    // The sender is a member of the room too.
    const anaSaw = [await ana.next("message"), await ana.next("message"), await ana.next("message")];
    expect(anaSaw).toContainEqual({ from: "bo", text: "hi ana", messageNumber: 1 });

    ana.client.emit("profile:get", {});
    expect(await ana.next("profile")).toMatchObject({ messageCount: 2, theme: "dark" });
    bo.client.emit("profile:get", {});
    expect(await bo.next("profile")).toMatchObject({ messageCount: 1 });
  });

  it("sends to one other user's connections with toUser, and to nobody else", async () => {
    const t = await start();
    const ana = connect(t.url, "ana");
    const bo = connect(t.url, "bo");
    const cy = connect(t.url, "cy");
    for (const c of [ana, bo, cy]) await c.next("welcome");
    ana.client.emit("direct", { to: "bo", text: "psst" });
    ana.client.emit("message", { text: "after" });
    expect(await bo.next("direct")).toEqual({ from: "ana", text: "psst" });
    await cy.next("message"); // sent after the direct one
    expect(cy.received.some((r) => r.event === "direct")).toBe(false);
    expect(ana.received.some((r) => r.event === "direct")).toBe(false);
  });

  it("sends nothing to the room when the handler fails after sending (its write rolled back)", async () => {
    const t = await start();
    const ana = connect(t.url, "ana");
    const bo = connect(t.url, "bo");
    await ana.next("welcome");
    await bo.next("welcome");
    ana.client.emit("message", { text: "lost", fail: true });
    ana.client.emit("message", { text: "kept" });
    expect(await bo.next("message")).toEqual({ from: "ana", text: "kept", messageNumber: 1 });
    expect(bo.received.some((r) => r.data?.text === "lost")).toBe(false);
  });

  it("gives each user storage and SQL of their own: notes, a transfer, a history", async () => {
    const t = await start();
    const ana = connect(t.url, "ana");
    const bo = connect(t.url, "bo");
    ana.client.emit("note:save", { id: "1", text: "buy wine" });
    ana.client.emit("note:save", { id: "2", text: "call bo" });
    ana.client.emit("note:delete", { id: "1" });
    ana.client.emit("transfer", { amount: 30 });
    ana.client.emit("transfer", { amount: 500 }); // refused: the transaction and its handler roll back
    ana.client.emit("notes:list", {});
    const anaNotes = {
      notes: [["note:2", "call bo", true]],
      history: ["note:save 1", "note:save 2", "note:delete 1"],
      balances: { checking: 70, savings: 30 },
    };
    expect(await ana.next("notes")).toEqual(anaNotes);

    bo.client.emit("notes:list", {});
    expect(await bo.next("notes")).toEqual({ notes: [], history: [], balances: {} });

    expect(t.server.hibernate()).toBeGreaterThan(0);
    ana.client.emit("notes:list", {});
    expect(await ana.next("notes")).toEqual(anaNotes);
  });

  it("keeps each user's state through a forced hibernation, and the room still relays", async () => {
    const t = await start();
    const ana = connect(t.url, "ana");
    const bo = connect(t.url, "bo");
    await ana.next("welcome");
    await bo.next("welcome");
    ana.client.emit("theme:set", { theme: "light" });
    ana.client.emit("message", { text: "one" });
    await ana.next("theme");
    await bo.next("message");

    expect(t.server.hibernate()).toBeGreaterThan(0);
    ana.client.emit("message", { text: "two" });
    expect(await bo.next("message")).toEqual({ from: "ana", text: "two", messageNumber: 2 });
    ana.client.emit("profile:get", {});
    expect(await ana.next("profile")).toMatchObject({ messageCount: 2, theme: "light" });
  });

  it("restores a user's state when they connect again, and refuses connections to a room's instance", async () => {
    const t = await start();
    const first = connect(t.url, "ana");
    first.client.emit("theme:set", { theme: "sepia" });
    await first.next("theme");
    first.client.close();

    const again = connect(t.url, "ana");
    expect(await again.next("welcome")).toEqual({ messageCount: 0, theme: "sepia" });
    // The room "chat" is an instance of the same kind; no client may connect to it.
    const intruder = clients.at(t.server.roomUrl("UserConnection", "~room:chat"), [], { reconnection: { enabled: false } });
    const closed = await new Promise<{ code: number }>((resolve) => intruder.client.cellar.on("$close", resolve));
    expect(closed.code).toBe(4403);
  });

  it("keeps every acknowledged message count, note and history row through a SIGKILL", async () => {
    const dataDir = tempDataDir();
    const boot = async () => {
      const p = await startVeraniProcess(dataDir);
      processes.push(p);
      return p;
    };
    const first = await boot();
    const ana = connect(first.url, "ana");
    const bo = connect(first.url, "bo");
    await bo.next("welcome");
    for (let i = 1; i <= 10; i++) ana.client.emit("message", { text: `m${i}` });
    ana.client.emit("note:save", { id: "k", text: "kept" });
    // A message reaches bo only after ana's write committed: seeing 10 means 10 are on disk.
    for (let i = 1; i <= 10; i++) expect((await bo.next("message")).messageNumber).toBe(i);
    ana.client.emit("notes:list", {});
    await ana.next("notes");
    await first.kill("SIGKILL");
    clients.closeAll();

    const second = await boot();
    const again = connect(second.url, "ana");
    expect(await again.next("welcome")).toEqual({ messageCount: 10, theme: "dark" });
    again.client.emit("notes:list", {});
    expect(await again.next("notes")).toMatchObject({ notes: [["note:k", "kept", true]], history: ["note:save k"] });
    const bo2 = connect(second.url, "bo");
    await bo2.next("welcome");
    again.client.emit("message", { text: "after" });
    expect(await bo2.next("message")).toEqual({ from: "ana", text: "after", messageNumber: 11 });
  });
});
