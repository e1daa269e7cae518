import type { Alarm, RoomContext } from "cellar";

/*
 * The table's lifecycle, driven by the host's presence and by durable alarms:
 *
 *   waiting ──host connects──▶ live ──host's last connection closes──▶ hibernating
 *      │                        ▲                                          │
 *      │                        └──────── host returns within graceMs ─────┤
 *      └───────────── graceMs pass without the host ──────────────▶ abandoned ──purgeAfterMs──▶ (cleared)
 *
 * "hibernating" is the table's status (the host is away), not Cellar's hibernation of an
 * idle instance, which the table does not notice. Every timer is a durable alarm, so the
 * lifecycle carries on through Cellar's hibernation and through a crash and restart.
 */

export type TableStatus = "waiting" | "live" | "hibernating" | "abandoned";

/** The table as kept in `ctx.storage` under `"table"`. */
export interface TableRecord {
  /** SHA-256 of the host key, base64url. */
  hostKeyHash: string;
  status: TableStatus;
  /** When the host's grace window ends, while `waiting` or `hibernating`. */
  graceEndsAt: number | null;
  /** When the table's storage is cleared, once `abandoned`. */
  purgeAt: number | null;
  /** Ids of the pending alarms, so that a stale or repeated alarm is recognised and ignored. */
  alarms: { grace: string | null; check: string | null; purge: string | null };
}

/** What `table:status` (to everyone) carries. */
export interface TableStatusMessage {
  status: TableStatus;
  graceEndsAt: number | null;
  purgeAt: number | null;
}

export interface Timing {
  graceMs: number;
  purgeAfterMs: number;
}

export const TABLE_KEY = "table";
export const SCENE_KEY = "scene";

const GRACE = "host:grace";
const CHECK = "host:check";
const PURGE = "table:purge";

type Ctx = RoomContext<object>;

export function readTable(ctx: Ctx): Promise<TableRecord | undefined> {
  return ctx.storage.get<TableRecord>(TABLE_KEY);
}

export function statusOf(table: TableRecord): TableStatusMessage {
  return { status: table.status, graceEndsAt: table.graceEndsAt, purgeAt: table.purgeAt };
}

export function hostPresent(ctx: Ctx): boolean {
  return ctx.room.connections().some((c) => c.meta.role === "host");
}

/** A new table, waiting for its host, who has one grace window to come. */
export async function openTable(ctx: Ctx, hostKeyHash: string, timing: Timing): Promise<TableRecord> {
  const graceEndsAt = Date.now() + timing.graceMs;
  const table: TableRecord = {
    hostKeyHash,
    status: "waiting",
    graceEndsAt,
    purgeAt: null,
    alarms: { grace: await ctx.schedule.at(graceEndsAt, GRACE), check: null, purge: null },
  };
  await ctx.storage.put(TABLE_KEY, table);
  return table;
}

/** A host connection opened (new or resumed): the grace window, if any, is over. */
export async function hostArrived(ctx: Ctx, table: TableRecord, timing: Timing): Promise<void> {
  const wasLive = table.status === "live";
  if (table.alarms.grace) await ctx.schedule.cancel(table.alarms.grace);
  table.status = "live";
  table.graceEndsAt = null;
  table.alarms.grace = null;
  table.alarms.check ??= await ctx.schedule.after(timing.graceMs, CHECK);
  await ctx.storage.put(TABLE_KEY, table);
  if (!wasLive) ctx.emit.broadcast("table:status", statusOf(table));
}

/** No host connection is left: players are told, and the host's grace window starts. */
export async function hostLeft(ctx: Ctx, table: TableRecord, timing: Timing): Promise<void> {
  if (table.status !== "live") return;
  if (table.alarms.check) await ctx.schedule.cancel(table.alarms.check);
  table.status = "hibernating";
  table.graceEndsAt = Date.now() + timing.graceMs;
  table.alarms.check = null;
  table.alarms.grace = await ctx.schedule.at(table.graceEndsAt, GRACE);
  await ctx.storage.put(TABLE_KEY, table);
  ctx.emit.broadcast("table:status", statusOf(table));
}

/**
 * Alarms are delivered at least once, and one may have been superseded (the host came back
 * and left again): an alarm acts only if the table still names it as pending.
 */
export async function onTableAlarm(ctx: Ctx, alarm: Alarm, timing: Timing): Promise<void> {
  const table = await readTable(ctx);
  if (!table) return; // cleared already
  if (alarm.name === GRACE && table.alarms.grace === alarm.id) return abandon(ctx, table, timing);
  if (alarm.name === PURGE && table.alarms.purge === alarm.id) return purge(ctx);
  if (alarm.name === CHECK && table.alarms.check === alarm.id) {
    // The watch over a live table: it notices a host lost in a crash, whose socket closed
    // with the old process, so that no onDisconnect ever ran for it.
    table.alarms.check = null;
    if (!hostPresent(ctx)) return hostLeft(ctx, table, timing);
    table.alarms.check = await ctx.schedule.after(timing.graceMs, CHECK);
    await ctx.storage.put(TABLE_KEY, table);
  }
}

async function abandon(ctx: Ctx, table: TableRecord, timing: Timing): Promise<void> {
  table.status = "abandoned";
  table.graceEndsAt = null;
  table.alarms.grace = null;
  table.purgeAt = Date.now() + timing.purgeAfterMs;
  table.alarms.purge = await ctx.schedule.at(table.purgeAt, PURGE);
  await ctx.storage.put(TABLE_KEY, table);
  ctx.emit.broadcast("table:status", statusOf(table));
}

async function purge(ctx: Ctx): Promise<void> {
  // Everything the table had is in ctx.storage (nothing in persisted state), so this clears
  // it all; the alarm itself is deleted with this commit.
  await ctx.storage.deleteAll();
  ctx.emit.broadcast("table:purged", {});
}
