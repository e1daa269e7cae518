import { statSync } from "node:fs";
import { join, relative } from "node:path";
import { CellarError, cellarError } from "../../core/errors.js";
import type { Logger } from "../../core/ports.js";
import type { CommitHold, Committer } from "../committer.js";
import type { NodeInstanceStore } from "../instance-store.js";
import type { Rooms } from "../rooms.js";
import type { SharedDb } from "../sqlite/shared-db.js";
import {
  copyClosedDatabase,
  copyDatabase,
  copySharedDatabase,
  listSqlFiles,
  manifestName,
  Staging,
  writeManifest,
  type BackupResult,
} from "./files.js";

export interface BackupOptions {
  /**
   * How long the backup may wait, without copying anything, for the SQL files left to be
   * between two transactions (default 10,000 ms); past it the backup fails with
   * `BACKUP_FAILED` and the commits it held go ahead.
   */
  timeoutMs?: number;
}

/** What a backup needs of the running server. */
export interface LiveBackupHost {
  shared: SharedDb;
  committer: Committer;
  rooms: Rooms;
  dataDir: string;
  log: Logger;
}

/** Most time spent copying SQL files in one go before the event loop gets a turn. */
const STEP_MS = 20;
/** How often files still inside a transaction are looked at again, between commits. */
const POLL_MS = 20;

/**
 * Internal: a backup of a running server's data directory that is exactly what a crash at
 * one moment would leave, that moment being the end of the copy of `cellar.db` (T).
 *
 * Why it is consistent. A handler's writes to its instance's SQL file and to `cellar.db`
 * commit as one: the SQL file commits first with a redo record of the `cellar.db` writes,
 * and `cellar.db` records the last redo turn it applied (see sqlite/sql-file.ts). So the
 * copies must show every file as it was at T, or recovery could find `cellar.db` ahead of an
 * SQL file (a batch half there) or an SQL file whose redo records were already trimmed.
 *
 * 1. Each instance SQL file is copied at a moment it has no transaction open: at once when
 *    its instance is hibernated or between transactions, otherwise right after the group
 *    commit that closes its transaction (`afterFlush`). `VACUUM INTO` copies what is
 *    committed, synchronously, so nothing can commit in between.
 * 2. From its copy until T, the committer keeps the instance's batches back (`holds`):
 *    handlers run, their writes wait uncommitted behind the output gate, the file does not
 *    change. Files created since the backup began are held too (they are not in it: at T
 *    nothing of theirs is committed). Instances without an SQL file are not held.
 * 3. `cellar.db` is copied last with SQLite's online backup API, a few pages per turn while
 *    the server keeps committing: pages written through the same connection meanwhile are
 *    copied again, so the copy is `cellar.db` at its last step, T; no transaction of the
 *    server's spans two turns, so that step never meets half a commit.
 *
 * At T every SQL file is as it was at its copy (held since), and `cellar.db` is at T: the
 * copy is the data directory at T. Everything acknowledged before the backup began committed
 * before T. Its `clean_shutdown` mark is that of a running server, so a server started on a
 * restored copy recovers as after a crash: pending redo records are applied.
 *
 * The cost: instances that use SQL wait (their acks, not their handlers) from their copy
 * until `cellar.db` is copied; the event loop pauses while each SQL file is copied.
 */
export class LiveBackup implements CommitHold {
  readonly #host: LiveBackupHost;
  /** SQL files not copied yet, by path relative to the data directory. */
  readonly #pending = new Map<string, string>();
  #staging: Staging | undefined;
  #bytes = 0;
  /** When step 1 last copied a file (the timeout counts from it). */
  #copiedAt = 0;
  #failure: unknown;
  #released = false;
  /** Ends the wait of step 1 (with an error to fail it). */
  #settle: ((error?: unknown) => void) | undefined;

  constructor(host: LiveBackupHost) {
    this.#host = host;
  }

  /** Copies the data directory to `dest` (missing, or an empty directory). */
  async run(dest: unknown, options: BackupOptions = {}): Promise<BackupResult> {
    const startedAt = performance.now();
    if (typeof dest !== "string" || dest === "") throw cellarError("INVALID_ARGUMENT", "backup(dest): dest must be a non-empty path");
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 3_600_000) {
      throw cellarError("INVALID_ARGUMENT", "backup(dest, options): timeoutMs must be an integer from 0 to 3600000");
    }
    const { dataDir, committer, shared, log } = this.#host;
    // Synchronous from the listing to the hold: no SQL file can appear in between unseen.
    const sqlFiles = listSqlFiles(dataDir);
    const staging = (this.#staging = Staging.create(dest, { label: "partial", outside: dataDir }));
    log.info({ dest: staging.target, sqlFiles: sqlFiles.length }, "backup started");
    let heldMs = 0;
    try {
      for (const rel of sqlFiles) this.#pending.set(rel, join(dataDir, rel));
      committer.hold(this);
      const heldAt = performance.now();
      await this.#copySqlFiles(timeoutMs);
      const to = staging.path("cellar.db");
      await copySharedDatabase(shared.db, to);
      if (this.#failure !== undefined) throw this.#failure;
      this.#release();
      heldMs = Math.round(performance.now() - heldAt);
      this.#bytes += statSync(to).size;
      const layout = shared.db.pragma("user_version", { simple: true }) as number;
      await writeManifest(staging, { layout, source: "live", files: ["cellar.db", ...sqlFiles.map(manifestName)] });
      await staging.commit();
    } catch (error) {
      this.#release();
      staging.discard();
      const failure = backupError(error);
      log.warn({ err: failure, dest: staging.target }, "backup failed");
      throw failure;
    }
    const result = { dest: staging.target, files: sqlFiles.length + 1, bytes: this.#bytes, durationMs: Math.round(performance.now() - startedAt) };
    log.info({ ...result, heldMs }, "backup finished");
    return result;
  }

  /** Stops the backup (the server shuts down): held batches commit, the copy is discarded. */
  abort(error: CellarError): void {
    this.#failure ??= error;
    this.#release();
    this.#settle?.(error);
  }

  holds(store: NodeInstanceStore): boolean {
    return store.openSql !== undefined && !this.#pending.has(relative(this.#host.dataDir, store.sqlPath));
  }

  afterFlush(): void {
    this.#copyQuiet();
  }

  /** Step 1: resolves once every SQL file is copied. */
  #copySqlFiles(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#copiedAt = performance.now();
      let cancel = () => {};
      this.#settle = (error) => {
        cancel();
        this.#settle = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const tick = () => {
        const more = this.#copyQuiet();
        if (!this.#settle) return;
        if (performance.now() - this.#copiedAt > timeoutMs) {
          const [busy] = this.#pending.keys();
          this.#settle(cellarError("BACKUP_FAILED", `The SQL file ${busy} stayed inside a transaction for more than ${timeoutMs} ms`));
          return;
        }
        if (more) {
          const immediate = setImmediate(tick);
          cancel = () => clearImmediate(immediate);
        } else {
          const timeout = setTimeout(tick, POLL_MS);
          cancel = () => clearTimeout(timeout);
        }
      };
      tick();
    });
  }

  /**
   * Copies the pending SQL files that have no transaction open, for at most STEP_MS; true
   * if it stopped for time with files left that it could copy now.
   */
  #copyQuiet(): boolean {
    const settle = this.#settle;
    if (!settle) return false;
    try {
      const open = new Map<string, NodeInstanceStore>();
      for (const slot of this.#host.rooms.slots()) {
        if (slot.instance && slot.store?.openSql) open.set(relative(this.#host.dataDir, slot.store.sqlPath), slot.store);
      }
      const stopAt = performance.now() + STEP_MS;
      for (const [rel, path] of this.#pending) {
        if (performance.now() > stopAt) return true;
        const live = open.get(rel);
        const to = this.#staging!.path(rel);
        if (!live) {
          copyClosedDatabase(path, to);
        } else {
          const file = live.openSql!;
          if (file.inTransaction) continue; // a handler's writes, not committed yet
          copyDatabase(file.db, to);
        }
        this.#pending.delete(rel); // from here on `holds` keeps its batches back
        this.#bytes += statSync(to).size;
        this.#copiedAt = performance.now();
      }
      if (this.#pending.size === 0) settle();
    } catch (error) {
      settle(error);
    }
    return false;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#host.committer.release();
  }
}

function backupError(error: unknown): CellarError {
  if (error instanceof CellarError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return cellarError("BACKUP_FAILED", `The backup failed: ${message}`, { cause: error });
}
