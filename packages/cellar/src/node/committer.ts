import type { RoomInstance } from "../core/instance.js";
import type { StorageLimits } from "../core/limits.js";
import type { Batch } from "../core/output-gate.js";
import type { Logger } from "../core/ports.js";
import type { NodeInstanceStore } from "./instance-store.js";
import { encodeWrites } from "./sqlite/redo.js";
import type { SharedDb } from "./sqlite/shared-db.js";

export interface CommitStats {
  /** SQLite transactions committed (the shared database and instances' SQL files). */
  transactions: number;
  /** Rows written by those transactions. */
  writes: number;
  /** Batches whose commit failed. */
  failures: number;
}

interface Work {
  instance: RoomInstance;
  store: NodeInstanceStore;
  batch: Batch;
  /** The last SQL turn the shared database had committed before this commit began. */
  applied: number;
  /** The SQL file committed (with its redo record, if any). */
  sqlCommitted: boolean;
  /** Redo turn written to the SQL file for this batch. */
  turn: number | undefined;
  error: unknown;
}

/** What a backup asks of the committer while it copies the data directory (see backup/live-backup.ts). */
export interface CommitHold {
  /** True for an instance whose batches must wait, uncommitted, until `release()`. */
  holds(store: NodeInstanceStore): boolean;
  /** After each group commit, when the instances that just committed have no SQL transaction open. */
  afterFlush(): void;
}

/** The longest a batch of connects waits for more connects (or any commit) to join it. */
const CONNECTS_COMMIT_MS = 1;
/** The longest deferred writes wait for another commit to join before they commit alone. */
const DEFERRED_COMMIT_MS = 100;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 5000;

/**
 * Internal: group commit. Instances ask for a commit when a handler finishes with writes;
 * once per turn of the event loop (`setImmediate`, after all I/O callbacks of the turn ran)
 * every waiting batch commits together: one transaction in the shared database for all
 * instances, plus one in each SQL file that was used. Two kinds of batch may wait longer,
 * for others to join them: connects only (`requestSoon`, up to 1 ms) and deferred writes
 * (`requestLater`, up to 100 ms); any group commit takes them along.
 *
 * An instance's SQL file commits before the shared database and is the commit point of
 * its batch (see sql-file.ts): once it has committed, the batch cannot fail any more. If the
 * shared database then refuses the batch's other writes, the batch waits, holding its
 * instance's output gate, and its redo record is applied again until it takes.
 */
export class Committer {
  readonly stats: CommitStats = { transactions: 0, writes: 0, failures: 0 };
  readonly #requested = new Map<RoomInstance, NodeInstanceStore>();
  /** Instances whose pending batch holds connects only. */
  readonly #soon = new Waiting(CONNECTS_COMMIT_MS, () => this.flush());
  /** Instances with deferred writes only. */
  readonly #later = new Waiting(DEFERRED_COMMIT_MS, () => this.flush());
  #stuck: Work[] = [];
  #scheduled = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_FIRST_MS;
  #closed = false;
  #hold: CommitHold | undefined;
  readonly #held = new Map<RoomInstance, NodeInstanceStore>();

  constructor(
    private readonly shared: SharedDb,
    private readonly limits: StorageLimits,
    private readonly log: Logger,
    private readonly alarmsChanged: () => void,
    private readonly maxLogEntries = Infinity,
    /** Told of every group commit: how many instances' batches it took, and how long it took (metrics). */
    private readonly observe?: (instances: number, ms: number) => void,
  ) {}

  request(instance: RoomInstance, store: NodeInstanceStore): void {
    if (this.#closed) return;
    this.#requested.set(instance, store);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * A batch of connects only (new sessions' rows, see `GateHost.requestCommitSoon`): it
   * commits with the next group commit, whichever instance asks for it, or on its own after
   * `CONNECTS_COMMIT_MS`. Connects arriving within that millisecond, in any room, so share
   * one transaction instead of one each; their welcomes leave up to that much later.
   */
  requestSoon(instance: RoomInstance, store: NodeInstanceStore): void {
    if (!this.#closed) this.#soon.add(instance, store);
  }

  /**
   * Deferred writes (an ended session's row, see `OutputGate.defer`): they commit with the
   * next group commit, whichever instance asks for it, or on their own after
   * `DEFERRED_COMMIT_MS`. Under load a closing connection's row so shares another commit's
   * transaction instead of costing one.
   */
  requestLater(instance: RoomInstance, store: NodeInstanceStore): void {
    if (!this.#closed) this.#later.add(instance, store);
  }

  /** Commits one instance's waiting writes now, deferred ones included (before a hibernation). */
  commitNow(instance: RoomInstance, store: NodeInstanceStore): void {
    // The flush takes every waiting instance along, this one's deferred writes included.
    this.request(instance, store);
    this.flush();
  }

  /** Batches waiting for the shared database to take their redo record. */
  get stuck(): number {
    return this.#stuck.length;
  }

  /** Commits every waiting batch now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    this.#retryStuck();
    const work: Work[] = [];
    this.#soon.moveInto(this.#requested);
    this.#later.moveInto(this.#requested);
    for (const [instance, store] of this.#requested) {
      if (this.#hold?.holds(store)) {
        this.#held.set(instance, store);
        continue;
      }
      const batch = instance.takeBatch();
      if (batch) work.push({ instance, store, batch, applied: 0, sqlCommitted: false, turn: undefined, error: undefined });
      // Deferred writes of an instance whose handler holds an SQL savepoint: they try again later.
      else if (instance.gate.onlyDeferred()) this.requestLater(instance, store);
    }
    this.#requested.clear();
    if (work.length === 0) return;
    const startedAt = this.observe ? performance.now() : 0;
    for (const w of work) this.#prepare(w);
    this.#commit(work);
    this.observe?.(work.length, performance.now() - startedAt);
    for (const w of work) this.#settle(w);
    this.#hold?.afterFlush();
  }

  /** From now until `release()`, batches of the instances `hold` names wait (a backup runs). */
  hold(hold: CommitHold): void {
    this.#hold = hold;
  }

  /** Ends the hold: the batches it kept back commit at the next turn. */
  release(): void {
    this.#hold = undefined;
    for (const [instance, store] of this.#held) this.request(instance, store);
    this.#held.clear();
  }

  /** Stops committing (shutdown): batches still waiting are applied from their redo records at the next start. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#soon.stop();
    this.#later.stop();
  }

  /**
   * Before the transaction: an instance's first commit creates its row in a transaction of
   * its own, so that a rollback below cannot leave its id pointing at nothing; and the SQL
   * turn the shared database has committed is read, as the limit of what the SQL file may trim.
   */
  #prepare(w: Work): void {
    try {
      const rowId = w.store.ensureRowId();
      if (w.batch.sqlUsed && w.store.openSql) w.applied = this.shared.sqlTurn(rowId);
    } catch (error) {
      w.error = error;
    }
  }

  #settle(w: Work): void {
    if (this.#stuck.includes(w)) return;
    if (w.error === undefined) {
      this.stats.writes += w.batch.writes.size();
      w.instance.gate.succeeded(w.batch);
      if (w.batch.writes.alarms.size > 0) this.alarmsChanged();
    } else {
      this.stats.failures++;
      if (!w.sqlCommitted) w.store.openSql?.rollback();
      w.instance.gate.failed(w.batch, w.error);
    }
  }

  #commit(work: Work[]): void {
    const shared = this.shared;
    // Applies everything in one transaction with no savepoint per instance: failures are
    // rare, so when an instance fails (its size limit, an SQL file that cannot commit) the
    // transaction is rolled back and built again without it. SQL files that did commit keep
    // their turn and are applied again identically.
    for (;;) {
      const live = work.filter((w) => w.error === undefined);
      const writers = live.filter((w) => !w.batch.writes.isEmpty());
      if (writers.length > 0) {
        shared.begin();
        const failed = writers.find((w) => !this.#applyShared(w));
        if (failed) {
          shared.rollback();
          continue;
        }
      }
      // Batches that only ran SQL are held to the size limit too, before their file commits.
      for (const w of live) {
        if (!w.batch.writes.isEmpty()) continue;
        try {
          w.store.checkSize(undefined, this.limits.maxInstanceBytes);
        } catch (error) {
          w.error = error;
        }
      }
      const sqlFailed = this.#commitSqlFiles(live);
      if (sqlFailed && writers.length > 0) {
        shared.rollback();
        continue;
      }
      if (writers.length === 0) return;
      try {
        shared.commit();
        this.stats.transactions++;
      } catch (error) {
        shared.rollback();
        this.#sharedCommitFailed(writers, error);
      }
      return;
    }
  }

  /**
   * Applies one instance's writes in the open transaction and checks its size, before any
   * SQL file commits. False (with the error kept) if it failed.
   */
  #applyShared(w: Work): boolean {
    try {
      const rowId = w.store.ensureRowId();
      this.shared.apply(rowId, w.batch.writes, this.maxLogEntries);
      w.store.checkSize(w.batch.writes, this.limits.maxInstanceBytes);
      const file = w.store.openSql;
      if (file && w.batch.sqlUsed) {
        w.turn ??= file.turn + 1;
        this.shared.setSqlTurn(rowId, w.turn);
      }
      return true;
    } catch (error) {
      w.error = error;
      return false;
    }
  }

  /** Commits the SQL files of batches that ran SQL; true if one failed. */
  #commitSqlFiles(live: Work[]): boolean {
    let failed = false;
    for (const w of live) {
      const file = w.store.openSql;
      if (w.sqlCommitted || !file || !w.batch.sqlUsed || w.error !== undefined) continue;
      try {
        const redo = w.batch.writes.isEmpty() ? undefined : encodeWrites(w.batch.writes);
        const turn = file.commit(redo, w.applied);
        if (turn !== undefined && w.turn !== undefined && turn !== w.turn) throw new Error("SQL redo turn out of step");
        w.sqlCommitted = true;
        this.stats.transactions++;
      } catch (error) {
        w.error = error;
        failed = true;
      }
    }
    return failed;
  }

  /**
   * The shared commit failed. Batches without SQL fail. Batches whose SQL file committed
   * cannot fail any more: they wait for their redo record to apply (see the class comment).
   */
  #sharedCommitFailed(writers: Work[], error: unknown): void {
    this.log.error({ err: error, instances: writers.length }, "commit of the shared database failed");
    for (const w of writers) {
      if (w.sqlCommitted) this.#stuck.push(w);
      else w.error = error;
    }
    this.#retryStuck();
  }

  /** Applies the redo records of waiting batches; those that take are settled as committed. */
  #retryStuck(): void {
    if (this.#stuck.length === 0) return;
    const waiting = this.#stuck;
    this.#stuck = [];
    for (const w of waiting) {
      try {
        w.store.applyRedo();
        this.stats.transactions++;
        this.#settle(w);
      } catch (error) {
        this.#stuck.push(w);
        this.log.error({ err: error, room: w.store.kind, instance: w.store.name }, "applying an SQL redo record failed; retrying");
      }
    }
    if (this.#stuck.length === 0) {
      this.#retryDelay = RETRY_FIRST_MS;
      return;
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.flush(), this.#retryDelay);
    this.#retryDelay = Math.min(RETRY_MAX_MS, this.#retryDelay * 2);
  }
}

/**
 * Instances whose batches may wait up to `ms` for a group commit to take them along (every
 * flush does, see `moveInto`); when the wait is over, `due` commits them.
 */
class Waiting {
  readonly #instances = new Map<RoomInstance, NodeInstanceStore>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly due: () => void,
  ) {}

  add(instance: RoomInstance, store: NodeInstanceStore): void {
    this.#instances.set(instance, store);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (this.#instances.size > 0) this.due();
    }, this.ms);
  }

  /** Hands every waiting instance over to a group commit's list. */
  moveInto(requested: Map<RoomInstance, NodeInstanceStore>): void {
    for (const [instance, store] of this.#instances) requested.set(instance, store);
    this.#instances.clear();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
