/*
 * Internal: the Durable Object class that hosts room instances, shared by `createWorker` (one
 * class for every kind, addressed by the Worker) and by classes that host one kind and are
 * addressed by name from the app's own Worker (cellar/verani's `createActorHandler`).
 */
import { DurableObject } from "cloudflare:workers";
import { CellarError } from "../core/errors.js";
import type { Logger } from "../core/ports.js";
import { originAllowed, REMOTE_ADDRESS_HEADER, type Router } from "../core/router.js";
import { ID_HEADER, KIND_HEADER, ObjectHost, type CallResult, type ObjectOptions } from "./object-host.js";

export type RoomObjectClass = new (ctx: DurableObjectState, env: any) => DurableObject;

/**
 * A class whose objects run `router`'s rooms. `admit` prepares each request the object
 * receives (the default takes it as the Worker sent it, with the instance in its headers).
 */
export function roomObjectClass(
  options: ObjectOptions,
  router: Router,
  admit?: (request: Request, ctx: DurableObjectState) => Request | Response,
): RoomObjectClass {
  return class RoomObject extends DurableObject {
    readonly #host: ObjectHost;
    readonly #state: DurableObjectState;

    constructor(ctx: DurableObjectState, env: any) {
      super(ctx, env);
      this.#state = ctx;
      this.#host = new ObjectHost(ctx, env, options, router);
    }

    override fetch(request: Request): Promise<Response> {
      const admitted = admit ? admit(request, this.#state) : request;
      return admitted instanceof Response ? Promise.resolve(admitted) : this.#host.fetch(admitted);
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
  };
}

/**
 * Runs `action` in instance `id` of `kind` through `stub` (an object of a `roomObjectClass`),
 * over Workers RPC: the action's `CellarError` comes back with its code.
 */
export async function callAction<R>(stub: DurableObjectStub, kind: string, id: string, action: string, args: unknown): Promise<R> {
  const result = await (stub as unknown as { cellarCall(...a: unknown[]): Promise<CallResult> }).cellarCall(kind, id, action, args);
  if (!result.ok) throw new CellarError(result.code, result.message);
  return result.value as R;
}

/**
 * The request an object gets for an upgrade to instance `id` of `kind`: the origin checked
 * (a `Response` refuses it), the instance named in headers, the client's address in Cellar's
 * header. Headers a client sent under those names are replaced.
 */
export function upgradeFor(request: Request, kind: string, id: string, allowedOrigins: readonly string[] | "*" | undefined): Request | Response {
  const url = new URL(request.url);
  if (!originAllowed(request.headers.get("origin"), url.host, allowedOrigins)) {
    return Response.json({ code: "ORIGIN_NOT_ALLOWED" }, { status: 403 });
  }
  const headers = new Headers(request.headers);
  headers.set(KIND_HEADER, kind);
  headers.set(ID_HEADER, id);
  headers.delete(REMOTE_ADDRESS_HEADER);
  const address = request.headers.get("cf-connecting-ip");
  if (address) headers.set(REMOTE_ADDRESS_HEADER, address);
  return new Request(request, { headers });
}

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
export type LogLevel = keyof typeof LEVELS;

export function isLogLevel(level: unknown): level is LogLevel {
  return typeof level === "string" && level in LEVELS;
}

export const LOG_LEVELS = Object.keys(LEVELS).join(", ");

/** Log lines as JSON on the console (Workers Logs and `wrangler tail` show them). */
export function consoleLogger(level: LogLevel): Logger {
  const threshold = LEVELS[level];
  const line = (at: Exclude<LogLevel, "silent">) => (fields: object, message: string) => {
    if (LEVELS[at] > threshold) return;
    const { err, ...rest } = fields as { err?: unknown };
    const error = err instanceof Error ? { type: err.name, message: err.message, stack: err.stack } : err;
    console.log(JSON.stringify({ level: at, msg: message, ...rest, ...(error === undefined ? {} : { err: error }) }));
  };
  const isLevelEnabled = (at: string) => at in LEVELS && at !== "silent" && LEVELS[at as LogLevel] <= threshold;
  return { error: line("error"), warn: line("warn"), info: line("info"), debug: line("debug"), isLevelEnabled };
}
