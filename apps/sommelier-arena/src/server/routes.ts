/**
 * The HTTP API, the same on both hosts: on Node app.ts adds the web app's files to it; on
 * Cloudflare worker.ts serves it beside the static assets.
 */
import type { RoomAccess } from "cellar";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createSession, errorBody, hostSessions } from "./api.js";
import type { ResolvedArenaOptions } from "./room.js";
import type { ServerConfig } from "../shared/protocol.js";

export interface ApiOptions {
  /** The rooms, for a request (on Cloudflare they come with the request's `env`). */
  rooms: (c: Context) => RoomAccess;
  resolved: ResolvedArenaOptions;
  /** Origins on the local network phones can open (Node, listening on every interface). */
  lanOrigins?: () => string[];
  /** Where an unexpected failure is reported. */
  logError: (error: unknown) => void;
}

export function createApi({ rooms, resolved, lanOrigins = () => [], logError }: ApiOptions): Hono<any> {
  const app = new Hono<any>();
  app.onError((error, c) => {
    logError(error);
    return c.json(errorBody(error), 500);
  });

  app.post(
    "/api/sessions",
    bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.json({ code: "TOO_LARGE", message: "A session is at most 256 KiB of JSON" }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ code: "INVALID_JSON", message: "The request body is not valid JSON" }, 400);
      }
      const reply = await createSession(rooms(c), resolved, body);
      return c.json(reply.body, reply.status);
    },
  );

  app.get("/api/hosts/:hostId/sessions", async (c) => {
    c.header("cache-control", "no-store");
    const reply = await hostSessions(rooms(c), c.req.param("hostId"), c.req.header("authorization"));
    return c.json(reply.body, reply.status);
  });

  app.get("/api/config", (c) => c.json({ minTimerSeconds: resolved.minTimerSeconds, lanOrigins: lanOrigins() } satisfies ServerConfig));

  app.all("/api/*", (c) => c.json({ code: "NOT_FOUND", message: `No API route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
