import { CellarError, defineRoom, type Storage } from "cellar";
import { z } from "zod";
import { authenticateByName, roomId, userOf } from "./identity.js";

export interface Player {
  userId: string;
  score: number;
}

export interface Game {
  id: string;
  gameType: string;
  maxPlayers: number;
  status: "waiting" | "playing" | "finished";
  /** In joining order; the first one created the game. */
  players: Player[];
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

const create = z.object({
  /** Optional: a short random id is chosen when it is missing. */
  id: roomId.optional(),
  gameType: z.string().trim().min(1).max(32),
  maxPlayers: z.number().int().min(2).max(16).default(4),
});
const inGame = z.object({ gameId: roomId });
const score = z.object({ gameId: roomId, points: z.number().int().min(-1_000_000).max(1_000_000) });

/*
 * Each game is one storage key, `game:<id>`, read and written whole: a game is small, and
 * its own key keeps every write small however many games exist. `player:<userId>` lists the
 * games a user plays in, so a fresh session can join their channels again.
 */
const gameKey = (id: string) => `game:${id}`;
const playerKey = (userId: string) => `player:${userId}`;
/** Players of a game get its events through this channel. */
const channelOf = (id: string) => `game:${id}`;

/**
 * The room manager: one instance manages many game rooms. A game waits for players, starts
 * when one of them says so (two players at least), takes score updates, and ends.
 */
export const games = defineRoom({
  name: "games",
  state: {},
  authenticate: (_request, ctx) => authenticateByName(ctx.params),
  async onConnect(ctx) {
    if (ctx.resumed) return;
    const ids = (await ctx.storage.get<string[]>(playerKey(userOf(ctx.connection)))) ?? [];
    for (const id of ids) ctx.connection.join(channelOf(id));
  },
});

games.on("game:create", { schema: create }, async (ctx, input) => {
  const user = userOf(ctx.connection);
  const id = input.id ?? (await freshId(ctx.storage));
  if (await ctx.storage.get(gameKey(id))) throw new CellarError("GAME_EXISTS", `A game "${id}" already exists`);
  const game: Game = {
    id,
    gameType: input.gameType,
    maxPlayers: input.maxPlayers,
    status: "waiting",
    players: [{ userId: user, score: 0 }],
    createdAt: Date.now(),
    startedAt: null,
    endedAt: null,
  };
  await ctx.storage.put(gameKey(id), game);
  await track(ctx.storage, user, id, true);
  ctx.connection.join(channelOf(id));
  ctx.emit.broadcast("game:created", game);
  return game;
});

// The first 1,000 games by id: one `list` page. A bigger lobby would page with `startAfter`.
games.on("game:list", async (ctx) => ({
  games: [...(await ctx.storage.list<Game>({ prefix: "game:", limit: 1_000 })).values()],
}));

games.on("game:get", { schema: inGame }, (ctx, { gameId }) => load(ctx.storage, gameId));

games.on("game:join", { schema: inGame }, async (ctx, { gameId }) => {
  const user = userOf(ctx.connection);
  const game = await load(ctx.storage, gameId);
  if (!game.players.some((p) => p.userId === user)) {
    if (game.status !== "waiting") throw new CellarError("GAME_NOT_WAITING", `"${gameId}" has already ${game.status === "playing" ? "started" : "ended"}`);
    if (game.players.length >= game.maxPlayers) throw new CellarError("GAME_FULL", `"${gameId}" is full (${game.maxPlayers} players)`);
    game.players.push({ userId: user, score: 0 });
    await ctx.storage.put(gameKey(gameId), game);
    await track(ctx.storage, user, gameId, true);
    ctx.emit.to(channelOf(gameId)).emit("game:player-joined", { gameId, userId: user, players: game.players });
  }
  ctx.connection.join(channelOf(gameId));
  return game;
});

games.on("game:start", { schema: inGame }, async (ctx, { gameId }) => {
  const game = await loadAsPlayer(ctx.storage, gameId, userOf(ctx.connection));
  if (game.status !== "waiting") throw new CellarError("GAME_NOT_WAITING", `"${gameId}" has already started`);
  if (game.players.length < 2) throw new CellarError("NOT_ENOUGH_PLAYERS", "A game needs at least 2 players to start");
  game.status = "playing";
  game.startedAt = Date.now();
  await ctx.storage.put(gameKey(gameId), game);
  ctx.emit.to(channelOf(gameId)).emit("game:started", { gameId, players: game.players });
  return game;
});

games.on("game:score", { schema: score }, async (ctx, { gameId, points }) => {
  const user = userOf(ctx.connection);
  const game = await loadAsPlayer(ctx.storage, gameId, user);
  if (game.status !== "playing") throw new CellarError("GAME_NOT_PLAYING", `"${gameId}" is not being played`);
  game.players.find((p) => p.userId === user)!.score += points;
  await ctx.storage.put(gameKey(gameId), game);
  const update = { gameId, userId: user, points, players: game.players };
  ctx.emit.to(channelOf(gameId)).emit("game:scores", update);
  return update;
});

games.on("game:end", { schema: inGame }, async (ctx, { gameId }) => {
  const game = await loadAsPlayer(ctx.storage, gameId, userOf(ctx.connection));
  if (game.status !== "playing") throw new CellarError("GAME_NOT_PLAYING", `"${gameId}" is not being played`);
  game.status = "finished";
  game.endedAt = Date.now();
  await ctx.storage.put(gameKey(gameId), game);
  for (const p of game.players) await track(ctx.storage, p.userId, gameId, false);
  const finalScores = [...game.players].sort((a, b) => b.score - a.score);
  const ended = { gameId, finalScores, winners: finalScores.filter((p) => p.score === finalScores[0]!.score).map((p) => p.userId) };
  ctx.emit.to(channelOf(gameId)).emit("game:ended", ended);
  return ended;
});

async function load(storage: Storage, gameId: string): Promise<Game> {
  const game = await storage.get<Game>(gameKey(gameId));
  if (!game) throw new CellarError("GAME_NOT_FOUND", `No game "${gameId}"`);
  return game;
}

async function loadAsPlayer(storage: Storage, gameId: string, user: string): Promise<Game> {
  const game = await load(storage, gameId);
  if (!game.players.some((p) => p.userId === user)) throw new CellarError("NOT_A_PLAYER", `Only players of "${gameId}" can do that`);
  return game;
}

/** Adds the game to (or removes it from) the user's list of games in play. */
async function track(storage: Storage, user: string, gameId: string, playing: boolean): Promise<void> {
  const ids = ((await storage.get<string[]>(playerKey(user))) ?? []).filter((id) => id !== gameId);
  if (playing) ids.push(gameId);
  if (ids.length > 0) await storage.put(playerKey(user), ids);
  else await storage.delete(playerKey(user));
}

async function freshId(storage: Storage): Promise<string> {
  for (;;) {
    const id = crypto.randomUUID().slice(0, 8);
    if (!(await storage.get(gameKey(id)))) return id;
  }
}
