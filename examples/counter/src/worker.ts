/**
 * The counter on Cloudflare Durable Objects, with the same room as src/server.ts. The page
 * and the browser client are static assets (see wrangler.jsonc), so the Worker needs no HTTP
 * app: `npx wrangler dev` runs it locally in workerd, `npx wrangler deploy` deploys it.
 */
import { createWorker } from "cellar/cloudflare";
import { counter } from "./room.js";

const cellar = createWorker({ rooms: [counter] });

/** The Durable Object class every counter instance runs in (wrangler.jsonc binds it). */
export const CellarRooms = cellar.RoomObject;
export default { fetch: cellar.fetch };
