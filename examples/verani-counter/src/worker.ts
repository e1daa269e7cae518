/**
 * The same room on Cloudflare Durable Objects. For now `createActorHandler` returns Cellar's
 * room definition on Cloudflare too, and every room shares Cellar's one Durable Object class
 * (see docs/verani.md): this entry and wrangler.jsonc are what changes from a Verani Worker.
 */
import { createWorker } from "cellar/cloudflare";
import { CounterActor } from "./room.js";

const cellar = createWorker({ rooms: [CounterActor] });

/** The Durable Object class every room instance runs in (wrangler.jsonc binds it). */
export const CellarRooms = cellar.RoomObject;
export default { fetch: cellar.fetch };
