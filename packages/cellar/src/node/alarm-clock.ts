import type { Logger } from "../core/ports.js";
import type { DueAlarm, SharedDb } from "./sqlite/shared-db.js";

/** Longest single timer: Node clamps longer delays to 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Due alarms fetched per tick. */
const BATCH = 500;
/**
 * Alarms handed to rooms per turn of the event loop; more due ones go on the next turn.
 * Alarms that fall due together (a ticking timer in each of 20 rooms started together)
 * would otherwise all run, commit and send before any socket event of that turn is read:
 * events waited for the whole burst. A few per turn, they wait for a few.
 */
const PER_TURN = 4;
/** How long an alarm whose room kind this server does not define waits before it is looked at again. */
const UNKNOWN_KIND_DELAY_MS = 60_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * Internal: one timer for every durable alarm of the server. It sleeps until the earliest
 * due alarm, hands due ones to their instances (waking hibernated ones), and never hands
 * out an alarm twice while its run is in progress. Overdue alarms at startup fire at once,
 * in order.
 *
 * An alarm that cannot run now (its room kind is gone, its room failed to load, its commit
 * failed) is moved later in the database (`due_at`), with a backoff, so it never blocks the
 * alarms behind it.
 */
export class AlarmClock {
  readonly #inFlight = new Set<string>();
  /** Consecutive failed runs per alarm, for the backoff; forgotten once one succeeds. */
  readonly #failures = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #pending = false;
  #stopped = false;

  constructor(
    private readonly shared: SharedDb,
    private readonly dispatch: (alarm: DueAlarm) => boolean,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Re-reads the schedule at the end of this turn (coalescing many calls). */
  reschedule(): void {
    if (this.#pending || this.#stopped) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      this.#tick();
    });
  }

  /** An alarm's run ended; with `retry` it runs again after a backoff. */
  settled(id: string, retry = false): void {
    this.#inFlight.delete(id);
    if (retry) {
      const failures = (this.#failures.get(id) ?? 0) + 1;
      if (this.#failures.size >= 10_000) this.#failures.clear(); // bounded, whatever happens
      this.#failures.set(id, failures);
      this.#defer(id, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1)));
    } else {
      this.#failures.delete(id);
    }
    this.reschedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #defer(id: string, delayMs: number): void {
    if (this.#stopped) return;
    try {
      this.shared.deferAlarm(id, this.now() + delayMs);
    } catch (error) {
      this.log.error({ err: error, alarmId: id }, "could not defer an alarm");
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.now();
    let handed = 0;
    for (const alarm of this.shared.dueAlarms(now, BATCH)) {
      if (this.#inFlight.has(alarm.id)) continue;
      if (handed === PER_TURN) {
        // Still in order: the next turn's query returns these first.
        this.reschedule();
        return;
      }
      this.#inFlight.add(alarm.id);
      try {
        if (this.dispatch(alarm)) {
          handed++;
          continue;
        }
        this.#inFlight.delete(alarm.id);
        this.#defer(alarm.id, UNKNOWN_KIND_DELAY_MS);
      } catch (error) {
        this.log.error({ err: error, alarm: alarm.name, room: alarm.kind, instance: alarm.instanceName }, "could not dispatch alarm");
        this.settled(alarm.id, true);
      }
    }
    // After the same instant as the due query: an alarm falling due in between is then the
    // next one (and its timer fires at once) instead of being in neither answer.
    const next = this.shared.nextAlarmAfter(now);
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref?.();
  }
}
