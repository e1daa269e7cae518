/**
 * The lobby on Cloudflare Durable Objects, with the same rooms and HTTP API as src/server.ts.
 * The page and the browser client are static assets (see wrangler.jsonc); the API runs the
 * lobby's actions through `cellar.rooms(env)`, an RPC to the instance's object.
 * `npx wrangler dev` runs it locally in workerd, `npx wrangler deploy` deploys it.
 */
import { createWorker, type CellarWorker } from "cellar/cloudflare";
import { createApp } from "./app.js";
import { rooms } from "./rooms.js";

// The app reaches the rooms only when a request comes, by which time `cellar` exists.
const cellar: CellarWorker = createWorker({ rooms, app: createApp((c) => cellar.rooms(c.env)) });

/** The Durable Object class every lobby and games instance runs in (wrangler.jsonc binds it). */
export const CellarRooms = cellar.RoomObject;
export default { fetch: cellar.fetch };
