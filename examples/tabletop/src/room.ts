import { CellarError, defineRoom, type ConnectionContext, type RoomAccess, type RoomContext, type RoomDefinition } from "cellar";
import { hashHostKey, hostKeyMatches, newHostKey, newTableId } from "./host-key.js";
import {
  hostArrived,
  hostLeft,
  hostPresent,
  onTableAlarm,
  openTable,
  readTable,
  SCENE_KEY,
  statusOf,
  type TableRecord,
  type TableStatusMessage,
  type Timing,
} from "./lifecycle.js";
import { applyUpdate, EMPTY_SCENE, sceneUpdateSchema, type VersionedScene } from "./scene.js";

export interface TabletopOptions {
  /** How long the host may be away before the table is abandoned (default 10 minutes). */
  graceMs?: number;
  /** How long an abandoned table is kept before its storage is cleared (default 1 hour). */
  purgeAfterMs?: number;
}

export type Role = "host" | "player";

/** `table:sync`, and the answer to `table:get`: everything a client needs to draw the table. */
export interface TableSync extends TableStatusMessage, VersionedScene {
  role: Role;
}

/** The answer to `scene:update`. */
export type UpdateResult = { status: "applied"; version: number } | ({ status: "resync" } & VersionedScene);

export interface Tabletop {
  room: RoomDefinition<object>;
  timing: Timing;
  /**
   * Creates a table: its id (the players' link) and its host key (shown to the host only),
   * through the room's `open-table` action; `rooms` is the Node server or, on Cloudflare,
   * `cellar.rooms(env)`.
   */
  createTable(rooms: Pick<RoomAccess, "call">): Promise<{ tableId: string; hostKey: string }>;
}

/** The arguments of the `open-table` action. */
interface OpenTable {
  hostKeyHash: string;
}

const MAX_MS = 365 * 24 * 3600_000;

/**
 * The tabletop room kind with its timings. Tests pass short ones.
 *
 * @example
 * const tabletop = createTabletop({ graceMs: 2_000, purgeAfterMs: 1_000 });
 * const server = createServer({ rooms: [tabletop.room] });
 * await server.listen();
 * const { tableId, hostKey } = await tabletop.createTable(server);
 */
export function createTabletop(options: TabletopOptions = {}): Tabletop {
  const timing: Timing = {
    graceMs: milliseconds("graceMs", options.graceMs, 10 * 60_000),
    purgeAfterMs: milliseconds("purgeAfterMs", options.purgeAfterMs, 60 * 60_000),
  };
  const room = defineTabletopRoom(timing);
  return {
    room,
    timing,
    async createTable(rooms) {
      const tableId = newTableId();
      const hostKey = newHostKey();
      await rooms.call(room.name, tableId, "open-table", { hostKeyHash: await hashHostKey(hostKey) } satisfies OpenTable);
      return { tableId, hostKey };
    },
  };
}

function defineTabletopRoom(timing: Timing): RoomDefinition<object> {
  const room = defineRoom<object>({
    name: "tabletop",
    // Nothing in persisted state: the table lives in ctx.storage, which the purge clears.
    state: {},

    async authenticate(_request, ctx) {
      const table = await readTable(ctx);
      if (!table) throw notFound();
      const key = ctx.params.hostKey;
      if (key === undefined || key === null || key === "") return { role: "player" satisfies Role };
      if (typeof key !== "string" || key.length > 256 || !(await hostKeyMatches(key, table.hostKeyHash))) {
        throw new CellarError("WRONG_HOST_KEY", "This host key does not open this table", { closeCode: 4403 });
      }
      if (table.status === "abandoned") {
        throw new CellarError("TABLE_ABANDONED", "The host did not come back in time: this table is closed", { closeCode: 4410 });
      }
      return { role: "host" satisfies Role };
    },

    async onCreate(ctx) {
      // First load since a restart: a host connected before a crash is gone without an
      // onDisconnect. Its grace window starts now (a returning host ends it at once).
      const table = await readTable(ctx);
      if (table?.status === "live" && !hostPresent(ctx)) await hostLeft(ctx, table, timing);
    },

    async onConnect(ctx) {
      const table = await requireTable(ctx);
      if (roleOf(ctx) === "host") {
        // A resumed host is treated like a returning one: it ends the grace window its
        // disconnect opened, and gets the whole scene again.
        await hostArrived(ctx, table, timing);
        ctx.emit.reply("table:sync", await sync(ctx, table));
      } else if (!ctx.resumed) {
        // A resumed player got what it missed by replay.
        ctx.emit.reply("table:sync", await sync(ctx, table));
      }
    },

    async onDisconnect(ctx) {
      if (roleOf(ctx) !== "host" || hostPresent(ctx)) return; // another host tab is still here
      const table = await readTable(ctx);
      if (table) await hostLeft(ctx, table, timing);
    },

    onAlarm: (ctx, alarm) => onTableAlarm(ctx, alarm, timing),
  });

  room.on("scene:update", { schema: sceneUpdateSchema }, async (ctx, update): Promise<UpdateResult> => {
    if (roleOf(ctx) !== "host") throw new CellarError("NOT_HOST", "Only the host can change the scene");
    await requireTable(ctx);
    const current = (await ctx.storage.get<VersionedScene>(SCENE_KEY))!;
    if (update.baseVersion !== current.version) {
      // Based on a scene the host had not seen (another host tab changed it): nothing is
      // applied; the host gets the current scene to redo its change on.
      ctx.emit.reply("scene:resync", current);
      return { status: "resync", ...current };
    }
    const next: VersionedScene = { version: current.version + 1, scene: applyUpdate(current.scene, update) };
    await ctx.storage.put(SCENE_KEY, next);
    ctx.emit.broadcast("scene:updated", next);
    return { status: "applied", version: next.version };
  });

  room.on("table:get", async (ctx) => sync(ctx, await requireTable(ctx)));

  // Run by createTable from app code (clients cannot reach actions); only the key's hash
  // travels to the instance.
  room.action("open-table", async (ctx, { hostKeyHash }: OpenTable) => {
    if (await readTable(ctx)) throw new CellarError("TABLE_EXISTS", "A table with this id exists already");
    await openTable(ctx, hostKeyHash, timing);
    await ctx.storage.put(SCENE_KEY, { version: 0, scene: EMPTY_SCENE } satisfies VersionedScene);
  });

  return room;
}

function roleOf(ctx: ConnectionContext<object, Record<string, unknown>>): Role {
  return ctx.connection.meta.role === "host" ? "host" : "player";
}

async function sync(ctx: ConnectionContext<object, Record<string, unknown>>, table: TableRecord): Promise<TableSync> {
  const scene = (await ctx.storage.get<VersionedScene>(SCENE_KEY))!;
  return { role: roleOf(ctx), ...statusOf(table), ...scene };
}

async function requireTable(ctx: RoomContext<object>): Promise<TableRecord> {
  const table = await readTable(ctx);
  if (!table) throw notFound();
  return table;
}

function notFound(): CellarError {
  return new CellarError("TABLE_NOT_FOUND", "No such table: it never existed, or it was abandoned and cleared", { closeCode: 4404 });
}

function milliseconds(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_MS) {
    throw new CellarError("INVALID_OPTION", `createTabletop: ${field} must be a whole number of milliseconds from 1 to ${MAX_MS} (got ${String(value)})`);
  }
  return value;
}
