/*
 * Internal: Verani's `on`/`off` over a Cellar room definition, shared by rooms and
 * connections. Cellar allows one handler per event, so one dispatcher per event runs the
 * Verani handlers registered for it.
 */
import type { EventContext, RoomDefinition, RoomOptions } from "../core/define-room.js";
import { cellarError, type CellarError } from "../core/errors.js";
import type { PersistOptions } from "../core/state-tracker.js";

type Handler<X> = (ctx: X, data: any) => unknown;

export interface HandlerRegistry<X> {
  on(event: string, handler: Handler<X>): void;
  /** Removes one handler of `event`, or all of them. */
  off(event: string, handler?: Handler<X>): void;
}

/**
 * Handlers of `definition`'s events that get the `ctx` `contextOf` makes. Several handlers of
 * one event run in the order they were added; the last one's result is the ack. `after`
 * runs once they all returned, inside the same Cellar handler (and so the same commit);
 * `onError` sees what one of them threw, before Cellar rolls the handler back.
 */
export function handlerRegistry<X>(
  definition: RoomDefinition<any, any>,
  contextOf: (ctx: EventContext<any, any>, data: unknown) => X,
  after?: (ctx: X) => Promise<void> | void,
  onError?: (error: unknown, ctx: X) => unknown,
): HandlerRegistry<X> {
  const handlers = new Map<string, Handler<X>[]>();
  return {
    on(event, handler) {
      if (typeof handler !== "function") throw cellarError("INVALID_OPTION", `room "${definition.name}": the handler of "${event}" must be a function`);
      let list = handlers.get(event);
      if (!list) {
        handlers.set(event, (list = []));
        definition.on(event, async (ctx, data) => {
          const x = contextOf(ctx, data);
          let result: unknown;
          try {
            for (const h of [...(handlers.get(event) ?? [])]) result = await h(x, data);
          } catch (error) {
            await onError?.(error, x);
            throw error;
          }
          await after?.(x);
          return result;
        });
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

/** Runs a hook so that `onError` sees what it throws, before the error goes on to Cellar. */
export function guardedBy<X>(onError: ((error: unknown, ctx: X) => unknown) | undefined) {
  return async (ctx: X, run: () => unknown): Promise<void> => {
    try {
      await run();
    } catch (error) {
      await onError?.(error, ctx);
      throw error;
    }
  };
}

/** The Cellar room options a Verani room or connection passes on as they are. */
export function stateOptions<S extends object>(options: {
  state?: S;
  persistedKeys?: readonly (keyof S & string)[];
  persistOptions?: PersistOptions;
  onPersistError?(key: string, error: CellarError): void;
}): Pick<RoomOptions<S, any>, "state" | "persistedKeys" | "persistOptions" | "onPersistError"> {
  return {
    state: options.state ?? ({} as S),
    ...(options.persistedKeys && { persistedKeys: options.persistedKeys }),
    ...(options.persistOptions && { persistOptions: options.persistOptions }),
    ...(options.onPersistError && { onPersistError: options.onPersistError }),
  };
}
