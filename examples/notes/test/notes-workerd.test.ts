import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startWorkerdServer, type WorkerdServer } from "cellar/testing";
import { DEFAULT_THEME, greeted, next, refusal, until, type Message } from "./helpers.js";

/*
 * The notes example on Cloudflare's runtime: src/worker.ts with wrangler.jsonc, run in
 * workerd by Miniflare; per-user state, storage, transactions and SQL history on a Durable
 * Object's storage, through a restart of workerd.
 */

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

let server: WorkerdServer;
beforeAll(async () => {
  // As `wrangler dev` does: build.command bundles the client into public/cellar/, and the
  // Worker runs behind the static assets, which hand room upgrades to it
  // (run_worker_first). Cellar is bundled from its sources (the "source" export condition).
  server = await startWorkerdServer({
    wrangler: here("../wrangler.jsonc"),
    conditions: ["source"],
  });
});
afterAll(() => server?.close());

const connect = (user: string): CellarClient => server.client("notes", "main", { params: { user } });
type Notes = { notes: Array<{ id: string; text: string }> };

describe("notes example on workerd", () => {
  it("keeps per-user state, notes, balances and SQL history through a restart of workerd", async () => {
    const ana = connect("ana");
    const bo = connect("bo");
    await Promise.all([greeted(ana), greeted(bo)]);

    const second = until<Message>(bo, "message", (m) => m.text === "two");
    expect(await ana.request("message", { text: "one" })).toEqual({ id: 1, messageCount: 1 });
    expect(await ana.request("message", { text: "two" })).toEqual({ id: 2, messageCount: 2 });
    const lastMessage = await second;
    await ana.request("setTheme", { mode: "dark", font: { size: 24 } });
    await ana.request("saveNote", { id: "a", text: "first" });
    await ana.request("saveNote", { id: "b", text: "second" });
    await ana.request("deleteNote", { id: "a" });
    await ana.request("deposit", { amount: 100 });
    const received = next<unknown>(bo, "transfer:received");
    expect(await ana.request("transfer", { amount: 40, recipient: "bo" })).toEqual({ balance: 60 });
    expect(await received).toEqual({ from: "ana", amount: 40, balance: 40 });
    // The storage transaction leaves both balances as they were.
    expect(await refusal(ana.request("transfer", { amount: 61, recipient: "bo" }))).toBe("INSUFFICIENT_FUNDS");

    await server.restart();

    const { profile, history } = await greeted(connect("ana"));
    expect(profile).toMatchObject({ userId: "ana", messageCount: 2, lastSeen: lastMessage.sentAt, theme: { ...DEFAULT_THEME, mode: "dark", font: { size: 24 } } });
    expect(history.map((m) => [m.id, m.userId, m.text])).toEqual([[1, "ana", "one"], [2, "ana", "two"]]);
    expect(((await ana.request("getNotes")) as Notes).notes).toMatchObject([{ id: "b", text: "second" }]);
    expect(await ana.request("getBalance")).toEqual({ balance: 60 });
    expect(await bo.request("getBalance")).toEqual({ balance: 40 });
    expect(await ana.request("message", { text: "three" })).toEqual({ id: 3, messageCount: 3 });
  });

  it("serves the page and the bundled client from static assets", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('from "/cellar/client/index.js"');
    const client = await fetch(`${server.url}/cellar/client/index.js`);
    expect(client.status).toBe(200);
    expect(client.headers.get("content-type")).toContain("javascript");
  });
});

