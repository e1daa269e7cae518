import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { startServerProcess, tempDataDir, type ServerProcess } from "cellar/testing";
import { DEFAULT_THEME, greeted, refusal, until, type Message, type Profile } from "./helpers.js";

/*
 * The notes server runs in a child process that is killed with SIGKILL: no shutdown, no
 * onDisconnect, nothing but what was committed. Then a new process starts on the same data.
 */

const script = fileURLToPath(new URL("./server-process.ts", import.meta.url));

let processes: ServerProcess[] = [];
let clients: CellarClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  processes = [];
  clients = [];
});

async function boot(dataDir: string): Promise<ServerProcess> {
  const p = await startServerProcess({ script, env: { DATA_DIR: dataDir }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

/** A client of user `user`; it does not reconnect, so a killed server fails its requests at once. */
function client(server: ServerProcess, user: string): CellarClient {
  const c = server.client("notes", "main", { params: { user }, reconnect: false });
  clients.push(c);
  return c;
}

type Notes = { notes: Array<{ id: string; text: string }> };

describe("notes example: SIGKILL and restart", () => {
  it("per-user state, notes, balances and SQL history survive; online does not", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const ana = client(first, "ana");
    const bo = client(first, "bo");
    await Promise.all([greeted(ana), greeted(bo)]);

    const third = until<Message>(bo, "message", (m) => m.text === "three");
    for (const text of ["one", "two", "three"]) await ana.request("message", { text });
    const lastMessage = await third;
    await ana.request("setTheme", { mode: "dark", font: { size: 24 } });
    await ana.request("saveNote", { id: "a", text: "first" });
    await ana.request("saveNote", { id: "b", text: "second" });
    await ana.request("deleteNote", { id: "a" });
    await bo.request("saveNote", { id: "a", text: "bo's" });
    await ana.request("deposit", { amount: 100 });
    await ana.request("transfer", { amount: 40, recipient: "bo" });
    expect(await refusal(ana.request("transfer", { amount: 61, recipient: "bo" }))).toBe("INSUFFICIENT_FUNDS");
    expect(await ana.request("getProfile")).toMatchObject({ online: true });

    // Both users are connected when the process dies: no onDisconnect will ever run.
    await first.kill("SIGKILL");
    const second = await boot(dataDir);
    const anaAgain = client(second, "ana");
    const { profile, history } = await greeted(anaAgain);
    expect(profile).toEqual({
      userId: "ana",
      messageCount: 3,
      lastSeen: lastMessage.sentAt,
      theme: { ...DEFAULT_THEME, mode: "dark", font: { size: 24 } },
      // A persisted flag would still say true here, since ana never disconnected.
      online: false,
    } satisfies Profile);
    expect(history.map((m) => [m.id, m.userId, m.text])).toEqual([[1, "ana", "one"], [2, "ana", "two"], [3, "ana", "three"]]);
    expect(history[2]).toEqual(lastMessage);
    expect(((await anaAgain.request("getNotes")) as Notes).notes).toMatchObject([{ id: "b", text: "second" }]);
    expect(await anaAgain.request("getBalance")).toEqual({ balance: 60 });

    const boAgain = client(second, "bo");
    expect((await greeted(boAgain)).profile).toMatchObject({ userId: "bo", messageCount: 0, theme: DEFAULT_THEME, online: false });
    expect(((await boAgain.request("getNotes")) as Notes).notes).toMatchObject([{ id: "a", text: "bo's" }]);
    expect(await boAgain.request("getBalance")).toEqual({ balance: 40 });
    // The restarted room keeps working on the recovered data.
    expect(await anaAgain.request("message", { text: "four" })).toEqual({ id: 4, messageCount: 4 });
    expect(await boAgain.request("transfer", { amount: 40, recipient: "ana" })).toEqual({ balance: 0 });
  });

  it("a SIGKILL during a burst of messages loses nothing acknowledged, and count and history stay in step", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const ana = client(first, "ana");
    await greeted(ana);

    const total = 150;
    const killAt = 20 + Math.floor(Math.random() * 100);
    let sent = 0;
    let acked = 0;
    let unknown = 0;
    // Eight requests in flight; the kill comes while some are still unanswered.
    const worker = async () => {
      while (sent < total) {
        sent++;
        try {
          await ana.request("message", { text: `m${sent}` });
          if (++acked === killAt) void first.kill("SIGKILL");
        } catch {
          unknown++;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(acked).toBeGreaterThanOrEqual(killAt);
    expect(unknown).toBeGreaterThan(0);

    const second = await boot(dataDir);
    const { profile, history } = await greeted(client(second, "ana"));
    expect(profile.messageCount).toBeGreaterThanOrEqual(acked);
    expect(profile.messageCount).toBeLessThanOrEqual(acked + unknown);
    // The count (connection state) and the rows (SQL) commit together: ids run 1..count.
    expect(history.at(-1)!.id).toBe(profile.messageCount);
    expect(history.map((m) => m.id)).toEqual(Array.from({ length: Math.min(50, profile.messageCount) }, (_, i) => profile.messageCount - Math.min(50, profile.messageCount) + i + 1));
  });
});
