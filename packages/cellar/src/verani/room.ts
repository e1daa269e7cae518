/*
 * Verani's `defineRoom` and `createActorHandler`, mapped onto a Cellar room definition.
 * See docs/verani.md for each name and every difference.
 */
import { defineRoom as defineCellarRoom, type RoomDefinition, type EventContext } from "../core/define-room.js";
import { cellarError, type CellarError } from "../core/errors.js";
import type { PersistOptions } from "../core/state-tracker.js";
import { channelsOf, DEFAULT_CHANNEL, veraniContext, type ConnectionMeta, type MessageContext, type VeraniContext } from "./context.js";

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
  const { onConnect, onDisconnect } = options;
  const handlers = new Map<string, EventHandler<S, M>[]>();

  const definition = defineCellarRoom<S>({
    name,
    websocketPath,
    state: options.state ?? ({} as S),
    ...(options.persistedKeys && { persistedKeys: options.persistedKeys }),
    ...(options.persistOptions && { persistOptions: options.persistOptions }),
    ...(options.onPersistError && { onPersistError: options.onPersistError }),
    // Cellar's meta must be a plain object; Verani's is too (it travels in socket attachments).
    authenticate: async (request) => ({ ...(await extractMeta(request)) }) as Record<string, unknown>,
    async onConnect(ctx) {
      // A resumed session kept its channels; joining again changes nothing.
      for (const channel of channelsOf(ctx.connection.meta)) ctx.connection.join(channel);
      await onConnect?.(veraniContext<S, M>(ctx));
    },
    ...(onDisconnect && { onDisconnect: (ctx) => onDisconnect(veraniContext<S, M>(ctx)) }),
  });

  return {
    name,
    websocketPath,
    definition,
    on(event, handler) {
      if (typeof handler !== "function") throw cellarError("INVALID_OPTION", `room "${name}": the handler of "${event}" must be a function`);
      let list = handlers.get(event);
      if (!list) {
        handlers.set(event, (list = []));
        definition.on(event, (ctx, data) => runHandlers(handlers.get(event) ?? [], ctx, data));
      }
      list.push(handler);
    },
    off(event, handler) {
      const list = handlers.get(event);
      if (!list) return;
      // Cellar keeps its dispatcher registered; with no handler left the event does nothing.
      list.splice(0, list.length, ...(handler === undefined ? [] : list.filter((h) => h !== handler)));
    },
  };
}

/** Verani's `createActorHandler`: the Cellar room definition to serve (see docs/verani.md). */
export function createActorHandler<S extends object, M extends ConnectionMeta>(room: VeraniRoom<S, M>): RoomDefinition<S> {
  if (!room || typeof room !== "object" || !room.definition) {
    throw cellarError("INVALID_OPTION", "createActorHandler: pass what cellar/verani's defineRoom returned");
  }
  return room.definition;
}

/** Several handlers of one event run in the order they were added; the last one's result is the ack. */
async function runHandlers<S, M extends ConnectionMeta>(list: readonly EventHandler<S, M>[], ctx: EventContext<S, any>, data: unknown): Promise<unknown> {
  const vctx: MessageContext<S, M> = { ...veraniContext<S, M>(ctx), frame: { type: ctx.event, data } };
  let result: unknown;
  for (const handler of [...list]) result = await handler(vctx, data);
  return result;
}

/** Verani's default: `userId` from `?userId=`; without it, and for `clientId`, `metaOf` uses the connection's id. */
function defaultMeta(request: Request): Partial<ConnectionMeta> {
  const userId = new URL(request.url).searchParams.get("userId");
  return { ...(userId && { userId }), channels: [DEFAULT_CHANNEL] };
}

function nameFromPath(path: string): string {
  return path.replace(/[^a-z0-9_-]+/gi, "-").replace(/^-+|-+$/g, "").slice(0, 64) || "ws";
}
