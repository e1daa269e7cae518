/**
 * `cellar/cloudflare`: the same rooms on Cloudflare Durable Objects. See docs/cloudflare.md.
 */
export { createWorker } from "./worker.js";
export type { CellarWorker, WorkerApp, WorkerOptions } from "./worker.js";
export type { RoomObjectClass } from "./room-object.js";
