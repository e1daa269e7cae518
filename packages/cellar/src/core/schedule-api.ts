import { cellarError } from "./errors.js";
import type { InstanceStore } from "./ports.js";
import { decodeValue, encodeValue } from "./serialize.js";
import type { WriteScope } from "./write-scope.js";
import { overlayAlarm, type AlarmRecord } from "./write-set.js";

/** A durable alarm as `onAlarm` and `schedule.list()` see it. */
export interface Alarm<P = unknown> {
  readonly id: string;
  readonly name: string;
  readonly payload: P;
  readonly scheduledAt: Date;
}

/**
 * `ctx.schedule`: durable alarms. They survive hibernation and restarts, wake a hibernated
 * instance, and fire at least once (a crash after `onAlarm` ran but before its writes
 * committed runs it again). Late alarms fire at once, in scheduled order.
 *
 * @example
 * const id = await ctx.schedule.after(60_000, "question:expire", { questionId });
 * await ctx.schedule.cancel(id);
 */
export interface Schedule {
  /** Schedules `name` at `time` (a Date or epoch milliseconds); resolves to the alarm id. */
  at(time: Date | number, name: string, payload?: unknown): Promise<string>;
  /** Schedules `name` in `ms` milliseconds; resolves to the alarm id. */
  after(ms: number, name: string, payload?: unknown): Promise<string>;
  /** Cancels an alarm; resolves to whether it was pending. */
  cancel(id: string): Promise<boolean>;
  /** Pending alarms of this instance, earliest first. */
  list(): Promise<Alarm[]>;
}

/** Internal: builds `ctx.schedule` writing into `scope`. */
export function createSchedule(store: InstanceStore, scope: WriteScope, now: () => number, newId: () => string): Schedule {
  const add = (time: number, name: string, payload: unknown): string => {
    scope.assertOpen("schedule");
    if (typeof name !== "string" || name.length === 0 || name.length > 128) {
      throw cellarError("INVALID_ARGUMENT", "schedule: name must be a string of 1 to 128 characters");
    }
    if (!Number.isFinite(time)) throw cellarError("INVALID_ARGUMENT", "schedule: time must be a valid Date or finite number");
    const id = newId();
    scope.writes.putAlarm(id, { id, name, payload: encodeValue(`alarm:${name}`, payload), scheduledAt: time, dueAt: time, attempt: 0 });
    return id;
  };
  const pending = async (): Promise<AlarmRecord[]> => {
    const layers = scope.layers();
    const byId = new Map<string, AlarmRecord>();
    for (const alarm of await store.listAlarms()) byId.set(alarm.id, alarm);
    for (let i = layers.length - 1; i >= 0; i--) {
      for (const [id, alarm] of layers[i]!.alarms) {
        if (alarm === null) byId.delete(id);
        else byId.set(id, alarm);
      }
    }
    return [...byId.values()];
  };
  return {
    async at(time, name, payload) {
      return add(time instanceof Date ? time.getTime() : time, name, payload);
    },
    async after(ms, name, payload) {
      if (typeof ms !== "number" || !(ms >= 0)) throw cellarError("INVALID_ARGUMENT", "schedule.after: ms must be a number >= 0");
      return add(now() + ms, name, payload);
    },
    async cancel(id) {
      scope.assertOpen("schedule.cancel");
      if (typeof id !== "string") throw cellarError("INVALID_ARGUMENT", "schedule.cancel: id must be a string");
      const known = overlayAlarm(scope.layers(), id);
      // Not in a pending write: it exists if the store has it (one row read, not the list).
      const exists = known !== undefined ? known !== null : (await store.getAlarm(id)) !== undefined;
      if (exists) scope.writes.putAlarm(id, null);
      return exists;
    },
    async list() {
      const alarms = await pending();
      alarms.sort(compareAlarms);
      return alarms.map(toAlarm);
    },
  };
}

export function compareAlarms(a: AlarmRecord, b: AlarmRecord): number {
  return a.scheduledAt - b.scheduledAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function toAlarm(record: AlarmRecord): Alarm {
  return {
    id: record.id,
    name: record.name,
    payload: decodeValue(`alarm:${record.name}`, record.payload),
    scheduledAt: new Date(record.scheduledAt),
  };
}
