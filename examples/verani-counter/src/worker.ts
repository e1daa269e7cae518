/**
 * Verani's counter on Cloudflare, written as a Verani Worker: the room's Durable Object class
 * is exported under the name wrangler.jsonc binds, and the Worker forwards upgrades to one
 * instance of it. Only the import lines differ from Verani (room.ts imports "cellar/verani").
 */
import { CounterActor } from "./room.js";

export { CounterActor };

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/ws/counter")) {
      // Every client shares one counter: the instance named "counter".
      return CounterActor.get("counter").fetch(request);
    }
    return new Response("Not Found", { status: 404 });
  },
};
