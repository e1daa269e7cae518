/**
 * The HTTP side, on the same port as the rooms: the API and the web app (the Vite build in
 * dist/web; any other GET path gets its index.html, so app routes survive a refresh).
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { CellarServer } from "cellar/node";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createSession, errorBody, hostSessions } from "./api.js";
import type { ResolvedArenaOptions } from "./room.js";
import type { ServerConfig } from "../shared/protocol.js";

export interface AppOptions {
  server: () => CellarServer;
  resolved: ResolvedArenaOptions;
  /** The built web app; without one, a plain page says how to build it. */
  webDir: string;
}

export function createApp({ server, resolved, webDir }: AppOptions): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    server().log.error({ err: error }, "request failed");
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
      const reply = await createSession(server(), resolved, body);
      return c.json(reply.body, reply.status);
    },
  );

  app.get("/api/hosts/:hostId/sessions", async (c) => {
    c.header("cache-control", "no-store");
    const reply = await hostSessions(server(), c.req.param("hostId"), c.req.header("authorization"));
    return c.json(reply.body, reply.status);
  });

  app.get("/api/config", (c) => c.json({ minTimerSeconds: resolved.minTimerSeconds, lanOrigins: lanOrigins(server().url) } satisfies ServerConfig));

  app.all("/api/*", (c) => c.json({ code: "NOT_FOUND", message: `No API route ${c.req.method} ${c.req.path}` }, 404));

  const index = join(webDir, "index.html");
  app.use("/assets/*", serveStatic({ root: webDir, onFound: (_path, c) => c.header("cache-control", "public, max-age=31536000, immutable") }));
  app.use("*", serveStatic({ root: webDir }));
  app.get("*", async (c) => {
    if (!existsSync(index)) {
      return c.html("<!doctype html><title>Sommelier Arena</title><p>The web app is not built: run <code>npm start</code> from the repository root.</p>", 503);
    }
    return c.html(await readFile(index, "utf8"));
  });
  return app;
}

/** The network's addresses of this machine, when the server listens on every interface. */
export function lanOrigins(serverUrl: string): string[] {
  const { hostname, port } = new URL(serverUrl);
  if (hostname !== "0.0.0.0" && hostname !== "[::]") return [];
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
    .map((a) => `http://${a!.address}:${port}`);
  return [...new Set(addresses)];
}
