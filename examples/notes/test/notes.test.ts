import { WebSocket } from "ws";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CellarClient, type WebSocketConstructor } from "cellar/client";
import { startTcpProxy, startTestServer, type TestServer } from "cellar/testing";
import { servePage } from "../src/node-page.js";
import { MAX_BALANCE } from "../src/bank.js";
import { notes } from "../src/room.js";
import { DEFAULT_THEME, greeted, next, refusal, snapshot, type Message, type Profile } from "./helpers.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(): Promise<TestServer> {
  t = await startTestServer({ rooms: [notes] });
  return t;
}

/** A connected client of user `user`, with its greeting. */
async function join(server: TestServer, user: string) {
  const client = server.client("notes", "main", { params: { user } });
  return { client, ...(await greeted(client)) };
}

describe("notes example: who you are", () => {
  it.each([
    ["no user", {}],
    ["an empty user", { user: "" }],
    ["a user with a colon", { user: "ana:admin" }],
    ["a non-string user", { user: 42 }],
    ["a user of 41 characters", { user: "a".repeat(41) }],
  ])("refuses a connection with %s (4401 UNAUTHORIZED)", async (_name, params) => {
    const server = await start();
    const client = server.client("notes", "main", { params });
    const refused = next<{ code: string; message: string }>(client, "$error");
    const closed = next<{ code: number; reason: string; final: boolean }>(client, "$close");
    await expect(client.waitForConnection()).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    expect(await refused).toMatchObject({ code: "UNAUTHORIZED", message: expect.stringContaining("params.user") });
    expect(await closed).toEqual({ code: 4401, reason: "UNAUTHORIZED", final: true });
  });
});

describe("notes example: per-user state", () => {
  it("counts messages per user, shares the state between a user's tabs, and keeps it across reconnects", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    expect(ana.profile).toEqual({ userId: "ana", messageCount: 0, lastSeen: null, theme: DEFAULT_THEME, online: false });
    expect(ana.history).toEqual([]);
    const bo = await join(server, "bo");

    const seen = next<Message>(bo.client, "message");
    expect(await ana.client.request("message", { text: "  hello  " })).toEqual({ id: 1, messageCount: 1 });
    const hello = await seen;
    expect(hello).toMatchObject({ id: 1, userId: "ana", text: "hello" });

    // A second tab: same user, same state; `online` says another tab was already open.
    const tab = await join(server, "ana");
    expect(tab.profile).toMatchObject({ messageCount: 1, lastSeen: hello.sentAt, online: true });
    expect(tab.history).toEqual([hello]);
    expect(await tab.client.request("message", { text: "from the other tab" })).toEqual({ id: 2, messageCount: 2 });
    const profile = (await ana.client.request("getProfile")) as Profile;
    expect(profile).toMatchObject({ userId: "ana", messageCount: 2, online: true });
    expect(profile.lastSeen).toBeGreaterThanOrEqual(hello.sentAt);
    expect(await bo.client.request("getProfile")).toMatchObject({ userId: "bo", messageCount: 0, online: true });

    // Both tabs close: the state stays, `online` goes back to false, `lastSeen` is the goodbye.
    const closedAt = Date.now();
    ana.client.close();
    tab.client.close();
    await vi.waitFor(() => expect(server.server.stats().connections).toBe(1));
    const back = await join(server, "ana");
    expect(back.profile).toMatchObject({ userId: "ana", messageCount: 2, online: false, theme: DEFAULT_THEME });
    expect(back.profile.lastSeen).toBeGreaterThanOrEqual(closedAt);
    expect(back.history.map((m) => m.text)).toEqual(["hello", "from the other tab"]);
  });

  it("sends profile and history again when a session resumes (a reloaded page needs them)", async () => {
    const server = await start();
    const proxy = await startTcpProxy(server.server.port);
    try {
      const url = proxy.via(server.server.roomUrl("notes", "main"));
      const ana = new CellarClient(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, params: { user: "ana" } });
      await greeted(ana);
      await ana.request("message", { text: "before the drop" });
      const resumed = next(ana, "$resumed");
      const again = next<Profile>(ana, "profile");
      const history = next<{ messages: Message[] }>(ana, "history");
      proxy.sever();
      await resumed;
      expect(await again).toMatchObject({ userId: "ana", messageCount: 1 });
      expect((await history).messages.map((m) => m.text)).toEqual(["before the drop"]);
      ana.close();
    } finally {
      await proxy.close();
    }
  });

  it("sends the last 50 messages, oldest first, as history on connect", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    for (let i = 1; i <= 55; i++) await ana.client.request("message", { text: `m${i}` });
    const bo = await join(server, "bo");
    expect(bo.history).toHaveLength(50);
    expect(bo.history.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 6}`));
    expect(bo.history.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 6));
    expect(await ana.client.request("getProfile")).toMatchObject({ messageCount: 55 });
  });

  it("refuses messages that are empty or too long, and counts nothing for them", async () => {
    const server = await start();
    const { client } = await join(server, "ana");
    expect(await refusal(client.request("message", { text: "   " }))).toBe("INVALID_PAYLOAD");
    expect(await refusal(client.request("message", { text: "x".repeat(2001) }))).toBe("INVALID_PAYLOAD");
    expect(await refusal(client.request("message", {}))).toBe("INVALID_PAYLOAD");
    expect(await client.request("getProfile")).toMatchObject({ messageCount: 0 });
    expect((await snapshot(server.server)).history).toEqual([]);
  });

  it("setTheme changes the nested theme in place, per user, and every tab of the user hears it", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    const tab = await join(server, "ana");
    const bo = await join(server, "bo");

    const heard = next(tab.client, "theme");
    const bigger = { ...DEFAULT_THEME, font: { size: 20 } };
    expect(await ana.client.request("setTheme", { font: { size: 20 } })).toEqual(bigger);
    expect(await heard).toEqual(bigger);
    expect(await ana.client.request("setTheme", { mode: "dark", accent: "#AA3300" })).toEqual({ mode: "dark", accent: "#AA3300", font: { size: 20 } });
    expect(await tab.client.request("getProfile")).toMatchObject({ theme: { mode: "dark", accent: "#AA3300", font: { size: 20 } } });
    expect(await bo.client.request("getProfile")).toMatchObject({ theme: DEFAULT_THEME });

    for (const bad of [{}, { font: { size: 99 } }, { mode: "neon" }, { accent: "red" }, { colour: "#000000" }]) {
      expect(await refusal(ana.client.request("setTheme", bad))).toBe("INVALID_PAYLOAD");
    }
    expect(await ana.client.request("getProfile")).toMatchObject({ theme: { mode: "dark", accent: "#AA3300", font: { size: 20 } } });
  });
});

describe("notes example: notes", () => {
  it("saves, lists by prefix (one user's notes only, in id order, paged), updates and deletes notes", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    const bo = await join(server, "bo");
    for (const id of ["c", "a", "b"]) await ana.client.request("saveNote", { id, text: `note ${id}` });
    await bo.client.request("saveNote", { id: "a", text: "bo's own a" });
    // A user id that starts like another one must not see the other's notes.
    const anabel = await join(server, "anabel");
    await anabel.client.request("saveNote", { id: "z", text: "anabel's z" });

    const all = (await ana.client.request("getNotes")) as { notes: Array<{ id: string; text: string }>; next: string | null };
    expect(all.notes.map((n) => [n.id, n.text])).toEqual([["a", "note a"], ["b", "note b"], ["c", "note c"]]);
    expect(all.next).toBeNull();
    const first = (await ana.client.request("getNotes", { limit: 2 })) as typeof all;
    expect(first.notes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(first.next).toBe("b");
    const rest = (await ana.client.request("getNotes", { limit: 2, after: first.next })) as typeof all;
    expect(rest.notes.map((n) => n.id)).toEqual(["c"]);
    expect(rest.next).toBeNull();

    const saved = (await ana.client.request("saveNote", { id: "a", text: "rewritten" })) as { id: string; text: string; updatedAt: number };
    expect(saved).toMatchObject({ id: "a", text: "rewritten" });
    expect(await ana.client.request("deleteNote", { id: "b" })).toEqual({ id: "b", deleted: true });
    expect(await ana.client.request("deleteNote", { id: "b" })).toEqual({ id: "b", deleted: false });
    expect(await ana.client.request("deleteNote", { id: "nope" })).toEqual({ id: "nope", deleted: false });
    const after = (await ana.client.request("getNotes")) as typeof all;
    expect(after.next).toBeNull();
    expect(after.notes).toEqual([saved, expect.objectContaining({ id: "c", text: "note c" })]);
    expect(((await bo.client.request("getNotes")) as typeof all).notes.map((n) => n.text)).toEqual(["bo's own a"]);
    expect(((await anabel.client.request("getNotes")) as typeof all).notes.map((n) => n.text)).toEqual(["anabel's z"]);

    for (const bad of [{ id: "has space", text: "x" }, { id: "", text: "x" }, { id: "a" }, { id: "a", text: "x".repeat(10_001) }]) {
      expect(await refusal(ana.client.request("saveNote", bad))).toBe("INVALID_PAYLOAD");
    }
    expect(await ana.client.request("getNotes", { limit: 500 })).toEqual(after);
    expect(await refusal(ana.client.request("getNotes", { limit: 0 }))).toBe("INVALID_PAYLOAD");
    expect(await refusal(ana.client.request("getNotes", { limit: 501 }))).toBe("INVALID_PAYLOAD");
    expect(await refusal(ana.client.request("deleteNote", {}))).toBe("INVALID_PAYLOAD");
  });
});

describe("notes example: transfers", () => {
  it("deposits, transfers and tells the recipient; an insufficient balance changes nothing and is refused", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    const bo = await join(server, "bo");
    expect(await ana.client.request("getBalance")).toEqual({ balance: 0 });
    expect(await ana.client.request("deposit", { amount: 100 })).toEqual({ balance: 100 });

    const received = next(bo.client, "transfer:received");
    expect(await ana.client.request("transfer", { amount: 30, recipient: "bo" })).toEqual({ balance: 70 });
    expect(await received).toEqual({ from: "ana", amount: 30, balance: 30 });
    // A recipient who never connected gets a balance too.
    expect(await ana.client.request("transfer", { amount: 20, recipient: "carol" })).toEqual({ balance: 50 });

    const before = await snapshot(server.server);
    expect(await refusal(ana.client.request("transfer", { amount: 51, recipient: "bo" }))).toBe("INSUFFICIENT_FUNDS");
    expect(await refusal(bo.client.request("transfer", { amount: 31, recipient: "ana" }))).toBe("INSUFFICIENT_FUNDS");
    expect(await snapshot(server.server)).toEqual(before);
    expect(await ana.client.request("getBalance")).toEqual({ balance: 50 });
    expect(await bo.client.request("getBalance")).toEqual({ balance: 30 });
    // The whole balance can go.
    expect(await bo.client.request("transfer", { amount: 30, recipient: "ana" })).toEqual({ balance: 0 });
    expect(await ana.client.request("getBalance")).toEqual({ balance: 80 });
  });

  it("a refused credit rolls back the debit the transaction already wrote", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    await ana.client.request("deposit", { amount: 100 });
    await server.server.invoke("notes", "main", (ctx) => ctx.storage.put("balance:rich", MAX_BALANCE - 5));
    const before = await snapshot(server.server);
    expect(await refusal(ana.client.request("transfer", { amount: 10, recipient: "rich" }))).toBe("BALANCE_LIMIT");
    expect(await snapshot(server.server)).toEqual(before);
    expect(await ana.client.request("transfer", { amount: 5, recipient: "rich" })).toEqual({ balance: 95 });
    // A deposit is held to the same ceiling (1,000,000,000, as the README says).
    expect(MAX_BALANCE).toBe(1_000_000_000);
    await server.server.invoke("notes", "main", (ctx) => ctx.storage.put("balance:ana", MAX_BALANCE - 5));
    expect(await refusal(ana.client.request("deposit", { amount: 6 }))).toBe("BALANCE_LIMIT");
    expect(await ana.client.request("deposit", { amount: 5 })).toEqual({ balance: MAX_BALANCE });
  });

  it("refuses transfers to yourself and bad amounts or recipients", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    await ana.client.request("deposit", { amount: 100 });
    expect(await refusal(ana.client.request("transfer", { amount: 10, recipient: "ana" }))).toBe("INVALID_RECIPIENT");
    for (const bad of [{ amount: 0, recipient: "bo" }, { amount: 1.5, recipient: "bo" }, { amount: "10", recipient: "bo" }, { amount: 10, recipient: "b o" }, { amount: 10 }]) {
      expect(await refusal(ana.client.request("transfer", bad))).toBe("INVALID_PAYLOAD");
    }
    expect(await refusal(ana.client.request("deposit", { amount: -5 }))).toBe("INVALID_PAYLOAD");
    // At most 1,000,000 at a time.
    expect(await refusal(ana.client.request("deposit", { amount: 1_000_001 }))).toBe("INVALID_PAYLOAD");
    expect(await ana.client.request("getBalance")).toEqual({ balance: 100 });
  });
});

describe("notes example: hibernation", () => {
  it("per-user state, notes, balances and SQL history come back after a forced hibernation", async () => {
    const server = await start();
    const ana = await join(server, "ana");
    const bo = await join(server, "bo");
    await ana.client.request("message", { text: "one" });
    await ana.client.request("message", { text: "two" });
    await ana.client.request("setTheme", { mode: "dark", font: { size: 22 } });
    await ana.client.request("saveNote", { id: "todo", text: "buy milk" });
    await ana.client.request("deposit", { amount: 100 });
    await ana.client.request("transfer", { amount: 40, recipient: "bo" });
    const anaBefore = (await ana.client.request("getProfile")) as Profile;
    const stored = await snapshot(server.server);

    expect(server.server.hibernate("notes", "main")).toBe(1);
    expect(server.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });

    // The open connections wake the room and find everything.
    expect(await ana.client.request("getProfile")).toEqual(anaBefore);
    expect(await ana.client.request("getNotes")).toMatchObject({ notes: [{ id: "todo", text: "buy milk" }] });
    expect(await ana.client.request("getBalance")).toEqual({ balance: 60 });
    expect(await bo.client.request("getBalance")).toEqual({ balance: 40 });
    expect(await snapshot(server.server)).toEqual(stored);
    const carol = await join(server, "carol");
    expect(carol.history.map((m) => [m.userId, m.text])).toEqual([["ana", "one"], ["ana", "two"]]);

    // Deep tracking still works on the reloaded state: a nested change after the wake is kept.
    await ana.client.request("setTheme", { font: { size: 12 } });
    expect(server.server.hibernate("notes", "main")).toBe(1);
    expect(await ana.client.request("message", { text: "three" })).toEqual({ id: 3, messageCount: 3 });
    expect(await ana.client.request("getProfile")).toMatchObject({ messageCount: 3, theme: { mode: "dark", font: { size: 12 } } });
  });
});

describe("notes example: the page", () => {
  it("serves the page and the browser client's modules, and nothing outside them", async () => {
    const app = servePage();
    const page = await app.request("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/cellar/client/index.js");
    const client = await app.request("/cellar/client/index.js");
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
    expect((await app.request("/cellar/../../package.json")).status).toBe(404);
    expect((await app.request("/cellar/client/index.d.ts")).status).toBe(404);
  });
});
