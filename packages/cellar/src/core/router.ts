/*
 * Internal: which room instance a WebSocket upgrade is for, and whether its origin may open
 * one. Shared by every host: the paths are the same on Node and on Cloudflare.
 */
import type { RoomDefinition } from "./define-room.js";
import { CellarError } from "./errors.js";

/** Longest instance id, in UTF-16 units. */
export const MAX_INSTANCE_ID_LENGTH = 128;

/** The instance a `websocketPath` without `:id` serves ("/ws" is `/rooms/<kind>/default`). */
export const SINGLE_INSTANCE_ID = "default";

interface Route {
  pattern: RegExp;
  def: RoomDefinition<any, any>;
  /** Set for a path without `:id`: the one instance it serves. */
  fixedId: string | undefined;
}

/**
 * Internal: maps upgrade paths to (room kind, instance id). Every kind is served at
 * `/rooms/<kind>/<id>`, and also at its own `websocketPath` when it declares one.
 */
export class Router {
  readonly #byKind = new Map<string, RoomDefinition<any, any>>();
  readonly #custom: Route[] = [];

  constructor(rooms: readonly RoomDefinition<any, any>[]) {
    for (const def of rooms) {
      this.#byKind.set(def.name, def);
      const path = def.options.websocketPath;
      if (path) {
        const source = path
          .split(":id")
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
          .join("([^/]+)");
        const fixedId = path.includes(":id") ? undefined : SINGLE_INSTANCE_ID;
        this.#custom.push({ pattern: new RegExp(`^${source}$`), def, fixedId });
      }
    }
  }

  kind(name: string): RoomDefinition<any, any> | undefined {
    return this.#byKind.get(name);
  }

  /**
   * The room an upgrade path is for. `id` is the instance, unless the room picks it from the
   * request (`route`): then `routed` is set and the host calls `instanceFor`.
   */
  match(pathname: string): RouteMatch | undefined {
    const standard = /^\/rooms\/([^/]+)\/([^/]+)$/.exec(pathname);
    if (standard) {
      const def = this.#byKind.get(decode(standard[1]!) ?? "");
      const id = decode(standard[2]!);
      return def && id !== undefined && validInstanceId(id) ? { def, id } : undefined;
    }
    for (const route of this.#custom) {
      const m = route.pattern.exec(pathname);
      const id = m ? (route.fixedId ?? decode(m[1]!)) : undefined;
      if (id === undefined || !validInstanceId(id)) continue;
      return route.fixedId !== undefined && route.def.options.route ? { def: route.def, id, routed: true } : { def: route.def, id };
    }
    return undefined;
  }
}

export interface RouteMatch {
  def: RoomDefinition<any, any>;
  id: string;
  routed?: boolean;
}

/**
 * The instance of a match: its `id`, or what the room's `route` picks from the request. A
 * `CellarError` (or an invalid id) refuses the upgrade, with the HTTP status to answer.
 */
export async function instanceFor(match: RouteMatch, request: Request): Promise<{ id: string } | { status: number; code: string; error?: unknown }> {
  if (!match.routed) return { id: match.id };
  let id: unknown;
  try {
    id = await match.def.options.route!(request);
  } catch (error) {
    if (!(error instanceof CellarError)) return { status: 500, code: "INTERNAL_ERROR", error };
    return { status: error.code === "UNAUTHORIZED" ? 401 : error.code === "FORBIDDEN" ? 403 : 400, code: error.code };
  }
  return typeof id === "string" && validInstanceId(id) ? { id } : { status: 400, code: "INVALID_ARGUMENT" };
}

function decode(part: string): string | undefined {
  if (!part.includes("%")) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Instance ids: 1 to 128 characters, no control characters and no "/". */
export function validInstanceId(id: string): boolean {
  // eslint-disable-next-line no-control-regex
  return id.length > 0 && id.length <= MAX_INSTANCE_ID_LENGTH && !/[\u0000-\u001f\u007f/]/.test(id);
}

/**
 * Whether an upgrade's Origin is allowed. Without a list: requests with no Origin (servers,
 * command-line clients) and same-origin browser pages; cross-site pages are refused, which
 * stops other sites from opening sockets with a visitor's cookies.
 */
export function originAllowed(origin: string | null | undefined, host: string | null | undefined, allowed: readonly string[] | "*" | undefined): boolean {
  if (allowed === "*" || origin === undefined || origin === null) return true;
  if (allowed !== undefined) return allowed.includes(origin);
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The header `authenticate` finds the client's address in (the host sets it; a client's own is dropped). */
export const REMOTE_ADDRESS_HEADER = "cellar-remote-address";

/** `ws://host:port/rooms/<kind>/<id>` for a server listening at `httpUrl`. */
export function roomUrl(httpUrl: string, kind: string, id: string): string {
  return `${httpUrl.replace(/^http/, "ws")}/rooms/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
}
