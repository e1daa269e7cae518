import type { RoomAccess } from "../core/define-room.js";
import { cellarError } from "../core/errors.js";
import { resolveHostOptions, optionChecks, type HostOptions } from "../core/host-options.js";
import { createKvNamespace } from "../core/kv-api.js";
import type { Logger } from "../core/ports.js";
import { instanceFor, originAllowed, Router, validInstanceId } from "../core/router.js";
import { WorkersKv } from "./kv.js";
import type { ObjectOptions } from "./object-host.js";
import { callAction, consoleLogger, isLogLevel, LOG_LEVELS, roomObjectClass, upgradeFor, type LogLevel, type RoomObjectClass } from "./room-object.js";

/** Anything with a fetch handler: a Hono app, or `{ fetch }`. */
export interface WorkerApp {
  fetch(request: Request, env: any, ctx: ExecutionContext): Response | Promise<Response>;
}

export interface WorkerOptions extends HostOptions {
  /** Handles every request that is not a room upgrade (a Hono app works as it is). */
  app?: WorkerApp;
  /** The Durable Object binding of the rooms' class in wrangler.jsonc (default "CELLAR_ROOMS"). */
  binding?: string;
  /** Where Cellar's log lines go (default: JSON lines on the console, at `logLevel`). */
  logger?: Logger;
  /** "error", "warn" (default), "info", "debug" or "silent". */
  logLevel?: LogLevel;
}

/** What `createWorker` gives: the Worker's fetch handler and the Durable Object class to export. */
export interface CellarWorker {
  /**
   * The rooms as app code reaches them (`call` an action, `kv`), for the Worker's `env`.
   *
   * @example
   * app.post("/api/open", async (c) => c.json(await cellar.rooms(c.env).call("session", "a", "open", {})));
   */
  rooms(env: Record<string, unknown>): RoomAccess;
  /** The Worker's fetch handler: `export default { fetch: cellar.fetch }`. */
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response>;
  /** The Durable Object class every room instance runs in: export it under the class_name of wrangler.jsonc. */
  RoomObject: RoomObjectClass;
}

/**
 * Runs rooms on Cloudflare Durable Objects: one object per instance (`idFromName("<kind>/<id>")`
 * in one class for every kind), reached at `/rooms/<kind>/<id>` or a room's `websocketPath`.
 *
 * @example
 * // src/worker.ts
 * import { createWorker } from "cellar/cloudflare";
 * import { counter } from "./rooms.js";
 * const cellar = createWorker({ rooms: [counter], app });
 * export const CellarRooms = cellar.RoomObject;
 * export default { fetch: cellar.fetch };
 */
export function createWorker(options: WorkerOptions): CellarWorker {
  const shared = resolveHostOptions(options, "createWorker");
  const { fail } = optionChecks("createWorker");
  const binding = options.binding ?? "CELLAR_ROOMS";
  if (typeof binding !== "string" || binding === "") fail("binding", "the name of a Durable Object binding");
  const app = options.app;
  if (app !== undefined && typeof app?.fetch !== "function") fail("app", "a Hono app (or any object with fetch)");
  const level = options.logLevel ?? "warn";
  if (!isLogLevel(level)) fail("logLevel", `one of ${LOG_LEVELS}`);
  const objectOptions: ObjectOptions = { ...shared, log: options.logger ?? consoleLogger(level) };
  const router = new Router(shared.rooms);

  const RoomObject = roomObjectClass(objectOptions, router);

  const stubOf = (env: Record<string, unknown>, kind: string, id: string) => {
    const namespace = env[binding] as DurableObjectNamespace | undefined;
    if (!namespace) throw new Error(`createWorker: no Durable Object binding "${binding}" (see wrangler.jsonc)`);
    return namespace.get(namespace.idFromName(`${kind}/${id}`));
  };

  return {
    RoomObject,
    rooms(env) {
      const kv = new WorkersKv(env, undefined, objectOptions.log);
      return {
        async call<R>(kind: string, id: string, action: string, args?: unknown): Promise<R> {
          const def = router.kind(kind);
          if (!def) throw cellarError("ROOM_NOT_FOUND", `No room kind "${kind}"`);
          if (typeof id !== "string" || !validInstanceId(id)) throw cellarError("INVALID_ARGUMENT", "Instance ids are 1 to 128 characters, without control characters or /");
          if (!def.actions.has(action)) throw cellarError("UNKNOWN_ACTION", `Room kind "${kind}" has no action "${action}"`);
          return callAction<R>(stubOf(env, kind, id), kind, id, action, args);
        },
        kv: (name) => createKvNamespace(name, { store: kv, now: Date.now, layers: () => [], write: (namespace, key, record) => kv.write(namespace, key, record) }),
      };
    },
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      const route = router.match(url.pathname);
      const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
      // As on Node, upgrades are the rooms' alone: the app never sees one.
      if (!route && upgrade) return Response.json({ code: "ROOM_NOT_FOUND" }, { status: 404 });
      if (!route) return app ? app.fetch(request, env, ctx) : new Response("Not found", { status: 404 });
      if (!upgrade) {
        // A room path that is not an upgrade may still be the app's (a page at the same path).
        if (app) return app.fetch(request, env, ctx);
        return Response.json({ code: "UPGRADE_REQUIRED" }, { status: 426 });
      }
      if (!originAllowed(request.headers.get("origin"), url.host, shared.allowedOrigins)) {
        return Response.json({ code: "ORIGIN_NOT_ALLOWED" }, { status: 403 });
      }
      const picked = await instanceFor(route, request);
      if (!("id" in picked)) {
        if (picked.error !== undefined) objectOptions.log.error({ err: picked.error, room: route.def.name }, "route failed");
        return Response.json({ code: picked.code }, { status: picked.status });
      }
      const admitted = upgradeFor(request, route.def.name, picked.id, shared.allowedOrigins);
      if (admitted instanceof Response) return admitted;
      return stubOf(env, route.def.name, picked.id).fetch(admitted);
    },
  };
}
