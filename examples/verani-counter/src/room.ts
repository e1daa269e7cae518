/*
 * The counter room of Verani's documentation (docs/examples/persistence.md), as written
 * there: only the import line is changed ("verani" → "cellar/verani").
 */
import { defineRoom, createActorHandler } from "cellar/verani";

export const counterRoom = defineRoom({
  name: "counter",
  websocketPath: "/ws/counter",

  // Define your room's state
  state: {
    count: 0,
    lastUpdatedBy: null as string | null,
  },

  // Only these keys are persisted to Durable Object storage
  persistedKeys: ["count", "lastUpdatedBy"],

  // Optional: Handle persistence errors
  onPersistError(key, error) {
    console.error(`Failed to persist "${key}":`, error.message);
  },

  onConnect(ctx) {
    // Send current count to new connections
    ctx.emit.emit("counter:sync", {
      count: ctx.actor.roomState.count,
      lastUpdatedBy: ctx.actor.roomState.lastUpdatedBy,
    });
  },
});

// Event: Increment the counter
counterRoom.on("counter:increment", (ctx, data) => {
  const amount = data?.amount ?? 1;

  // Modify state - automatically persisted!
  ctx.actor.roomState.count += amount;
  ctx.actor.roomState.lastUpdatedBy = ctx.meta.userId;

  // Broadcast update to all clients
  ctx.actor.emit.to("default").emit("counter:update", {
    count: ctx.actor.roomState.count,
    updatedBy: ctx.meta.userId,
  });
});

// Event: Decrement the counter
counterRoom.on("counter:decrement", (ctx, data) => {
  const amount = data?.amount ?? 1;
  ctx.actor.roomState.count -= amount;
  ctx.actor.roomState.lastUpdatedBy = ctx.meta.userId;

  ctx.actor.emit.to("default").emit("counter:update", {
    count: ctx.actor.roomState.count,
    updatedBy: ctx.meta.userId,
  });
});

// Event: Reset the counter
counterRoom.on("counter:reset", (ctx) => {
  ctx.actor.roomState.count = 0;
  ctx.actor.roomState.lastUpdatedBy = ctx.meta.userId;

  ctx.actor.emit.to("default").emit("counter:reset", {
    resetBy: ctx.meta.userId,
  });
});

// Event: Get current count
counterRoom.on("counter:get", (ctx) => {
  ctx.emit.emit("counter:sync", {
    count: ctx.actor.roomState.count,
    lastUpdatedBy: ctx.actor.roomState.lastUpdatedBy,
  });
});

export const CounterActor = createActorHandler(counterRoom);
