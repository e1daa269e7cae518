/*
 * Verani's `defineRoom` and `createActorHandler`, mapped onto a Cellar room definition.
 * See docs/verani.md for each name and every difference.
 */
import { defineRoom as defineCellarRoom, type RoomDefinition } from "../core/define-room.js";
import { cellarError, type CellarError } from "../core/errors.js";
import type { PersistOptions } from "../core/state-tracker.js";
import { guardedBy, handlerRegistry, stateOptions } from "./handlers.js";
import { actorOf, channelsOf, DEFAULT_CHANNEL, veraniContext, type ConnectionMeta, type MessageContext, type VeraniActor, type VeraniContext } from "./context.js";

type Awaitable<T> = T | Promise<T>;

/** A handler of `room.on(event, …)`; `data` is what the client sent. */
export type EventHandler<S, M extends ConnectionMeta = ConnectionMeta> = (ctx: MessageContext<S, M>, data: any) => unknown;

export interface RoomDefinitionOptions<S extends object, M extends ConnectionMeta = ConnectionMeta> {
  /** The room kind (Cellar's room name). Default: the path's letters, "/ws/counter" → "ws-counter". */
  name?: string;
  /** Where clients connect (default `"/ws"`). A path without `:id` serves one instance, `"default"`. */
  websocketPath?: string;
  state?: S;
  persistedKeys?: readonly (keyof S & string)[];
  /** `shallow` (default `true`) and `throwOnError` (default `true`), as in Verani. */
  persistOptions?: PersistOptions;
  onPersistError?(key: string, error: CellarError): void;
  /**
   * Reads the upgrade request. Default: `userId` from `?userId=`, `channels: ["default"]`; a
   * missing `userId` or `clientId` is the connection's id (random, kept across resumes).
   */
  extractMeta?(request: Request): Awaitable<M>;
  onConnect?(ctx: VeraniContext<S, M>): Awaitable<void>;
  onDisconnect?(ctx: VeraniContext<S, M>): Awaitable<void>;
  /** Events without a handler of their own (Cellar's `"*"`). */
  onMessage?(ctx: MessageContext<S, M>, frame: { type: string; data: unknown }): Awaitable<void>;
  /**
   * A handler or hook threw. Called before Cellar rolls the handler back, so what it sends
   * is dropped with the rest (the sender gets Cellar's error frame).
   */
  onError?(error: unknown, ctx: VeraniContext<S, M>): Awaitable<void>;
  /** The instance was loaded again after it hibernated (its connections stayed open). */
  onHibernationRestore?(actor: VeraniActor<S>): Awaitable<void>;
}

/** What Verani's `defineRoom` returns: handlers are added with `on` and removed with `off`. */
export interface VeraniRoom<S extends object, M extends ConnectionMeta = ConnectionMeta> {
  readonly name: string;
  readonly websocketPath: string;
  /** The Cellar room this maps to (what `createActorHandler` returns). */
  readonly definition: RoomDefinition<S>;
  on(event: string, handler: EventHandler<S, M>): void;
  /** Removes one handler of `event`, or all of them. */
  off(event: string, handler?: EventHandler<S, M>): void;
}

/**
 * Verani's `defineRoom`: a Cellar room whose handlers and hooks get Verani's `ctx`.
 *
 * @example
 * import { defineRoom, createActorHandler } from "cellar/verani";
 * const room = defineRoom({ name: "counter", websocketPath: "/ws/counter", state: { count: 0 }, persistedKeys: ["count"] });
 * room.on("counter:increment", (ctx) => { ctx.actor.roomState.count += 1; });
 * export const CounterActor = createActorHandler(room); // createServer({ rooms: [CounterActor] })
 */
export function defineRoom<S extends object, M extends ConnectionMeta = ConnectionMeta>(
  options: RoomDefinitionOptions<S, M>,
): VeraniRoom<S, M> {
  const websocketPath = options.websocketPath ?? "/ws";
  const name = options.name ?? nameFromPath(websocketPath);
  const extractMeta: (request: Request) => Awaitable<Partial<ConnectionMeta>> = options.extractMeta ?? defaultMeta;
  const { onConnect, onDisconnect, onMessage, onError, onHibernationRestore } = options;
  // Verani's onError sees what threw; Cellar then rolls the handler back as for any room.
  const guarded = guardedBy(onError);
  const definition = defineCellarRoom<S>({
    name,
    websocketPath,
    ...stateOptions(options),
    // Cellar's meta must be a plain object; Verani's is too (it travels in socket attachments).
    authenticate: async (request) => ({ ...(await extractMeta(request)) }) as Record<string, unknown>,
    async onConnect(ctx) {
      // A resumed session kept its channels; joining again changes nothing.
      for (const channel of channelsOf(ctx.connection.meta)) ctx.connection.join(channel);
      const vctx = veraniContext<S, M>(ctx);
      await guarded(vctx, () => onConnect?.(vctx));
    },
    ...(onDisconnect && {
      onDisconnect: async (ctx) => {
        const vctx = veraniContext<S, M>(ctx);
        await guarded(vctx, () => onDisconnect(vctx));
      },
    }),
    ...(onHibernationRestore && { onHibernationRestore: (ctx) => onHibernationRestore(actorOf(ctx)) }),
  });

  const registry = handlerRegistry<MessageContext<S, M>>(
    definition,
    (ctx, data) => ({ ...veraniContext<S, M>(ctx), frame: { type: ctx.event, data } }),
    undefined,
    onError && ((error, vctx) => onError(error, vctx)),
  );
  if (onMessage) registry.on("*", (vctx) => onMessage(vctx, vctx.frame));
  return { name, websocketPath, definition, on: registry.on, off: registry.off };
}

/**
 * Verani's `createActorHandler`. On Node it is the Cellar room definition, for
 * `createServer({ rooms })`; on Cloudflare (the package's `workerd` entry) a Durable Object
 * class. See docs/verani.md.
 */
export function createActorHandler<S extends object, M extends ConnectionMeta>(room: VeraniRoom<S, M>): RoomDefinition<S> {
  return definitionOf(room, "createActorHandler");
}

/** The Cellar room a Verani room maps to, or a clear error for anything else. */
export function definitionOf<S extends object>(room: { definition: RoomDefinition<S> } | undefined, entry: string): RoomDefinition<S> {
  if (!room || typeof room !== "object" || !room.definition) {
    const define = entry === "createConnectionHandler" ? "defineConnection" : "defineRoom";
    throw cellarError("INVALID_OPTION", `${entry}: pass what cellar/verani's ${define} returned`);
  }
  return room.definition;
}

/** Verani's default: `userId` from `?userId=`; without it, and for `clientId`, `metaOf` uses the connection's id. */
function defaultMeta(request: Request): Partial<ConnectionMeta> {
  const userId = new URL(request.url).searchParams.get("userId");
  return { ...(userId && { userId }), channels: [DEFAULT_CHANNEL] };
}

/** A room kind named after its path: "/ws/counter" → "ws-counter". */
export function nameFromPath(path: string): string {
  return path.replace(/[^a-z0-9_-]+/gi, "-").replace(/^-+|-+$/g, "").slice(0, 64) || "ws";
}
