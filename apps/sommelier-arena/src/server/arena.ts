/**
 * Sommelier Arena as a Cellar server: the session room, the HTTP API and the web app on one
 * port.
 */
import { fileURLToPath } from "node:url";
import { createServer, type CellarServer, type ServerOptions } from "cellar/node";
import { createApp } from "./app.js";
import { hostAuth } from "./host-auth.js";
import { defineSessionRoom, resolveOptions, type ArenaOptions } from "./room.js";

export interface ArenaServerOptions extends ArenaOptions, Omit<ServerOptions, "rooms" | "http"> {
  /** The built web app (default: dist/web beside this package's dist/server). */
  webDir?: string;
}

const defaultWebDir = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/**
 * @example
 * const server = createArenaServer({ port: 8787, dataDir: "./data" });
 * await server.listen();
 */
export function createArenaServer(options: ArenaServerOptions = {}): CellarServer {
  const { hostGraceMs, retainEndedMs, minTimerSeconds, unknownCodes, webDir = defaultWebDir, ...serverOptions } = options;
  const resolved = resolveOptions({ hostGraceMs, retainEndedMs, minTimerSeconds, unknownCodes });
  const server: CellarServer = createServer({
    ...serverOptions,
    rooms: [defineSessionRoom(resolved), hostAuth],
    http: createApp({ server: () => server, resolved, webDir }),
  });
  return server;
}
