import type { Connection, ConnectionInfo } from "./connection.js";
import type { Emitter } from "./emitter.js";
import { cellarError, type CellarError } from "./errors.js";
import type { KvNamespace } from "./kv-api.js";
import type { Schedule, Alarm } from "./schedule-api.js";
import type { Schema } from "./schema.js";
import type { PersistOptions } from "./state-tracker.js";
import type { Storage } from "./storage-api.js";

export interface RoomInfo {
  readonly kind: string;
  readonly id: string;
  /** The open connections of this instance. */
  connections(): ConnectionInfo[];
}

/** What every hook and handler gets. */
export interface RoomContext<S> {
  readonly state: S;
  readonly storage: Storage;
  /** A global key-value namespace, shared by all rooms. */
  kv(name: string): KvNamespace;
  readonly schedule: Schedule;
  readonly emit: Emitter;
  readonly room: RoomInfo;
}

export interface ConnectionContext<S, C> extends RoomContext<S> {
  readonly connection: Connection<C>;
}

export interface EventContext<S, C> extends ConnectionContext<S, C> {
  /** The event being handled (useful in a `"*"` handler). */
  readonly event: string;
}

export interface ConnectContext<S, C> extends ConnectionContext<S, C> {
  /** The `params` the client sent in its handshake. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Whether this connection resumed an earlier session (same id, channels and state; see docs/protocol.md). */
  readonly resumed: boolean;
}

export interface DisconnectContext<S, C> extends ConnectionContext<S, C> {
  readonly code: number;
  readonly reason: string;
}

export interface AuthContext<S> extends RoomContext<S> {
  readonly params: Readonly<Record<string, unknown>>;
}

/** What `authenticate` returns: the connection's `meta` (`userId` keys per-user state). */
export type AuthResult = (Record<string, unknown> & { userId?: string }) | undefined | void;

type Awaitable<T> = T | Promise<T>;

export type EventHandler<S, C, T> = (ctx: EventContext<S, C>, data: T) => unknown;

export interface RoomOptions<S extends object, C extends object> {
  /** The room kind; clients reach instances at `/rooms/<name>/<id>`. */
  name: string;
  /** Initial state of a new instance (or a function returning it). */
  state: S | (() => S);
  /** Keys of `state` saved durably; the others reset when the instance is reloaded. */
  persistedKeys?: readonly (keyof S & string)[];
  persistOptions?: PersistOptions;
  /** Called when a persisted value cannot be stored or read back, and when a commit fails. */
  onPersistError?(key: string, error: CellarError): void;
  /** Runs before `onConnect`; return meta, or throw a `CellarError` to refuse (close 4401/4403). */
  authenticate?(request: Request, ctx: AuthContext<S>): Awaitable<AuthResult>;
  /** The instance was loaded and this process has not run it before. */
  onCreate?(ctx: RoomContext<S>): Awaitable<void>;
  /** The instance was loaded again after this process hibernated it. */
  onHibernationRestore?(ctx: RoomContext<S>): Awaitable<void>;
  onConnect?(ctx: ConnectContext<S, C>): Awaitable<void>;
  onDisconnect?(ctx: DisconnectContext<S, C>): Awaitable<void>;
  onAlarm?(ctx: RoomContext<S>, alarm: Alarm): Awaitable<void>;
  /** Per-connection state; see `defineConnection`. */
  connection?: ConnectionDefinition<C>;
  /** Idle time before the instance leaves memory (default: the server's, 10 s). */
  hibernateAfterMs?: number;
  /**
   * Another path clients may connect at, with `:id` for the instance id: "/game/:id". A path
   * without `:id` ("/ws") serves one instance, named `"default"`, unless `route` names it.
   */
  websocketPath?: string;
  /**
   * For a `websocketPath` without `:id`: the instance an upgrade there is for, read from the
   * request (one instance per user, say). Throwing a `CellarError` refuses the upgrade with
   * its code (`UNAUTHORIZED` 401, `FORBIDDEN` 403, others 400).
   *
   * @example
   * route: (request) => new URL(request.url).searchParams.get("userId") ?? "guest",
   */
  route?(request: Request): Awaitable<string>;
}

export interface ConnectionOptions<C extends object> {
  state: C | (() => C);
  persistedKeys?: readonly (keyof C & string)[];
  persistOptions?: PersistOptions;
}

/** Per-connection state, kept per authenticated `userId` across reconnects. */
export interface ConnectionDefinition<C extends object> {
  readonly initial: () => C;
  readonly persistedKeys: readonly string[];
  readonly persistOptions: PersistOptions | undefined;
}

/** A server-side action of a room (see `RoomDefinition.action`). */
export type RoomAction<S, A = any, R = unknown> = (ctx: RoomContext<S>, args: A) => R | Promise<R>;

/**
 * What app code (HTTP routes) uses to reach rooms, the same on every host: Node's server is
 * one, and Cloudflare's `cellar.rooms(env)` gives one.
 */
export interface RoomAccess {
  /** Runs `action` of room kind `kind` in instance `id`; rejects with the action's `CellarError`. */
  call<R = unknown>(kind: string, id: string, action: string, args?: unknown): Promise<R>;
  /** A KV namespace for code outside rooms; its writes commit at once. */
  kv(name: string): KvNamespace;
}

/**
 * Internal: where a handler's `ctx` keeps the host's `RoomAccess` for cellar/verani, whose
 * rooms deliver to one another (after their commits). Not part of the public context: a
 * handler awaiting another room could wait on a room that waits on it.
 */
export const ROOM_ACCESS: unique symbol = Symbol.for("cellar.roomAccess") as never;

/** Internal: a registered handler. */
export interface HandlerEntry {
  readonly schema: Schema | undefined;
  readonly handler: EventHandler<any, any, any>;
}

const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

/**
 * A room kind: its state, hooks and event handlers. Create with `defineRoom`.
 */
export class RoomDefinition<S extends object = Record<string, unknown>, C extends object = Record<string, unknown>> {
  readonly name: string;
  readonly options: RoomOptions<S, C>;
  readonly initialState: () => S;
  readonly persistedKeys: readonly string[];
  readonly handlers = new Map<string, HandlerEntry>();
  readonly actions = new Map<string, RoomAction<S>>();

  constructor(options: RoomOptions<S, C>) {
    if (typeof options?.name !== "string" || !ROOM_NAME.test(options.name)) {
      throw cellarError("INVALID_OPTION", "defineRoom: `name` must be 1-64 letters, digits, '-' or '_', starting with a letter or digit");
    }
    this.name = options.name;
    this.options = options;
    this.initialState = initialFactory(options.state, `room "${options.name}"`);
    this.persistedKeys = checkPersistedKeys(this.initialState(), options.persistedKeys, `room "${options.name}"`);
    const ms = options.hibernateAfterMs;
    if (ms !== undefined && !(typeof ms === "number" && ms >= 0)) {
      throw cellarError("INVALID_OPTION", `defineRoom "${options.name}": hibernateAfterMs must be a number >= 0 (or Infinity)`);
    }
    const path = options.websocketPath;
    if (path !== undefined && !(typeof path === "string" && path.startsWith("/"))) {
      throw cellarError("INVALID_OPTION", `defineRoom "${options.name}": websocketPath must be a string starting with "/"`);
    }
    if (options.route !== undefined && (typeof options.route !== "function" || path === undefined || path.includes(":id"))) {
      throw cellarError("INVALID_OPTION", `defineRoom "${options.name}": route must be a function, with a websocketPath without ":id"`);
    }
  }

  /**
   * Registers the handler of `event`. With a `schema`, the payload is validated first and an
   * invalid one is answered with `INVALID_PAYLOAD` without running the handler. The return
   * value is the ack of a client `request`. `"*"` handles events that have no handler.
   *
   * @example
   * room.on("chat:send", { schema: z.object({ text: z.string().max(500) }) }, (ctx, { text }) => {
   *   ctx.emit.broadcast("chat:message", { text, from: ctx.connection.id });
   * });
   */
  on<T>(event: string, options: { schema: Schema<T> }, handler: EventHandler<S, C, T>): this;
  on(event: string, handler: EventHandler<S, C, unknown>): this;
  on(event: string, a: { schema: Schema } | EventHandler<S, C, unknown>, b?: EventHandler<S, C, any>): this {
    if (typeof event !== "string" || event.length === 0 || event.length > 128) {
      throw cellarError("INVALID_OPTION", `room "${this.name}": event names are strings of 1 to 128 characters`);
    }
    const handler = typeof a === "function" ? a : b;
    const schema = typeof a === "function" ? undefined : a?.schema;
    if (typeof handler !== "function") {
      throw cellarError("INVALID_OPTION", `room "${this.name}": the handler of "${event}" must be a function`);
    }
    if (schema !== undefined && typeof (schema as Partial<Schema>)["~standard"]?.validate !== "function") {
      throw cellarError("INVALID_OPTION", `room "${this.name}": the schema of "${event}" is not a Standard Schema`);
    }
    if (this.handlers.has(event)) {
      throw cellarError("INVALID_OPTION", `room "${this.name}": "${event}" already has a handler`);
    }
    this.handlers.set(event, { schema, handler });
    return this;
  }

  /**
   * Registers a server-side action: code of the app's own (an HTTP route, a job) runs it in
   * an instance with `call(kind, id, action, args)` on any host (Node's `server.call`,
   * Cloudflare's `cellar.rooms(env).call`), queued like an event, resolving with its result
   * once its writes committed. Clients cannot reach actions.
   *
   * @example
   * room.action("open", (ctx, { title }: { title: string }) => {
   *   ctx.state.title = title;
   *   return { opened: true };
   * });
   * await server.call("session", code, "open", { title: "Rioja night" });
   */
  action<A = any, R = unknown>(name: string, fn: RoomAction<S, A, R>): this {
    if (typeof name !== "string" || name.length === 0 || name.length > 128) {
      throw cellarError("INVALID_OPTION", `room "${this.name}": action names are strings of 1 to 128 characters`);
    }
    if (typeof fn !== "function") throw cellarError("INVALID_OPTION", `room "${this.name}": action "${name}" must be a function`);
    if (this.actions.has(name)) throw cellarError("INVALID_OPTION", `room "${this.name}": action "${name}" is already defined`);
    this.actions.set(name, fn as RoomAction<S>);
    return this;
  }

  /** The handler for `event`, falling back to `"*"`. */
  handlerFor(event: string): HandlerEntry | undefined {
    return this.handlers.get(event) ?? this.handlers.get("*");
  }
}

/**
 * Defines a room kind.
 *
 * @example
 * const counter = defineRoom({
 *   name: "counter",
 *   state: { count: 0 },
 *   persistedKeys: ["count"],
 * });
 * counter.on("increment", (ctx) => ++ctx.state.count);
 */
export function defineRoom<S extends object, C extends object = Record<string, unknown>>(
  options: RoomOptions<S, C>,
): RoomDefinition<S, C> {
  return new RoomDefinition(options);
}

/**
 * Declares per-connection state. Persisted keys are stored per authenticated `userId`, so
 * they come back when the same user reconnects; connections without a `userId` keep them
 * only while connected.
 *
 * @example
 * const room = defineRoom({
 *   name: "notes", state: {},
 *   connection: defineConnection({ state: { theme: "light", online: false }, persistedKeys: ["theme"] }),
 * });
 */
export function defineConnection<C extends object>(options: ConnectionOptions<C>): ConnectionDefinition<C> {
  const initial = initialFactory(options?.state, "defineConnection");
  return {
    initial,
    persistedKeys: checkPersistedKeys(initial(), options.persistedKeys, "defineConnection"),
    persistOptions: options.persistOptions,
  };
}

function initialFactory<S>(state: S | (() => S), where: string): () => S {
  const make =
    typeof state === "function"
      ? (state as () => S)
      : () => {
          try {
            return structuredClone(state);
          } catch (error) {
            throw cellarError("INVALID_OPTION", `${where}: state must be plain data (${(error as Error).message})`);
          }
        };
  const sample = make();
  if (typeof sample !== "object" || sample === null || Array.isArray(sample)) {
    throw cellarError("INVALID_OPTION", `${where}: state must be an object`);
  }
  return make;
}

function checkPersistedKeys(sample: object, keys: readonly string[] | undefined, where: string): readonly string[] {
  if (keys === undefined) return [];
  if (!Array.isArray(keys)) throw cellarError("INVALID_OPTION", `${where}: persistedKeys must be an array of state keys`);
  for (const key of keys) {
    if (typeof key !== "string" || !(key in sample)) {
      throw cellarError("INVALID_OPTION", `${where}: persistedKeys names "${String(key)}", which is not a key of state`);
    }
  }
  return [...keys];
}
