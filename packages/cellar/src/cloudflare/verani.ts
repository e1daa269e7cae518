/**
 * `cellar/verani` on Cloudflare: what bundlers for workerd (wrangler, `startWorkerdServer`)
 * get through the package's `workerd` export condition. The API is src/verani's, except that
 * `createActorHandler`, `createConnectionHandler` and `createRoomHandler` return Durable
 * Object classes, as Verani's do. See docs/verani.md.
 */
import { DurableObject, env } from "cloudflare:workers";
import type { RoomDefinition } from "../core/define-room.js";
import { cellarError } from "../core/errors.js";
import { resolveHostOptions } from "../core/host-options.js";
import { Router, SINGLE_INSTANCE_ID, validInstanceId } from "../core/router.js";
import { ID_HEADER } from "./object-host.js";
import { callAction, consoleLogger, roomObjectClass, upgradeFor, type RoomObjectClass } from "./room-object.js";
import type { ConnectionMeta } from "../verani/context.js";
import type { VeraniConnection } from "../verani/connection.js";
import { definitionOf, type VeraniRoom } from "../verani/room.js";

export * from "../verani/index.js";

/** What `Actor.get(id)` returns: a stub whose `fetch` reaches instance `id` of the room. */
export interface ActorStub {
  fetch(request: Request): Promise<Response>;
}

/** The Durable Object class of one Verani room: export it under the `class_name` of wrangler.jsonc. */
export type ActorHandlerClass = RoomObjectClass & {
  /** The stub of instance `id` (one object per id, created on first use). */
  get(id: string): ActorStub;
};

/**
 * Verani's `createActorHandler` on Cloudflare: a Durable Object class that runs the room,
 * one object per instance name. The Worker forwards upgrades with `Actor.get(name).fetch(request)`.
 *
 * @example
 * export const CounterActor = createActorHandler(counterRoom);
 * export default { fetch: (request: Request) => CounterActor.get("counter").fetch(request) };
 */
export function createActorHandler<S extends object, M extends ConnectionMeta>(room: VeraniRoom<S, M>): ActorHandlerClass {
  return namedClass(definitionOf(room, "createActorHandler"), classNameOf(room.name), [room.name]);
}

/**
 * Verani's `createConnectionHandler` on Cloudflare: the class of the per-user objects. The
 * Worker forwards each upgrade to its user's object, `UserConnection.get(userId).fetch(request)`;
 * a Verani room of the connection ("chat") is the object `~room:chat` of the same class.
 */
export function createConnectionHandler<M extends ConnectionMeta, S extends object>(connection: VeraniConnection<M, S>): ActorHandlerClass {
  const definition = definitionOf(connection, "createConnectionHandler");
  const candidates = [connection.connectionBinding, connection.name];
  const className = classNameOf(connection.name);
  // The objects of the class reach one another through its binding (Workers RPC).
  connection.access = {
    async call<R>(kind: string, id: string, action: string, args?: unknown): Promise<R> {
      const namespace = namespaceOf(className, candidates);
      return callAction<R>(namespace.get(namespace.idFromName(id)), kind, id, action, args);
    },
    kv() {
      throw cellarError("INVALID_ARGUMENT", "Verani connections reach KV through their own bindings");
    },
  };
  return namedClass(definition, className, candidates);
}

/**
 * Verani's `createRoomHandler` on Cloudflare: Cellar coordinates a connection's rooms in the
 * connection's own class, so this class (which wrangler.jsonc may still bind) answers 404.
 */
export function createRoomHandler(options: { name: string; connectionBinding?: string }): RoomObjectClass {
  if (typeof options?.name !== "string") throw cellarError("INVALID_OPTION", "createRoomHandler: `name` must be the room's class name");
  const Inert = class extends DurableObject {
    override fetch(): Response {
      return Response.json({ code: "ROOM_NOT_FOUND", message: `${options.name} coordinates Verani rooms; clients connect at the connection's websocketPath` }, { status: 404 });
    }
  };
  Object.defineProperty(Inert, "name", { value: options.name });
  return Inert;
}

/** A class running one room kind, one object per instance name, reached with `get(name)`. */
function namedClass(def: RoomDefinition<any, any>, className: string, bindingNames: readonly string[]): ActorHandlerClass {
  const shared = resolveHostOptions({ rooms: [def] }, className);
  const Base = roomObjectClass({ ...shared, log: consoleLogger("warn") }, new Router([def]), (request, ctx) => {
    // `get(id)` names the instance in a header. An object reached through a stub of the
    // binding itself goes by the name it was created with.
    const id = request.headers.get(ID_HEADER) ?? ctx.id.name ?? SINGLE_INSTANCE_ID;
    return upgradeFor(request, def.name, id, shared.allowedOrigins);
  });

  const Actor = class extends Base {
    static get(id: string): ActorStub {
      if (typeof id !== "string" || !validInstanceId(id)) {
        throw cellarError("INVALID_ARGUMENT", `${className}.get(id): ids are 1 to 128 characters, without control characters or /`);
      }
      const namespace = namespaceOf(className, bindingNames);
      const stub = namespace.get(namespace.idFromName(id));
      return {
        fetch(request) {
          const headers = new Headers(request.headers);
          headers.set(ID_HEADER, id);
          return stub.fetch(new Request(request, { headers }));
        },
      };
    }
  };
  Object.defineProperty(Actor, "name", { value: className });
  return Actor;
}

/**
 * The binding of the class: named after the class (the room's name in PascalCase, as Verani
 * names it) or the room, else the Worker's only Durable Object binding.
 */
function namespaceOf(className: string, names: readonly string[]): DurableObjectNamespace {
  const bindings = env as Record<string, unknown>;
  const isNamespace = (value: unknown): value is DurableObjectNamespace => typeof (value as DurableObjectNamespace | undefined)?.idFromName === "function";
  for (const key of [className, ...names]) {
    const value = bindings[key];
    if (isNamespace(value)) return value;
  }
  const all = Object.values(bindings).filter(isNamespace);
  if (all.length === 1) return all[0]!;
  throw cellarError(
    "INVALID_OPTION",
    `${className}: the Worker has ${all.length} Durable Object bindings and none is named ${[className, ...names].map((n) => `"${n}"`).join(" or ")}; name this class's binding so in wrangler.jsonc`,
  );
}

/** Verani's class name for a room: "chat-room" → "ChatRoom", "/ws/presence" → "WsPresence". */
function classNameOf(name: string): string {
  const words = name.split(/[^a-z0-9]+/i).filter((w) => w.length > 0);
  const joined = words.map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join("");
  return /^[A-Za-z]/.test(joined) ? joined : `VeraniActor${joined}`;
}
