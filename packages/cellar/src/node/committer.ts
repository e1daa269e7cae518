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
  /** The SQL file committed (with its redo record, if any). */
  sqlCommitted: boolean;
  /** Redo turn written to the SQL file for this batch. */
  turn: number | undefined;
  error: unknown;
}

/**
 * Internal: group commit. Instances ask for a commit when a handler finishes with writes;
 * once per turn of the event loop (`setImmediate`, after all I/O callbacks of the turn ran)
 * every waiting batch commits together: one transaction in the shared database for all
 * instances, plus one in each SQL file that was used. Each instance's writes are applied
 * under a savepoint, so one instance's failure (its size limit, say) fails only its batch.
 */
export class Committer {
  readonly stats: CommitStats = { transactions: 0, writes: 0, failures: 0 };
  readonly #requested = new Map<RoomInstance, NodeInstanceStore>();
  #scheduled = false;

  constructor(
    private readonly shared: SharedDb,
    private readonly limits: StorageLimits,
    private readonly log: Logger,
    private readonly alarmsChanged: () => void,
  ) {}

  request(instance: RoomInstance, store: NodeInstanceStore): void {
    this.#requested.set(instance, store);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits every waiting batch now. */
  flush(): void {
    this.#scheduled = false;
    const work: Work[] = [];
    for (const [instance, store] of this.#requested) {
      const batch = instance.takeBatch();
      if (batch) work.push({ instance, store, batch, sqlCommitted: false, turn: undefined, error: undefined });
    }
    this.#requested.clear();
    if (work.length === 0) return;
    this.#commit(work);
    let alarms = false;
    for (const w of work) {
      if (w.error === undefined) {
        this.stats.writes += w.batch.writes.size();
        alarms ||= w.batch.writes.alarms.size > 0;
        w.instance.gate.succeeded(w.batch);
      } else {
        this.stats.failures++;
        if (!w.sqlCommitted) w.store.openSql?.rollback();
        w.instance.gate.failed(w.batch, w.error);
      }
    }
    if (alarms) this.alarmsChanged();
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
      this.shared.apply(rowId, w.batch.writes);
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
        const applied = w.store.rowId === undefined ? 0 : this.shared.sqlTurn(w.store.rowId);
        const turn = file.commit(redo, applied);
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
   * The shared commit failed. Batches without SQL fail. Batches whose SQL file committed are
   * durable through their redo record: applying it again in a transaction of its own makes
   * them whole; if that fails too they are reported failed, and the redo applies when the
   * instance next loads.
   */
  #sharedCommitFailed(shared: Work[], error: unknown): void {
    this.log.error({ err: error, instances: shared.length }, "commit of the shared database failed");
    for (const w of shared) {
      if (!w.sqlCommitted) {
        w.error = error;
        continue;
      }
      try {
        w.store.applyRedo();
        this.stats.transactions++;
      } catch (retryError) {
        this.log.error({ err: retryError, room: w.store.kind, id: w.store.name }, "applying an SQL redo record failed; it will apply on next load");
        w.error = retryError;
      }
    }
  }
}
