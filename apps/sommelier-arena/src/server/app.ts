/**
 * The HTTP side on Node, on the same port as the rooms: the API (routes.ts) and the web app
 * (the Vite build in dist/web; any other GET path gets its index.html, so app routes survive
 * a refresh).
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { CellarServer } from "cellar/node";
import type { Hono } from "hono";
import { createApi } from "./routes.js";
import type { ResolvedArenaOptions } from "./room.js";

export interface AppOptions {
  server: () => CellarServer;
  resolved: ResolvedArenaOptions;
  /** The built web app; without one, a plain page says how to build it. */
  webDir: string;
}

export function createApp({ server, resolved, webDir }: AppOptions): Hono {
  const app = createApi({
    rooms: () => server(),
    resolved,
    lanOrigins: () => lanOrigins(server().url),
    logError: (error) => server().log.error({ err: error }, "request failed"),
  });

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
