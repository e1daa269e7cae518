import { join } from "node:path";
import type { StorageLimits } from "../core/limits.js";
import type { InstanceStore, StorageRange, StoredSession } from "../core/ports.js";
import { StorageLimitError } from "../core/errors.js";
import type { AlarmRecord, LogRecord, WriteSet } from "../core/write-set.js";
import { decodeWrites } from "./sqlite/redo.js";
import type { Durability, SharedDb } from "./sqlite/shared-db.js";
import { SqlFile } from "./sqlite/sql-file.js";

/**
 * Internal: the committed data of one instance on the Node host. Rows live in the shared
 * database under the instance's row id, created on its first commit; its SQL tables live in
 * a file of their own, opened on first use.
 */
export class NodeInstanceStore implements InstanceStore {
  #rowId: number | undefined;
  #sql: SqlFile | undefined;
  /** An upper bound of the bytes this instance holds in the shared database. */
  #sharedBound: number | undefined;
  readonly sqlPath: string;

  constructor(
    readonly shared: SharedDb,
    readonly kind: string,
    readonly name: string,
    dataDir: string,
    readonly durability: Durability,
    readonly limits: StorageLimits,
  ) {
    this.#rowId = shared.instanceId(kind, name);
    this.sqlPath = sqlPathOf(dataDir, kind, name);
  }

  /**
   * Opens the SQL file if the instance has one, applying redo records the shared database
   * lacks; true if it applied any.
   */
  open(): boolean {
    if (this.#sql !== undefined || !SqlFile.exists(this.sqlPath)) return false;
    this.#sql = this.#openSql();
    return this.applyRedo();
  }

  get rowId(): number | undefined {
    return this.#rowId;
  }

  ensureRowId(): number {
    return (this.#rowId ??= this.shared.ensureInstance(this.kind, this.name));
  }

  logHead(): { seq: number; floor: number } {
    return this.#rowId === undefined ? { seq: 0, floor: 0 } : this.shared.logHead(this.#rowId);
  }

  replay(after: number, upTo: number): Array<Pick<LogRecord, "seq" | "to" | "frame">> {
    return this.#rowId === undefined ? [] : this.shared.replay(this.#rowId, after, upTo);
  }

  session(connectionId: string): StoredSession | undefined {
    return this.#rowId === undefined ? undefined : this.shared.session(this.#rowId, connectionId);
  }

  sessions(): StoredSession[] {
    return this.#rowId === undefined ? [] : this.shared.sessions(this.#rowId);
  }

  readState(scope: string): Map<string, string> {
    return this.#rowId === undefined ? new Map() : this.shared.readState(this.#rowId, scope);
  }

  getStorage(keys: readonly string[]): Map<string, string> {
    return this.#rowId === undefined ? new Map() : this.shared.getStorage(this.#rowId, keys);
  }

  listStorage(range: StorageRange): Array<[string, string]> {
    return this.#rowId === undefined ? [] : this.shared.listStorage(this.#rowId, range);
  }

  listAlarms(): AlarmRecord[] {
    return this.#rowId === undefined ? [] : this.shared.listAlarms(this.#rowId);
  }

  getAlarm(id: string): AlarmRecord | undefined {
    return this.#rowId === undefined ? undefined : this.shared.getAlarm(this.#rowId, id);
  }

  /**
   * Refuses, after `writes` were applied in the open transaction, an instance over `limit`
   * bytes (keys and values in the shared database plus its SQL file). The exact size is a
   * query, so it is read only when a cheap upper bound (the last size read plus what was
   * added since, at 3 bytes per UTF-16 unit) says the instance might be over.
   */
  checkSize(writes: WriteSet | undefined, limit: number): void {
    const sqlBytes = this.#sql?.databaseSize ?? 0;
    if (this.#sharedBound !== undefined) {
      const bound = this.#sharedBound + (writes ? addedBound(writes) : 0);
      if (bound + sqlBytes <= limit) {
        this.#sharedBound = bound;
        return;
      }
    }
    // Read inside the transaction, so it counts these writes; if it rolls back, it stays an upper bound.
    const exact = this.#rowId === undefined ? 0 : this.shared.instanceBytes(this.#rowId);
    this.#sharedBound = exact;
    if (exact + sqlBytes > limit) {
      throw new StorageLimitError("INSTANCE_SIZE", `the instance would store more than ${limit} bytes`);
    }
  }

  sql(): SqlFile {
    if (this.#sql) return this.#sql;
    this.#sql = this.#openSql();
    this.applyRedo();
    return this.#sql;
  }

  #openSql(): SqlFile {
    const sharedBytes = this.shared.instanceBytes(this.ensureRowId());
    return new SqlFile(this.sqlPath, this.durability, this.limits.maxInstanceBytes - sharedBytes);
  }

  hasSql(): boolean {
    return this.#sql !== undefined || SqlFile.exists(this.sqlPath);
  }

  get openSql(): SqlFile | undefined {
    return this.#sql;
  }

  /** Applies the SQL file's redo records that the shared database has not applied yet; true if any. */
  applyRedo(): boolean {
    const file = this.#sql;
    if (!file || this.#rowId === undefined) return false;
    const applied = this.shared.sqlTurn(this.#rowId);
    if (file.turn <= applied) return false;
    const rowId = this.#rowId;
    const records = file.redoAfter(applied);
    this.shared.db.transaction(() => {
      for (const record of records) {
        this.shared.apply(rowId, decodeWrites(record.writes));
        this.shared.setSqlTurn(rowId, record.turn);
      }
    })();
    return records.length > 0;
  }

  close(): void {
    this.#sql?.close();
    this.#sql = undefined;
  }
}

/** Where an instance's own SQL database lives: `<dataDir>/sql/<kind>/<id, base64url>.db`. */
export function sqlPathOf(dataDir: string, kind: string, name: string): string {
  return join(dataDir, "sql", kind, `${Buffer.from(name).toString("base64url")}.db`);
}

/** At most how many bytes `writes` add to the shared database. */
function addedBound(writes: WriteSet): number {
  let units = 0;
  for (const [key, value] of writes.storage) if (value !== null) units += key.length + value.length;
  for (const entries of writes.state.values()) for (const [key, value] of entries) units += key.length + value.length;
  return units * 3;
}
