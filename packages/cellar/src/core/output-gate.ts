import type { StateTracker } from "./state-tracker.js";
import { WriteSet } from "./write-set.js";

/** Internal: what happens to one finished handler once its batch commits or fails. */
export interface BatchEntry {
  deliver(): void;
  fail(error: unknown): void;
  /**
   * A connect's entry (its welcome): its batch may wait a little for other connects (see
   * `GateHost.requestCommitSoon`) unless an entry that is not one joins it.
   */
  readonly connect?: boolean;
}

/** Internal: the writes of consecutive finished handlers, committed together. */
export class Batch {
  constructor(
    /** The first handler's write set, taken over (it has ended); later ones are absorbed into it. */
    readonly writes: WriteSet = new WriteSet(),
  ) {}

  /** A handler ran SQL: the instance's SQL transaction must commit with this batch. */
  sqlUsed = false;
  readonly entries: BatchEntry[] = [];
  /** State changes per tracker, to mark committed or roll back. */
  readonly stateChanges = new Map<StateTracker<any>, Map<string, string>>();

  needsCommit(): boolean {
    return this.sqlUsed || !this.writes.isEmpty();
  }

  /** Persisted state keys this batch writes, for `onPersistError`. */
  stateKeys(): string[] {
    const keys: string[] = [];
    for (const changes of this.stateChanges.values()) keys.push(...changes.keys());
    return keys;
  }
}

/** What the output gate asks of its instance's host. */
export interface GateHost {
  /** A batch waits: commit it with this turn's group commit. */
  requestCommit(): void;
  /**
   * A batch of connects only waits (their session rows, and what `onConnect` wrote): commit
   * it within a short while, so that connects arriving close together share a transaction.
   * Absent: as `requestCommit`.
   */
  requestCommitSoon?(): void;
  /**
   * Deferred writes wait (see `OutputGate.defer`): commit them with a later group commit,
   * within a longer while. Absent: they join the next batch, committed as soon as any.
   */
  requestCommitLater?(): void;
  /** A batch failed to commit (its handlers' state is rolled back already). */
  onFailed(batch: Batch, error: unknown): void;
  /** After any batch settled, committed or failed. */
  onSettled?(): void;
}

/**
 * Internal: the output gate of one instance. A finished handler's frames wait here until
 * every write made before them has committed; handlers that wrote nothing and have nothing
 * ahead of them send at once. Batches commit one at a time, in order.
 */
export class OutputGate {
  #pending: Batch | undefined = undefined;
  #inFlight: Batch | undefined = undefined;
  /** Deferred writes (see `defer`) waiting for a batch; only while there is no pending batch. */
  #deferred: WriteSet | undefined = undefined;
  /** The highest sequence number committed to the replay log (set by the host at load). */
  committedSeq = 0;

  constructor(private readonly host: GateHost) {}

  /** Uncommitted write sets, newest first: what reads look through below a handler. */
  layers(): WriteSet[] {
    const layers: WriteSet[] = [];
    if (this.#pending) layers.push(this.#pending.writes);
    if (this.#deferred) layers.push(this.#deferred);
    if (this.#inFlight) layers.push(this.#inFlight.writes);
    return layers;
  }

  idle(): boolean {
    return this.#pending === undefined && this.#inFlight === undefined && this.#deferred === undefined;
  }

  /** Only deferred writes wait: nothing is queued behind them or committing. */
  onlyDeferred(): boolean {
    return this.#deferred !== undefined && this.#inFlight === undefined;
  }

  /**
   * Writes that no frame waits for and no handler reads back (an ended session's row). They
   * join the next batch, or commit on their own when the host next commits (a group commit
   * of any instance, or its own later request), so a closing connection costs no
   * transaction of its own. Until then the gate is not idle: the instance does not hibernate
   * with them.
   */
  defer(writes: WriteSet): void {
    if (!this.host.requestCommitLater) return this.add(NOTHING, writes);
    if (this.#pending) return this.#pending.writes.absorb(writes);
    if (this.#deferred) this.#deferred.absorb(writes);
    else this.#deferred = writes;
    this.host.requestCommitLater();
  }

  /** Whether an uncommitted batch holds changes of this tracker. */
  holds(tracker: StateTracker<any>): boolean {
    return (this.#pending?.stateChanges.has(tracker) ?? false) || (this.#inFlight?.stateChanges.has(tracker) ?? false);
  }

  /** Adds a finished handler: its writes (if any) and what to do once they commit. */
  add(entry: BatchEntry, writes?: WriteSet, sqlUsed = false, stateChanges?: Map<StateTracker<any>, Map<string, string>>): void {
    const hasWrites = sqlUsed || (writes !== undefined && !writes.isEmpty());
    if (!hasWrites && this.#pending === undefined && this.#inFlight === undefined) {
      entry.deliver();
      return;
    }
    // A handler's write set and state changes are its own and it has ended, so the batch
    // takes them over instead of copying them (this is the per-event path of every write).
    let batch = this.#pending;
    if (!batch) batch = this.#pending = new Batch(this.#withDeferred(writes));
    else if (writes) batch.writes.absorb(writes);
    if (sqlUsed) batch.sqlUsed = true;
    for (const [tracker, changes] of stateChanges ?? []) {
      const merged = batch.stateChanges.get(tracker);
      if (merged) for (const [key, value] of changes) merged.set(key, value);
      else batch.stateChanges.set(tracker, changes);
    }
    batch.entries.push(entry);
    if (batch.needsCommit() && this.#inFlight === undefined) this.#request(batch);
  }

  /**
   * Asks for a commit of the pending batch if it has writes and none is committing: one
   * skipped while a handler held an SQL savepoint.
   */
  requestPending(): void {
    if (this.#inFlight === undefined && this.#pending?.needsCommit()) this.#request(this.#pending);
  }

  /** At once, unless only connects wait on the batch (the first other entry ends the look). */
  #request(batch: Batch): void {
    if (!this.host.requestCommitSoon || batch.entries.some(notConnect)) this.host.requestCommit();
    else this.host.requestCommitSoon();
  }

  /** Hands the pending batch to the host's commit; undefined when there is nothing to commit now. */
  take(): Batch | undefined {
    if (this.#inFlight === undefined && this.#pending === undefined && this.#deferred !== undefined) this.#pending = new Batch(this.#withDeferred(undefined));
    if (this.#inFlight !== undefined || this.#pending === undefined || !this.#pending.needsCommit()) return undefined;
    this.#inFlight = this.#pending;
    this.#pending = undefined;
    return this.#inFlight;
  }

  /** A new batch's write set: the deferred writes, if any, then the handler's (which it takes over). */
  #withDeferred(writes: WriteSet | undefined): WriteSet | undefined {
    const deferred = this.#deferred;
    if (!deferred) return writes;
    this.#deferred = undefined;
    if (writes) deferred.absorb(writes);
    return deferred;
  }

  succeeded(batch: Batch): void {
    this.#inFlight = undefined;
    const log = batch.writes.log;
    if (log.length > 0) this.committedSeq = log[log.length - 1]!.seq;
    for (const [tracker, changes] of batch.stateChanges) tracker.markCommitted(changes);
    deliverAll(batch);
    const next = this.#pending;
    if (next && !next.needsCommit()) {
      this.#pending = undefined;
      deliverAll(next);
    } else if (next) {
      this.#request(next);
    } else if (this.#deferred) {
      this.host.requestCommitLater?.();
    }
    this.host.onSettled?.();
  }

  /** The commit failed: this batch and any built on top of it are rolled back. */
  failed(batch: Batch, error: unknown): void {
    this.#inFlight = undefined;
    const failed = [batch];
    if (this.#pending) failed.push(this.#pending);
    this.#pending = undefined;
    // Every key goes back to its committed value, so the order of these rollbacks is free.
    for (const b of failed) {
      for (const [tracker, changes] of b.stateChanges) tracker.rollback(changes.keys());
    }
    for (const b of failed) {
      for (const entry of b.entries) entry.fail(error);
      this.host.onFailed(b, error);
    }
    if (this.#deferred) this.host.requestCommitLater?.();
    this.host.onSettled?.();
  }
}

const NOTHING: BatchEntry = { deliver() {}, fail() {} };
const notConnect = (entry: BatchEntry): boolean => !entry.connect;

function deliverAll(batch: Batch): void {
  for (const entry of batch.entries) entry.deliver();
}
