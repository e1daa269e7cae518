import { DurableObject } from "cloudflare:workers";
import type { RoomAccess } from "../core/define-room.js";
import { CellarError, cellarError } from "../core/errors.js";
import { resolveHostOptions, optionChecks, type HostOptions } from "../core/host-options.js";
import { createKvNamespace } from "../core/kv-api.js";
import type { Logger } from "../core/ports.js";
import { originAllowed, REMOTE_ADDRESS_HEADER, Router, validInstanceId } from "../core/router.js";
import { WorkersKv } from "./kv.js";
import { ID_HEADER, KIND_HEADER, ObjectHost, type CallResult, type ObjectOptions } from "./object-host.js";

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
  logLevel?: "error" | "warn" | "info" | "debug" | "silent";
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
  RoomObject: new (ctx: DurableObjectState, env: any) => DurableObject;
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
  if (!(level in LEVELS)) fail("logLevel", `one of ${Object.keys(LEVELS).join(", ")}`);
  const objectOptions: ObjectOptions = { ...shared, log: options.logger ?? consoleLogger(LEVELS[level]) };
  const router = new Router(shared.rooms);

  class RoomObject extends DurableObject {
    readonly #host: ObjectHost;

    constructor(ctx: DurableObjectState, env: any) {
      super(ctx, env);
      this.#host = new ObjectHost(ctx, env, objectOptions, router);
    }

    override fetch(request: Request): Promise<Response> {
      return this.#host.fetch(request);
    }

    override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
      this.#host.message(ws, message);
    }

    override webSocketClose(ws: WebSocket, code: number, reason: string): void {
      this.#host.closed(ws, code, reason);
    }

    override webSocketError(ws: WebSocket): void {
      this.#host.closed(ws, 1006, "");
    }

    override alarm(): Promise<void> {
      return this.#host.alarm();
    }

    /** RPC from the Worker: runs a room action (see `rooms(env).call`). */
    cellarCall(kind: string, id: string, action: string, args: unknown): Promise<CallResult> {
      return this.#host.call(kind, id, action, args);
    }
  }

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
          const stub = stubOf(env, kind, id) as unknown as { cellarCall(...a: unknown[]): Promise<CallResult> };
          const result = await stub.cellarCall(kind, id, action, args);
          if (!result.ok) throw new CellarError(result.code, result.message);
          return result.value as R;
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
      const headers = new Headers(request.headers);
      headers.set(KIND_HEADER, route.def.name);
      headers.set(ID_HEADER, route.id);
      headers.delete(REMOTE_ADDRESS_HEADER);
      const address = request.headers.get("cf-connecting-ip");
      if (address) headers.set(REMOTE_ADDRESS_HEADER, address);
      return stubOf(env, route.def.name, route.id).fetch(new Request(request, { headers }));
    },
  };
}

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;

/** Log lines as JSON on the console (Workers Logs and `wrangler tail` show them). */
function consoleLogger(threshold: number): Logger {
  const line = (level: keyof typeof LEVELS) => (fields: object, message: string) => {
    if (LEVELS[level] > threshold) return;
    const { err, ...rest } = fields as { err?: unknown };
    const error = err instanceof Error ? { type: err.name, message: err.message, stack: err.stack } : err;
    console.log(JSON.stringify({ level, msg: message, ...rest, ...(error === undefined ? {} : { err: error }) }));
  };
  return { error: line("error"), warn: line("warn"), info: line("info"), debug: line("debug") };
}
