/**
 * The tabletop on Cloudflare Durable Objects, with the same room and HTTP API as
 * src/server.ts. The page and the browser client are static assets (see wrangler.jsonc);
 * `POST /api/tables` runs the room's `open-table` action through `cellar.rooms(env)`, an RPC
 * to the new table's object. The vars GRACE_MS and PURGE_AFTER_MS (wrangler.jsonc `vars`, or
 * `--var` on the command line) override the timings, as the environment does on Node.
 * `npx wrangler dev` runs it locally in workerd, `npx wrangler deploy` deploys it.
 */
import { env } from "cloudflare:workers";
import { createWorker, type CellarWorker } from "cellar/cloudflare";
import { createApp } from "./app.js";
import { createTabletop } from "./room.js";

const vars = env as Record<string, unknown>;
const optionalMs = (name: string) => (vars[name] ? Number(vars[name]) : undefined);

const tabletop = createTabletop({ graceMs: optionalMs("GRACE_MS"), purgeAfterMs: optionalMs("PURGE_AFTER_MS") });
// The app reaches the rooms only when a request comes, by which time `cellar` exists.
const cellar: CellarWorker = createWorker({ rooms: [tabletop.room], app: createApp(tabletop, (c) => cellar.rooms(c.env)) });

/** The Durable Object class every table runs in (wrangler.jsonc binds it). */
export const CellarRooms = cellar.RoomObject;
export default { fetch: cellar.fetch };
