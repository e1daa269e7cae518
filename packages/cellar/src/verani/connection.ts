/*
 * Verani's per-connection architecture (`defineConnection`, `createConnectionHandler`,
 * `createRoomHandler`) mapped onto one Cellar room kind. Each user is an instance of the kind
 * (the instance id is the `userId` of `extractMeta`), so `ctx.state`, `getStorage()` and its
 * SQL are the user's own, as in Verani's one Durable Object per user. A Verani room ("chat")
 * is the instance `~room:chat` of the same kind, which keeps the members and relays to them.
 *
 * What a handler sends to a room or another user leaves only after its commit: it is written
 * as a durable alarm with the handler's other writes, and the alarm delivers it (at least
 * once). A user's instance waits on its room's instance while it delivers; a room's instance
 * waits on nobody, so no two instances can wait on each other.
 */
import { defineRoom as defineCellarRoom, ROOM_ACCESS, type ConnectionContext, type RoomAccess, type RoomContext, type RoomDefinition } from "../core/define-room.js";
import type { Alarm } from "../core/schedule-api.js";
import type { Storage } from "../core/storage-api.js";
import { CellarError, cellarError } from "../core/errors.js";
import type { PersistOptions } from "../core/state-tracker.js";
import { actorOf, channelsOf, DEFAULT_CHANNEL, metaOf, type ActorEmit, type ConnectionMeta } from "./context.js";
import { guardedBy, handlerRegistry, stateOptions } from "./handlers.js";
import { definitionOf, nameFromPath } from "./room.js";

type Awaitable<T> = T | Promise<T>;

/** Instances of a connection kind that are Verani rooms, not users: `~room:<name>`. */
const ROOM_PREFIX = "~room:";
const OUTBOX_ALARM = "verani:outbox";
/** Storage key (in a user's instance) of the rooms the user joined. */
const JOINED_KEY = "verani:joined";
const MEMBER_PREFIX = "verani:member:";

/** `ctx.emit` of a connection handler: call it (or `.emit`) to send to this connection. */
export interface ConnectionEmit {
  (event: string, data?: unknown): void;
  emit(event: string, data?: unknown): void;
  /** To every member of Verani room `name` (after this handler's commit). */
  toRoom(name: string): { emit(event: string, data?: unknown): Promise<void> };
  /** To every connection of user `userId` (after this handler's commit). */
  toUser(userId: string): { emit(event: string, data?: unknown): Promise<void> };
}

/** `ctx.actor` of a connection handler: this user's instance. */
export interface ConnectionActor {
  /** This user's storage (Cellar's `ctx.storage`: KV and SQL). */
  getStorage(): Storage;
  /** Joins Verani room `name` (kept until the user's last connection closes). */
  joinRoom(name: string, meta?: Record<string, unknown>): Promise<void>;
  leaveRoom(name: string): Promise<void>;
  /** The rooms this user is in. */
  getRooms(): Promise<string[]>;
  /** Open connections of this user. */
  getSessionCount(): number;
  /** To this user's connections in channel "default" (`emit`) or another channel (`to`). */
  readonly emit: ActorEmit;
}

export interface ConnectionHandlerContext<S, M extends ConnectionMeta = ConnectionMeta> {
  /** This user's state; persisted keys survive reconnects, hibernation and restarts. */
  readonly state: S;
  readonly meta: M;
  readonly emit: ConnectionEmit;
  readonly actor: ConnectionActor;
}

export interface ConnectionMessageContext<S, M extends ConnectionMeta = ConnectionMeta> extends ConnectionHandlerContext<S, M> {
  readonly frame: { type: string; data: unknown };
}

export type ConnectionEventHandler<S, M extends ConnectionMeta = ConnectionMeta> = (ctx: ConnectionMessageContext<S, M>, data: any) => unknown;

export interface ConnectionDefinitionOptions<M extends ConnectionMeta, S extends object> {
  /** The room kind (Cellar's room name; Verani's class name). Default: from the path. */
  name?: string;
  /** Where clients connect (default `"/ws"`). */
  websocketPath?: string;
  /** Accepted for Verani's sake: on Cloudflare, the binding of this class (default: `name`). */
  connectionBinding?: string;
  /** Accepted for Verani's sake: rooms are coordinated inside this kind (see docs/verani.md). */
  rooms?: Record<string, string>;
  state?: S;
  persistedKeys?: readonly (keyof S & string)[];
  persistOptions?: PersistOptions;
  onPersistError?(key: string, error: CellarError): void;
  /** Reads the upgrade request; its `userId` picks the user's instance. Default: `?userId=`, else a random id. */
  extractMeta?(request: Request): Awaitable<M>;
  onConnect?(ctx: ConnectionHandlerContext<S, M>): Awaitable<void>;
  onDisconnect?(ctx: ConnectionHandlerContext<S, M>): Awaitable<void>;
  /** A handler or hook threw; called before Cellar rolls it back (what it sends is dropped). */
  onError?(error: unknown, ctx: ConnectionHandlerContext<S, M>): Awaitable<void>;
}

/** What `defineConnection` returns. */
export interface VeraniConnection<M extends ConnectionMeta, S extends object> {
  readonly name: string;
  readonly websocketPath: string;
  readonly connectionBinding: string;
  /** The Cellar room this maps to (what `createConnectionHandler` returns on Node). */
  readonly definition: RoomDefinition<S>;
  on<T = any>(event: string, handler: (ctx: ConnectionMessageContext<S, M>, data: T) => unknown): void;
  off(event: string, handler?: ConnectionEventHandler<S, M>): void;
  /** Internal: how this kind's instances reach each other (the Cloudflare entry sets it). */
  access?: RoomAccess;
}

type OutboxItem =
  | { to: "room"; room: string; event: string; data: unknown }
  | { to: "user"; userId: string; event: string; data: unknown }
  | { to: "join"; room: string; userId: string; meta: Record<string, unknown> }
  | { to: "leave"; room: string; userId: string };

/**
 * Verani's `defineConnection`: one instance per user, with its own state and storage.
 *
 * @example
 * const connection = defineConnection({ name: "UserConnection", websocketPath: "/ws", state: { messageCount: 0 }, persistedKeys: ["messageCount"] });
 * connection.on("message", async (ctx, data) => {
 *   ctx.state.messageCount++;
 *   await ctx.emit.toRoom("chat").emit("message", { text: data.text });
 * });
 * export const UserConnection = createConnectionHandler(connection);
 */
export function defineConnection<M extends ConnectionMeta = ConnectionMeta, E = unknown, S extends object = Record<string, unknown>>(
  options: ConnectionDefinitionOptions<M, S>,
): VeraniConnection<M, S> {
  const websocketPath = options.websocketPath ?? "/ws";
  const name = options.name ?? nameFromPath(websocketPath);
  const extractMeta = options.extractMeta ?? (defaultMeta as unknown as (request: Request) => Awaitable<M>);
  // `route` and `authenticate` read the same request on Node: one extractMeta per upgrade
  // (a random userId drawn twice would name two users).
  const metas = new WeakMap<Request, Promise<M>>();
  const metaFor = (request: Request): Promise<M> => {
    let meta = metas.get(request);
    if (!meta) metas.set(request, (meta = Promise.resolve(extractMeta(request))));
    return meta;
  };

  // The Cloudflare entry sets `access` once this is made; the handlers read it when they run.
  const connection: Pick<VeraniConnection<M, S>, "name" | "websocketPath" | "connectionBinding" | "access"> = {
    name,
    websocketPath,
    connectionBinding: options.connectionBinding ?? name,
  };
  const accessOf = (ctx: RoomContext<S>): RoomAccess => {
    const access = connection.access ?? (ctx as unknown as { [ROOM_ACCESS]?: RoomAccess })[ROOM_ACCESS];
    if (!access) throw cellarError("INTERNAL_ERROR", `Verani connection "${name}": this host gives rooms no way to each other`);
    return access;
  };
  const contexts = new ConnectionContexts<S, M>();
  const onError = options.onError;
  const guarded = guardedBy(onError);

  const definition = defineCellarRoom<S>({
    name,
    websocketPath,
    ...stateOptions(options),
    route: async (request) => {
      const meta = await metaFor(request);
      if (typeof meta?.userId !== "string" || meta.userId.startsWith("~")) {
        throw cellarError("UNAUTHORIZED", "extractMeta gave no userId (user ids starting with ~ are Cellar's)");
      }
      return meta.userId;
    },
    async authenticate(request, ctx) {
      if (ctx.room.id.startsWith(ROOM_PREFIX)) throw cellarError("FORBIDDEN", "A Verani room's instance takes no connections");
      return { ...(await metaFor(request)) } as Record<string, unknown>;
    },
    async onConnect(ctx) {
      for (const channel of channelsOf(ctx.connection.meta)) ctx.connection.join(channel);
      const vctx = contexts.of(ctx);
      await guarded(vctx, () => options.onConnect?.(vctx));
      await contexts.flush(vctx);
    },
    async onDisconnect(ctx) {
      const vctx = contexts.of(ctx);
      await guarded(vctx, () => options.onDisconnect?.(vctx));
      // As in Verani, a user leaves its rooms with its last connection.
      const others = ctx.room.connections().filter((c) => c.id !== ctx.connection.id).length;
      if (others === 0) {
        for (const room of await joinedRooms(ctx.storage)) contexts.queue(vctx, { to: "leave", room, userId: ctx.room.id });
        await ctx.storage.delete(JOINED_KEY);
      }
      await contexts.flush(vctx);
    },
    async onAlarm(ctx, alarm: Alarm) {
      if (alarm.name !== OUTBOX_ALARM) return;
      await deliver(accessOf(ctx), name, alarm.payload as OutboxItem[]);
    },
  });

  // A user's instance: sends to this user's connections; how many got it.
  definition.action("verani:deliver", (ctx, { event, data }: { event: string; data: unknown }) => {
    ctx.emit.broadcast(event, data);
    return ctx.room.connections().length;
  });
  // A room's instance: its members.
  definition.action("verani:join", async (ctx, { userId, meta }: { userId: string; meta: Record<string, unknown> }) => {
    await ctx.storage.put(MEMBER_PREFIX + userId, meta);
  });
  definition.action("verani:leave", async (ctx, { userId }: { userId: string }) => {
    await ctx.storage.delete(MEMBER_PREFIX + userId);
  });
  definition.action("verani:broadcast", async (ctx, { event, data }: { event: string; data: unknown }) => {
    const access = accessOf(ctx);
    const members = [...(await ctx.storage.list({ prefix: MEMBER_PREFIX })).keys()].map((key) => key.slice(MEMBER_PREFIX.length));
    // Not awaited: a room's instance waits on nobody. A member with no connection left
    // (its server stopped before it could leave) is dropped.
    for (const userId of members) {
      access
        .call<number>(name, userId, "verani:deliver", { event, data })
        .then((open) => (open === 0 ? access.call(name, ctx.room.id, "verani:leave", { userId }) : undefined))
        .catch(() => undefined);
    }
    return members.length;
  });

  const registry = handlerRegistry<ConnectionMessageContext<S, M>>(
    definition,
    // The same object as the outbox's key: what its handlers send is flushed after them.
    (ctx, data) => Object.assign(contexts.of(ctx), { frame: { type: ctx.event, data } }),
    (vctx) => contexts.flush(vctx),
    onError && ((error, vctx) => onError(error, vctx)),
  );
  return Object.assign(connection, { definition, on: registry.on, off: registry.off });
}

/**
 * Verani's `createConnectionHandler`. On Node it is the Cellar room definition, for
 * `createServer({ rooms })`; on Cloudflare (the `workerd` entry) a Durable Object class.
 */
export function createConnectionHandler<M extends ConnectionMeta, S extends object>(connection: VeraniConnection<M, S>): RoomDefinition<S> {
  return definitionOf(connection, "createConnectionHandler");
}

/**
 * Verani's `createRoomHandler`. Cellar coordinates a connection's rooms inside the
 * connection's own kind, so this room takes no part: on Node a room kind that refuses
 * connections (serving it is optional), on Cloudflare a class that answers 404.
 */
export function createRoomHandler(options: { name: string; connectionBinding?: string }): RoomDefinition<Record<string, never>> {
  if (typeof options?.name !== "string") throw cellarError("INVALID_OPTION", "createRoomHandler: `name` must be the room's class name");
  return defineCellarRoom({
    name: options.name,
    state: {},
    authenticate() {
      throw cellarError("FORBIDDEN", `"${options.name}" coordinates Verani rooms; clients connect at the connection's websocketPath`);
    },
  });
}

/** Runs an outbox alarm: rooms and joins through the room's instance (awaited), users directly (not awaited). */
async function deliver(access: RoomAccess, kind: string, items: readonly OutboxItem[]): Promise<void> {
  for (const item of items) {
    switch (item.to) {
      case "room":
        await access.call(kind, ROOM_PREFIX + item.room, "verani:broadcast", { event: item.event, data: item.data });
        break;
      case "join":
        await access.call(kind, ROOM_PREFIX + item.room, "verani:join", { userId: item.userId, meta: item.meta });
        break;
      case "leave":
        await access.call(kind, ROOM_PREFIX + item.room, "verani:leave", { userId: item.userId });
        break;
      case "user":
        // Another user's instance may be waiting on this one: never wait on it.
        access.call(kind, item.userId, "verani:deliver", { event: item.event, data: item.data }).catch(() => undefined);
        break;
    }
  }
}

/** Builds Verani's `ctx` for connection handlers and queues what they send elsewhere. */
class ConnectionContexts<S, M extends ConnectionMeta> {
  /** Per Verani `ctx`: its Cellar `ctx`, and what it sent to rooms and users. */
  readonly #runs = new WeakMap<object, { ctx: ConnectionContext<S, any>; outbox: OutboxItem[] }>();

  of(ctx: ConnectionContext<S, any>): ConnectionHandlerContext<S, M> {
    const send = (event: string, data?: unknown) => ctx.emit.reply(event, data);
    const later = (item: (event: string, data: unknown) => OutboxItem) => ({
      emit: async (event: string, data?: unknown) => this.queue(vctx, item(event, data)),
    });
    const emit: ConnectionEmit = Object.assign(send, {
      emit: send,
      toRoom: (room: string) => later((event, data) => ({ to: "room", room: checkRoom(room), event, data })),
      toUser: (userId: string) => later((event, data) => ({ to: "user", userId, event, data })),
    });
    const { getStorage, getSessionCount, emit: toChannels } = actorOf(ctx);
    const userId = ctx.room.id;
    const vctx: ConnectionHandlerContext<S, M> = {
      state: ctx.state,
      meta: metaOf<M>(ctx.connection),
      emit,
      actor: {
        getStorage,
        getSessionCount,
        emit: toChannels,
        joinRoom: async (room, meta = {}) => {
          const joined = await joinedRooms(ctx.storage);
          if (!joined.includes(checkRoom(room))) await ctx.storage.put(JOINED_KEY, [...joined, room]);
          this.queue(vctx, { to: "join", room, userId, meta: { ...meta } });
        },
        leaveRoom: async (room) => {
          const joined = await joinedRooms(ctx.storage);
          await ctx.storage.put(JOINED_KEY, joined.filter((r) => r !== room));
          this.queue(vctx, { to: "leave", room: checkRoom(room), userId });
        },
        getRooms: () => joinedRooms(ctx.storage),
      },
    };
    this.#runs.set(vctx, { ctx, outbox: [] });
    return vctx;
  }

  queue(vctx: object, item: OutboxItem): void {
    this.#runs.get(vctx)!.outbox.push(item);
  }

  /** Writes what the handler sent elsewhere as one alarm, due now, committed with its other writes. */
  async flush(vctx: object): Promise<void> {
    const run = this.#runs.get(vctx);
    if (!run || run.outbox.length === 0) return;
    this.#runs.delete(vctx);
    await run.ctx.schedule.at(Date.now(), OUTBOX_ALARM, run.outbox);
  }
}

async function joinedRooms(storage: Storage): Promise<string[]> {
  return ((await storage.get(JOINED_KEY)) as string[] | undefined) ?? [];
}

function checkRoom(room: string): string {
  if (typeof room !== "string" || room.length === 0 || room.length > 100 || room.includes("/")) {
    throw cellarError("INVALID_ARGUMENT", "Verani room names are 1 to 100 characters, without /");
  }
  return room;
}

/** Verani's default meta: `userId` from `?userId=`, else a random one; a random `clientId`. */
function defaultMeta(request: Request): ConnectionMeta {
  return {
    userId: new URL(request.url).searchParams.get("userId") ?? crypto.randomUUID(),
    clientId: crypto.randomUUID(),
    channels: [DEFAULT_CHANNEL],
  };
}
