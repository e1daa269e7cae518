import type { Logger } from "../core/ports.js";
import type { SharedDb } from "./sqlite/shared-db.js";

/** The most rows one slice of the age trim deletes: a few milliseconds of the event loop. */
export const TRIM_SLICE_ROWS = 2_000;

/**
 * Internal: the replay log's age trim on the Node host. A pass drops every entry older than
 * its cutoff in slices of at most `TRIM_SLICE_ROWS` rows, one transaction each, with a turn
 * of the event loop between two slices. A server that logs 1,250 broadcasts a second trims
 * 75,000 rows a minute; in one transaction that held the event loop for ~70 ms at once
 * (bench/README, "The replay log's age trim, in slices").
 */
export class LogTrimmer {
  #pass: Promise<number> | undefined;
  #stopped = false;

  constructor(
    private readonly shared: SharedDb,
    private readonly log: Logger,
    private readonly sliceRows = TRIM_SLICE_ROWS,
  ) {}

  /**
   * Starts a pass that trims entries older than `cutoff`; its promise gives the rows it
   * trimmed. While a pass runs, it is that pass's promise (a slow pass is not run twice).
   */
  trim(cutoff: number): Promise<number> {
    this.#pass ??= new Promise<number>((resolve) => this.#slice(cutoff, 0, 0, resolve)).finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  /** No more slices (shutdown): a pass under way ends where it is. */
  stop(): void {
    this.#stopped = true;
  }

  #slice(cutoff: number, from: number, trimmed: number, done: (trimmed: number) => void): void {
    if (this.#stopped) return done(trimmed);
    try {
      const slice = this.shared.trimLogBefore(cutoff, this.sliceRows, from);
      trimmed += slice.trimmed;
      if (slice.from === undefined) return done(trimmed);
      setImmediate(() => this.#slice(cutoff, slice.from!, trimmed, done));
    } catch (error) {
      // A full or failing disk: nothing is lost by trimming later; the next pass tries again.
      this.log.error({ err: error }, "trimming the replay log failed");
      done(trimmed);
    }
  }
}
