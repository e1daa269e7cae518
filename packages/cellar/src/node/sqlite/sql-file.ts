import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Statement } from "better-sqlite3";
import { CellarError, StorageLimitError } from "../../core/errors.js";
import type { SqlBackend, SqlResult } from "../../core/ports.js";
import type { Durability } from "./shared-db.js";
import { checkedStatements } from "../../core/sql-statements.js";

const STATEMENT_CACHE_SIZE = 200;

/**
 * Internal: one instance's own SQL database (`<dataDir>/sql/<kind>/<id>.db`), so its tables
 * are its alone. Statements run inside a transaction that stays open until the host's
 * commit; savepoints mark what each handler did.
 *
 * Commits here come before the shared database's. To keep one handler's writes atomic across
 * the two files, each commit that also has writes for the shared database stores them here
 * as a redo record (`_cellar_redo`) numbered by a turn. The shared database records the last
 * turn it applied; on open, records it lacks (a crash between the two commits) are applied.
 */
export class SqlFile implements SqlBackend {
  readonly db: Database.Database;
  readonly #statements = new Map<string, Statement>();
  readonly #checked = new Map<string, string[]>();
  #nextToken = 0;
  /** The savepoint whose opening began the open transaction: nothing before it is waiting to commit. */
  #first: number | undefined;
  /** Highest redo turn written here. */
  turn: number;

  constructor(path: string, durability: Durability, maxBytes: number) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("locking_mode = EXCLUSIVE");
    this.db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
    this.db.pragma("foreign_keys = ON");
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    this.db.pragma(`max_page_count = ${Math.max(16, Math.floor(maxBytes / pageSize))}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS _cellar_redo (turn INTEGER PRIMARY KEY, writes TEXT NOT NULL);
    `);
    this.turn = (this.db.prepare("SELECT MAX(turn) FROM _cellar_redo").pluck().get() as number | null) ?? 0;
  }

  static exists(path: string): boolean {
    return existsSync(path);
  }

  exec(query: string, bindings: readonly unknown[]): SqlResult {
    const statements = this.#statementsOf(query);
    if (statements.length > 1 && bindings.length > 0) throw new CellarError("SQL_ERROR", "Bindings need a single statement per exec call");
    const args = bindings.map(toSqlite);
    // Several statements run one by one, as on Durable Objects: the result is the last one's.
    let result: SqlResult = { columnNames: [], rows: [], rowsRead: 0, rowsWritten: 0 };
    let written = 0;
    try {
      for (const statement of statements) {
        result = this.#run(statement, args);
        written += result.rowsWritten;
      }
    } catch (error) {
      throw sqlError(error);
    }
    return { ...result, rowsWritten: written };
  }

  /**
   * The statements of a query, checked: rooms run the same queries over and over, so the
   * split and the check are done once per query text (like the prepared statements).
   */
  #statementsOf(query: string): string[] {
    let statements = this.#checked.get(query);
    if (statements) return statements;
    statements = checkedStatements(query);
    remember(this.#checked, query, statements);
    return statements;
  }

  #run(sql: string, args: unknown[]): SqlResult {
    const statement = this.#prepare(sql);
    if (statement.reader) {
      const rows = statement.raw(true).all(...args) as unknown[][];
      return { columnNames: statement.columns().map((c) => c.name), rows, rowsRead: rows.length, rowsWritten: 0 };
    }
    return { columnNames: [], rows: [], rowsRead: 0, rowsWritten: statement.run(...args).changes };
  }

  #prepare(query: string): Statement {
    let statement = this.#statements.get(query);
    if (statement) return statement;
    statement = this.db.prepare(query);
    remember(this.#statements, query, statement);
    return statement;
  }

  savepoint(): number {
    const token = ++this.#nextToken;
    if (!this.db.inTransaction) {
      this.db.exec("BEGIN");
      this.#first = token;
    }
    this.db.exec(`SAVEPOINT sp${token}`);
    return token;
  }

  release(token: number): void {
    this.db.exec(`RELEASE sp${token}`);
  }

  /**
   * A savepoint that began the transaction ends it: the transaction then holds nothing, and
   * left open it would keep the file busy (for the inspector and backups) until some later
   * handler's commit.
   */
  discard(token: number): void {
    if (token === this.#first) return this.rollback();
    this.db.exec(`ROLLBACK TO sp${token}`);
    this.db.exec(`RELEASE sp${token}`);
  }

  get databaseSize(): number {
    return (this.db.pragma("page_count", { simple: true }) as number) * (this.db.pragma("page_size", { simple: true }) as number);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * Commits the open transaction, with a redo record of the batch's shared-database writes
   * when there are any. Redo records the shared database has applied (`appliedTurn`) are
   * trimmed in the same transaction. Throws, with everything rolled back, on failure.
   */
  commit(redo: string | undefined, appliedTurn: number): number | undefined {
    let turn: number | undefined;
    try {
      if (!this.db.inTransaction) this.db.exec("BEGIN");
      this.db.prepare("DELETE FROM _cellar_redo WHERE turn <= ?").run(appliedTurn);
      if (redo !== undefined) {
        turn = this.turn + 1;
        this.db.prepare("INSERT INTO _cellar_redo (turn, writes) VALUES (?, ?)").run(turn, redo);
      }
      this.db.exec("COMMIT");
      this.#first = undefined;
    } catch (error) {
      this.rollback();
      throw sqlError(error);
    }
    if (turn !== undefined) this.turn = turn;
    return turn;
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec("ROLLBACK");
    this.#first = undefined;
  }

  /** Redo records newer than `appliedTurn`, oldest first. */
  redoAfter(appliedTurn: number): Array<{ turn: number; writes: string }> {
    return this.db.prepare("SELECT turn, writes FROM _cellar_redo WHERE turn > ? ORDER BY turn").all(appliedTurn) as Array<{ turn: number; writes: string }>;
  }

  close(): void {
    if (!this.db.open) return;
    this.rollback();
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}

/** Adds to a cache of at most STATEMENT_CACHE_SIZE entries, forgetting the oldest. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

function toSqlite(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

function sqlError(error: unknown): Error {
  if (error instanceof CellarError) return error;
  const code = (error as { code?: string }).code;
  if (code === "SQLITE_FULL") return new StorageLimitError("INSTANCE_SIZE", "the instance's SQL database is full");
  const message = error instanceof Error ? error.message : String(error);
  return new CellarError("SQL_ERROR", message, { cause: error });
}
