import type { RoomAccess } from "cellar";
import { Hono, type Context } from "hono";
import type { Tabletop } from "./room.js";

/** The rooms as a request reaches them: the Node server, or `cellar.rooms(c.env)` on Workers. */
export type RoomsOf = (c: Context) => Pick<RoomAccess, "call">;

/**
 * The HTTP API, the same on both hosts (the page and the client are served by
 * src/node-page.ts on Node, by static assets on Cloudflare): `POST /api/tables` creates a
 * table and answers `{ tableId, hostKey }`, the only time the key is shown.
 */
export function createApp(tabletop: Pick<Tabletop, "createTable">, rooms: RoomsOf): Hono {
  const app = new Hono();
  app.post("/api/tables", async (c) => {
    c.header("cache-control", "no-store");
    return c.json(await tabletop.createTable(rooms(c)), 201);
  });
  return app;
}
