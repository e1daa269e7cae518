import { afterEach, describe, expect, it } from "vitest";
import type { CellarClient } from "cellar/client";
import type { TestServer } from "cellar/testing";
import type { Game } from "../src/games.js";
import { MAIN } from "../src/identity.js";
import { collect, next, startLobby } from "./helpers.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const as = (server: TestServer, name: string) => server.connect("games", MAIN, { params: { name } });
/** One connected client per name, in order. */
const everyone = <const N extends readonly string[]>(server: TestServer, ...names: N) =>
  Promise.all(names.map((name) => as(server, name))) as Promise<{ -readonly [K in keyof N]: CellarClient }>;

describe("room manager: game rooms", () => {
  it("creates games, lets players join while waiting and not full, starts with 2+ players", async () => {
    t = await startLobby();
    const [ana, bo, cy, dan, eve] = await everyone(t, "Ana", "Bo", "Cy", "Dan", "Eve");

    const announced = next<Game>(eve, "game:created");
    const g1 = await ana.request<Game>("game:create", { id: "g1", gameType: "trivia" });
    expect(g1).toMatchObject({ id: "g1", gameType: "trivia", maxPlayers: 4, status: "waiting", players: [{ userId: "Ana", score: 0 }] });
    expect(await announced).toEqual(g1);
    await expect(bo.request("game:create", { id: "g1", gameType: "chess" })).rejects.toMatchObject({ code: "GAME_EXISTS" });
    await expect(bo.request("game:create", { gameType: "chess", maxPlayers: 1 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    await expect(bo.request("game:create", { maxPlayers: 2 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD", message: expect.stringContaining("gameType") });

    await expect(ana.request("game:start", { gameId: "g1" })).rejects.toMatchObject({ code: "NOT_ENOUGH_PLAYERS" });
    const anaHears = next(ana, "game:player-joined");
    expect(await bo.request("game:join", { gameId: "g1" })).toMatchObject({ players: [{ userId: "Ana" }, { userId: "Bo" }] });
    expect(await anaHears).toEqual({ gameId: "g1", userId: "Bo", players: [{ userId: "Ana", score: 0 }, { userId: "Bo", score: 0 }] });
    await expect(eve.request("game:start", { gameId: "g1" })).rejects.toMatchObject({ code: "NOT_A_PLAYER" });
    await expect(eve.request("game:join", { gameId: "nope" })).rejects.toMatchObject({ code: "GAME_NOT_FOUND" });

    // Any player may start it, not only its creator.
    const started = next(ana, "game:started");
    expect(await bo.request("game:start", { gameId: "g1" })).toMatchObject({ status: "playing", startedAt: expect.any(Number) });
    expect(await started).toEqual({ gameId: "g1", players: [{ userId: "Ana", score: 0 }, { userId: "Bo", score: 0 }] });
    await expect(ana.request("game:start", { gameId: "g1" })).rejects.toMatchObject({ code: "GAME_NOT_WAITING" });
    await expect(cy.request("game:join", { gameId: "g1" })).rejects.toMatchObject({ code: "GAME_NOT_WAITING" });

    // A generated id; a full game refuses the next player.
    const duel = await cy.request<Game>("game:create", { gameType: "chess", maxPlayers: 2 });
    expect(duel.id).toMatch(/^[0-9a-f]{8}$/);
    await dan.request("game:join", { gameId: duel.id });
    await expect(eve.request("game:join", { gameId: duel.id })).rejects.toMatchObject({ code: "GAME_FULL" });
    // Joining again is harmless.
    expect(await dan.request<Game>("game:join", { gameId: duel.id })).toMatchObject({ players: [{ userId: "Cy" }, { userId: "Dan" }] });

    const list = await eve.request<{ games: Game[] }>("game:list");
    expect(list.games.map((g) => [g.id, g.status, g.players.length]).sort()).toEqual([[duel.id, "waiting", 2], ["g1", "playing", 2]].sort());
  });

  it("broadcasts score updates with the player list to the players, and final scores at the end", async () => {
    t = await startLobby();
    const [ana, bo, cy] = await everyone(t, "Ana", "Bo", "Cy");
    await ana.request("game:create", { id: "g1", gameType: "darts" });
    await expect(ana.request("game:score", { gameId: "g1", points: 5 })).rejects.toMatchObject({ code: "GAME_NOT_PLAYING" });
    await bo.request("game:join", { gameId: "g1" });
    await ana.request("game:start", { gameId: "g1" });
    const cyHears = collect(cy, "game:scores");

    const boHears = next(bo, "game:scores");
    const update = await ana.request("game:score", { gameId: "g1", points: 10 });
    expect(update).toEqual({ gameId: "g1", userId: "Ana", points: 10, players: [{ userId: "Ana", score: 10 }, { userId: "Bo", score: 0 }] });
    expect(await boHears).toEqual(update);
    const anaHears = next(ana, "game:scores");
    await bo.request("game:score", { gameId: "g1", points: 25 });
    expect(await anaHears).toMatchObject({ userId: "Bo", players: [{ userId: "Ana", score: 10 }, { userId: "Bo", score: 25 }] });
    await expect(cy.request("game:score", { gameId: "g1", points: 99 })).rejects.toMatchObject({ code: "NOT_A_PLAYER" });
    await expect(ana.request("game:score", { gameId: "g1", points: 1.5 })).rejects.toMatchObject({ code: "INVALID_PAYLOAD" });
    await expect(cy.request("game:end", { gameId: "g1" })).rejects.toMatchObject({ code: "NOT_A_PLAYER" });

    const ended = next(ana, "game:ended");
    const final = await bo.request("game:end", { gameId: "g1" });
    expect(final).toEqual({ gameId: "g1", finalScores: [{ userId: "Bo", score: 25 }, { userId: "Ana", score: 10 }], winners: ["Bo"] });
    expect(await ended).toEqual(final);
    await expect(ana.request("game:score", { gameId: "g1", points: 1 })).rejects.toMatchObject({ code: "GAME_NOT_PLAYING" });
    await expect(ana.request("game:end", { gameId: "g1" })).rejects.toMatchObject({ code: "GAME_NOT_PLAYING" });
    expect(await cy.request("game:get", { gameId: "g1" })).toMatchObject({ status: "finished", endedAt: expect.any(Number) });
    // Cy, not a player, heard none of it.
    expect(cyHears).toEqual([]);
  });

  it("keeps games, players and scores through a forced hibernation; a new session rejoins its games", async () => {
    t = await startLobby();
    const [ana, bo] = await everyone(t, "Ana", "Bo");
    await ana.request("game:create", { id: "g1", gameType: "quiz" });
    await bo.request("game:join", { gameId: "g1" });
    await ana.request("game:start", { gameId: "g1" });
    await ana.request("game:score", { gameId: "g1", points: 7 });

    expect(t.server.hibernate("games", MAIN)).toBe(1);
    expect(t.server.stats().rooms).toEqual({ live: 0, hibernated: 1 });

    const anaHears = next(ana, "game:scores", (u: { userId: string }) => u.userId === "Bo");
    await bo.request("game:score", { gameId: "g1", points: 3 });
    expect(await anaHears).toMatchObject({ players: [{ userId: "Ana", score: 7 }, { userId: "Bo", score: 3 }] });

    bo.close();
    const boAgain = await as(t, "Bo");
    const boHears = next(boAgain, "game:scores");
    await ana.request("game:score", { gameId: "g1", points: 1 });
    expect(await boHears).toMatchObject({ players: [{ userId: "Ana", score: 8 }, { userId: "Bo", score: 3 }] });
    expect(await boAgain.request("game:get", { gameId: "g1" })).toMatchObject({ status: "playing" });
  });
});
