import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import { tempDataDir, type ServerProcess } from "cellar/testing";
import type { ChatMessage } from "../src/chat-store.js";
import { connectTo, next, startLobbyProcess } from "./helpers.js";

/*
 * The server runs in a child process and is killed with SIGKILL: no shutdown hook runs, so
 * what survives is what was committed before each ack.
 */
let processes: ServerProcess[] = [];
let clients: CellarClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  [processes, clients] = [[], []];
});

async function boot(dataDir: string): Promise<ServerProcess> {
  const p = await startLobbyProcess(dataDir);
  processes.push(p);
  return p;
}

async function as(p: ServerProcess, kind: "lobby" | "games", name: string): Promise<CellarClient> {
  const client = await connectTo(p, kind, name);
  clients.push(client);
  return client;
}

describe("lobby across a SIGKILL and a restart", () => {
  it("keeps chat rooms, members, history, games, players and scores", async () => {
    const dataDir = tempDataDir();
    const first = await boot(dataDir);
    const [ana, bo] = [await as(first, "lobby", "Ana"), await as(first, "lobby", "Bo")];
    await ana.request("chat:create", { id: "tavern", name: "Tavern", maxParticipants: 2 });
    await ana.request("chat:join", { roomId: "tavern" });
    await bo.request("chat:join", { roomId: "tavern" });
    await ana.request("chat:send", { roomId: "tavern", text: "first" });
    await bo.request("chat:send", { roomId: "tavern", text: "second" });
    const created = await fetch(`${first.url}/api/chat-rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "notice-board", name: "Notice board" }),
    });
    expect(created.status).toBe(201);

    const [anaPlays, boPlays] = [await as(first, "games", "Ana"), await as(first, "games", "Bo")];
    await anaPlays.request("game:create", { id: "g1", gameType: "trivia", maxPlayers: 3 });
    await boPlays.request("game:join", { gameId: "g1" });
    await anaPlays.request("game:create", { id: "g2", gameType: "chess" });
    await anaPlays.request("game:start", { gameId: "g1" });
    await anaPlays.request("game:score", { gameId: "g1", points: 7 });
    await boPlays.request("game:score", { gameId: "g1", points: 3 });

    await first.kill("SIGKILL");
    const second = await boot(dataDir);

    // Fresh sessions of the same users: everything comes from disk.
    const [ana2, bo2, cy] = [await as(second, "lobby", "Ana"), await as(second, "lobby", "Bo"), await as(second, "lobby", "Cy")];
    expect(await cy.request("chat:list")).toMatchObject({
      rooms: [
        { id: "tavern", maxParticipants: 2, memberCount: 2, createdBy: "Ana" },
        { id: "notice-board", memberCount: 0, createdBy: null },
      ],
    });
    await expect(cy.request("chat:join", { roomId: "tavern" })).rejects.toMatchObject({ code: "CHAT_ROOM_FULL" });
    const { messages } = await ana2.request<{ messages: ChatMessage[] }>("chat:history", { roomId: "tavern" });
    expect(messages.map((m) => [m.seq, m.from, m.text])).toEqual([
      [1, null, "Ana joined"],
      [2, null, "Bo joined"],
      [3, "Ana", "first"],
      [4, "Bo", "second"],
    ]);
    const anaHears = next<ChatMessage>(ana2, "chat:message");
    await bo2.request("chat:send", { roomId: "tavern", text: "still here" });
    expect(await anaHears).toMatchObject({ seq: 5, from: "Bo", text: "still here" });

    const [anaPlays2, boPlays2] = [await as(second, "games", "Ana"), await as(second, "games", "Bo")];
    expect(await boPlays2.request("game:get", { gameId: "g1" })).toMatchObject({
      status: "playing",
      maxPlayers: 3,
      players: [{ userId: "Ana", score: 7 }, { userId: "Bo", score: 3 }],
    });
    expect(await boPlays2.request("game:get", { gameId: "g2" })).toMatchObject({ status: "waiting", players: [{ userId: "Ana" }] });
    const scores = next(anaPlays2, "game:scores");
    await boPlays2.request("game:score", { gameId: "g1", points: 5 });
    expect(await scores).toMatchObject({ players: [{ userId: "Ana", score: 7 }, { userId: "Bo", score: 8 }] });
    expect(await anaPlays2.request("game:end", { gameId: "g1" })).toMatchObject({ winners: ["Bo"] });
  });
});
