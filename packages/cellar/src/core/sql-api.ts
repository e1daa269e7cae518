import { cellarError } from "./errors.js";
import type { SqlBackend, SqlResult } from "./ports.js";

/** A value SQLite stores: the bindings `exec` accepts and the values rows hold. */
export type SqlValue = string | number | bigint | null | Uint8Array | ArrayBuffer;

/**
 * The result of `sql.exec`, shaped like Durable Objects' `SqlStorageCursor`: iterate it, or
 * call `toArray()`, `one()` or `raw()`.
 */
export class SqlCursor<Row extends Record<string, SqlValue> = Record<string, SqlValue>> implements Iterable<Row> {
  readonly columnNames: string[];
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly #rows: unknown[][];
  #next = 0;

  constructor(result: SqlResult) {
    this.columnNames = result.columnNames;
    this.rowsRead = result.rowsRead;
    this.rowsWritten = result.rowsWritten;
    this.#rows = result.rows;
  }

  #object(values: unknown[]): Row {
    const row: Record<string, unknown> = {};
    this.columnNames.forEach((name, i) => (row[name] = values[i]));
    return row as Row;
  }

  next(): IteratorResult<Row> {
    const values = this.#rows[this.#next];
    if (values === undefined) return { done: true, value: undefined };
    this.#next++;
    return { done: false, value: this.#object(values) };
  }

  [Symbol.iterator](): Iterator<Row> {
    return this;
  }

  /** The remaining rows as objects. */
  toArray(): Row[] {
    const rows = this.#rows.slice(this.#next).map((values) => this.#object(values));
    this.#next = this.#rows.length;
    return rows;
  }

  /** The one row of the result; throws unless there is exactly one. */
  one(): Row {
    const remaining = this.#rows.length - this.#next;
    if (remaining !== 1) {
      throw cellarError("INVALID_ARGUMENT", `Expected exactly one row, the query returned ${remaining}`);
    }
    return this.next().value as Row;
  }

  /** The remaining rows as arrays of column values. */
  raw(): IterableIterator<unknown[]> {
    const rows = this.#rows.slice(this.#next);
    this.#next = this.#rows.length;
    return rows[Symbol.iterator]();
  }
}

/** `ctx.storage.sql`: the instance's own SQLite database (its tables are its alone). */
export interface SqlStorage {
  /**
   * Runs one statement with `?` bindings. Writes commit with the handler's other writes.
   *
   * @example
   * ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, text TEXT)");
   * ctx.storage.sql.exec("INSERT INTO messages (text) VALUES (?)", text);
   * const last = ctx.storage.sql.exec("SELECT text FROM messages ORDER BY id DESC LIMIT 50").toArray();
   */
  exec<Row extends Record<string, SqlValue> = Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): SqlCursor<Row>;
  /** Bytes the instance's SQL database occupies. */
  readonly databaseSize: number;
}

/** Internal: builds the SQL facade; `enter` opens the handler's savepoints before a statement runs. */
export function createSqlStorage(backend: () => SqlBackend, enter: (sql: SqlBackend) => void): SqlStorage {
  return {
    exec(query, ...bindings) {
      if (typeof query !== "string" || query.trim() === "") throw cellarError("INVALID_ARGUMENT", "sql.exec needs a query string");
      const sql = backend();
      enter(sql);
      return new SqlCursor(sql.exec(query, bindings));
    },
    get databaseSize() {
      return backend().databaseSize;
    },
  };
}
