/**
 * Sommelier Arena on Cloudflare: the same rooms and API as on Node (arena.ts), with the web
 * app served as Workers static assets (wrangler.jsonc). `npx wrangler dev` runs it locally.
 */
import { createWorker } from "cellar/cloudflare";
import { hostAuth } from "./host-auth.js";
import { defineSessionRoom, resolveOptions } from "./room.js";
import { createApi } from "./routes.js";

const resolved = resolveOptions({});

const cellar = createWorker({
  rooms: [defineSessionRoom(resolved), hostAuth],
  app: createApi({
    rooms: (c) => cellar.rooms(c.env),
    resolved,
    logError: (error) => console.error(JSON.stringify({ level: "error", msg: "request failed", err: String(error) })),
  }),
});

export const CellarRooms = cellar.RoomObject;
export default { fetch: cellar.fetch };
