/*
 * Internal: Verani's `ctx` (`ctx.actor`, `ctx.meta`, `ctx.emit`) as a view over Cellar's.
 * Nothing here keeps state of its own: every call goes straight to the Cellar context, so
 * the output gate, replay and rollback apply unchanged.
 */
import type { ConnectionContext, RoomContext } from "../core/define-room.js";
import type { Storage } from "../core/storage-api.js";

/** What Verani calls connection metadata: `extractMeta`'s result, or the default one. */
export interface ConnectionMeta {
  userId: string;
  clientId: string;
  channels: string[];
}

/** `emit(event, data)` sends; Verani's builders also say how many connections they address. */
export interface EmitBuilder {
  emit(event: string, data?: unknown): number;
}

/** `ctx.actor.emit`: to channels of the room. */
export interface ActorEmit extends EmitBuilder {
  /** To every connection in `channel`. */
  to(channel: string): EmitBuilder;
}

/** `ctx.emit`: to this connection, or (`to`) a channel it is in, else a user. */
export interface SocketEmit {
  emit(event: string, data?: unknown): void;
  to(target: string): EmitBuilder;
}

/** `ctx.actor`: the room instance. */
export interface VeraniActor<S> {
  /** The room's state; persisted keys are saved when they change (see docs/verani.md). */
  readonly roomState: S;
  readonly emit: ActorEmit;
  /** The instance's Durable Objects-style storage (Cellar's `ctx.storage`). */
  getStorage(): Storage;
  /** Open connections of this instance. */
  getSessionCount(): number;
  getConnectedUserIds(): string[];
  /** To every connection of `userId`; how many it addresses. */
  sendToUser(userId: string, event: string, data?: unknown): number;
}

export interface VeraniContext<S, M extends ConnectionMeta = ConnectionMeta> {
  readonly actor: VeraniActor<S>;
  readonly meta: M;
  readonly emit: SocketEmit;
}

export interface MessageContext<S, M extends ConnectionMeta = ConnectionMeta> extends VeraniContext<S, M> {
  /** The event as received: `type` is its name (useful in a `"*"` handler). */
  readonly frame: { type: string; data: unknown };
}

/** The channel every connection is in unless `extractMeta` says otherwise. */
export const DEFAULT_CHANNEL = "default";

export function actorOf<S>(ctx: RoomContext<S>): VeraniActor<S> {
  const toChannel = (channel: string): EmitBuilder => ({
    emit(event, data) {
      ctx.emit.to(channel).emit(event, data);
      return ctx.room.connections().filter((c) => c.channels.has(channel)).length;
    },
  });
  return {
    roomState: ctx.state,
    emit: { to: toChannel, emit: (event, data) => toChannel(DEFAULT_CHANNEL).emit(event, data) },
    getStorage: () => ctx.storage,
    getSessionCount: () => ctx.room.connections().length,
    getConnectedUserIds: () => [...new Set(ctx.room.connections().map((c) => c.userId ?? c.id))],
    sendToUser: (userId, event, data) => toUser(ctx, userId).emit(event, data),
  };
}

/**
 * To a user's connections. A connection without a `userId` in its meta goes by its
 * connection id (see `metaOf`), so it is addressed by that id.
 */
function toUser(ctx: RoomContext<unknown>, userId: string): EmitBuilder {
  return {
    emit(event, data) {
      const connections = ctx.room.connections();
      const ofUser = connections.filter((c) => c.userId === userId).length;
      if (ofUser > 0) {
        ctx.emit.toUser(userId).emit(event, data);
        return ofUser;
      }
      ctx.emit.toConnection(userId).emit(event, data);
      return connections.filter((c) => c.id === userId && c.userId === undefined).length;
    },
  };
}

/**
 * Verani's meta of a connection. Without a `userId` (or `clientId`) of its own it takes the
 * connection's id: random per connection, as in Verani, and kept when the session resumes
 * (a random id drawn in `authenticate` would differ on the resume's hello, and Cellar
 * resumes a session only for the same user).
 */
export function metaOf<M extends ConnectionMeta>(connection: { id: string; meta: Readonly<Record<string, unknown>> }): M {
  const meta = connection.meta;
  return {
    ...meta,
    userId: typeof meta.userId === "string" ? meta.userId : connection.id,
    clientId: typeof meta.clientId === "string" ? meta.clientId : connection.id,
    channels: channelsOf(meta),
  } as unknown as M;
}

export function veraniContext<S, M extends ConnectionMeta>(ctx: ConnectionContext<S, any>): VeraniContext<S, M> {
  return {
    actor: actorOf(ctx),
    meta: metaOf<M>(ctx.connection),
    emit: {
      emit: (event, data) => ctx.emit.reply(event, data),
      // Verani's rule: a channel this connection is in, otherwise a user id.
      to: (target) => (ctx.connection.channels.has(target) ? actorOf(ctx).emit.to(target) : toUser(ctx, target)),
    },
  };
}

/** The channels a connection joins when it connects: `meta.channels`, or `["default"]`. */
export function channelsOf(meta: Readonly<Record<string, unknown>>): string[] {
  const channels = meta.channels;
  return Array.isArray(channels) ? channels.filter((c): c is string => typeof c === "string") : [DEFAULT_CHANNEL];
}
