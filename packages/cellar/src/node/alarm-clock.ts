import type { Logger } from "../core/ports.js";
import type { DueAlarm, SharedDb } from "./sqlite/shared-db.js";

/** Longest single timer: Node clamps longer delays to 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Due alarms fetched per tick. */
const BATCH = 500;

/**
 * Internal: one timer for every durable alarm of the server. It sleeps until the earliest
 * alarm, hands due ones to their instances (waking hibernated ones), and never hands out an
 * alarm twice while its run is in progress. Overdue alarms at startup fire at once, in order.
 */
export class AlarmClock {
  readonly #inFlight = new Set<string>();
  /** Alarms whose instance could not run them, with the earliest time to try again. */
  readonly #retryAt = new Map<string, number>();
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

  /** An alarm's run ended; with `retryAt` it is not handed out again before then. */
  settled(id: string, retryAt?: number): void {
    this.#inFlight.delete(id);
    if (retryAt !== undefined) this.#retryAt.set(id, retryAt);
    this.reschedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.now();
    let next = this.shared.nextAlarmAfter(now);
    for (const alarm of this.shared.dueAlarms(now, BATCH)) {
      if (this.#inFlight.has(alarm.id)) continue;
      const retryAt = this.#retryAt.get(alarm.id);
      if (retryAt !== undefined && retryAt > now) {
        next = Math.min(next ?? retryAt, retryAt);
        continue;
      }
      this.#retryAt.delete(alarm.id);
      this.#inFlight.add(alarm.id);
      try {
        if (!this.dispatch(alarm)) this.settled(alarm.id, now + 60_000);
      } catch (error) {
        this.log.error({ err: error, alarm: alarm.name, room: alarm.kind }, "could not dispatch alarm");
        this.settled(alarm.id, now + 1000);
      }
    }
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref?.();
  }
}
