import type { Logger } from "../core/ports.js";

/** The most rows one slice of a sweep deletes: a few milliseconds of the event loop. */
export const SWEEP_SLICE_ROWS = 2_000;

/** What one slice did: rows deleted, and whether more may be left (false: the pass is over). */
export interface SweepSlice {
  deleted: number;
  more: boolean;
}

/** Deletes at most `maxRows` rows older than `cutoff`, oldest first, in one transaction. */
export type SliceFn = (cutoff: number, maxRows: number) => SweepSlice;

/**
 * Internal: a periodic clean-up of the shared database on the Node host (the replay log's age
 * trim, expired KV entries). A pass deletes everything older than its cutoff in slices of at
 * most `sliceRows` rows, one transaction each, with a turn of the event loop between two
 * slices: a server that logs 1,250 broadcasts a second trims 75,000 rows a minute, and in one
 * transaction that held the event loop for ~70 ms (bench/README, "The replay log's age
 * trim, in slices"). A slice that fails (a full or failing disk) is logged and ends the pass;
 * nothing is lost by deleting later, and the next pass tries again. Errors are never thrown
 * from the timer that starts a pass.
 */
export class Sweep {
  #pass: Promise<number> | undefined;
  #stopped = false;

  constructor(
    /** Says what failed in the log line, e.g. "trimming the replay log". */
    private readonly what: string,
    private readonly log: Logger,
    private readonly slice: SliceFn,
    private readonly sliceRows = SWEEP_SLICE_ROWS,
  ) {}

  /**
   * Starts a pass that deletes rows older than `cutoff`; its promise gives the rows it
   * deleted. While a pass runs, it is that pass's promise (a slow pass is not run twice).
   */
  run(cutoff: number): Promise<number> {
    this.#pass ??= new Promise<number>((resolve) => this.#next(cutoff, 0, resolve)).finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  /** No more slices (shutdown): a pass under way ends where it is. */
  stop(): void {
    this.#stopped = true;
  }

  #next(cutoff: number, deleted: number, done: (deleted: number) => void): void {
    if (this.#stopped) return done(deleted);
    try {
      const slice = this.slice(cutoff, this.sliceRows);
      deleted += slice.deleted;
      if (!slice.more) return done(deleted);
      setImmediate(() => this.#next(cutoff, deleted, done));
    } catch (error) {
      this.log.error({ err: error }, `${this.what} failed`);
      done(deleted);
    }
  }
}
