import { defineRoom, type EventContext } from "cellar";
import { z } from "zod";

interface CounterState {
  count: number;
  lastUpdatedBy: string | null;
}

const amount = z.object({ amount: z.number().int().min(1).max(1_000_000).default(1) }).default({ amount: 1 });

/**
 * A shared counter. `count` and `lastUpdatedBy` are persisted: they survive hibernation and
 * restarts. Who you are is the `name` you send when connecting.
 */
export const counter = defineRoom({
  name: "counter",
  state: { count: 0, lastUpdatedBy: null } as CounterState,
  persistedKeys: ["count", "lastUpdatedBy"],
  authenticate: (_request, ctx) => {
    const name = typeof ctx.params.name === "string" ? ctx.params.name.trim().slice(0, 40) : "";
    return { name: name || "anonymous" };
  },
  onConnect(ctx) {
    ctx.emit.reply("counter:sync", { count: ctx.state.count, lastUpdatedBy: ctx.state.lastUpdatedBy });
  },
});

function change(ctx: EventContext<CounterState, Record<string, unknown>>, delta: number) {
  const by = String(ctx.connection.meta.name);
  ctx.state.count += delta;
  ctx.state.lastUpdatedBy = by;
  ctx.emit.broadcast("counter:update", { count: ctx.state.count, updatedBy: by });
  return ctx.state.count;
}

counter.on("counter:increment", { schema: amount }, (ctx, { amount }) => change(ctx, amount));
counter.on("counter:decrement", { schema: amount }, (ctx, { amount }) => change(ctx, -amount));
counter.on("counter:reset", (ctx) => {
  const by = String(ctx.connection.meta.name);
  ctx.state.count = 0;
  ctx.state.lastUpdatedBy = by;
  ctx.emit.broadcast("counter:reset", { resetBy: by });
  return 0;
});
counter.on("counter:get", (ctx) => {
  const sync = { count: ctx.state.count, lastUpdatedBy: ctx.state.lastUpdatedBy };
  ctx.emit.reply("counter:sync", sync);
  return sync;
});
