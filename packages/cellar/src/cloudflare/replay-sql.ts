import { CellarError, StorageLimitError } from "../core/errors.js";
import type { SqlBackend, SqlResult } from "../core/ports.js";
import { checkedStatements, firstKeyword } from "../core/sql-statements.js";

/** Thrown inside a dry run's transaction to undo it, carrying the result out. */
class DryRun {
  constructor(readonly result: SqlResult) {}
}

interface Pending {
  statement: string;
  bindings: readonly unknown[];
  /** What the handler saw; the commit must see the same. */
  seen: string;
}

/** Names the room's SQL may not touch: Cellar's tables and the platform's. */
const RESERVED = /\b_c(?:ellar|f)_/i;

/**
 * Internal: a room's SQL on a Durable Object. The platform commits every statement at the
 * end of the turn and offers no transaction that can stay open across a handler's `await`s,
 * yet a handler's SQL must commit with its other writes, or not at all. So a handler's
 * writing statements are kept, not applied: each `exec` runs them again, then the new
 * statement, in a `transactionSync` that is always rolled back (the handler sees its own
 * writes), and the commit runs them once more for real, inside the transaction that writes
 * the batch. A statement whose result at the commit differs from what the handler saw
 * (`random()`, the clock) fails the commit, as any commit failure: nothing is sent.
 *
 * Reads (SELECT) are not kept. The cost is quadratic in the writing statements of one
 * handler: fine for a few, not for thousands (write those as one statement).
 */
export class ReplaySql implements SqlBackend {
  #pending: Pending[] = [];

  constructor(private readonly storage: DurableObjectStorage) {}

  exec(query: string, bindings: readonly unknown[]): SqlResult {
    if (RESERVED.test(query)) throw new CellarError("SQL_ERROR", "Names starting with _cellar_ or _cf_ belong to the host");
    const statements = checkedStatements(query);
    if (statements.length > 1 && bindings.length > 0) throw new CellarError("SQL_ERROR", "Bindings need a single statement per exec call");
    let result: SqlResult = { columnNames: [], rows: [], rowsRead: 0, rowsWritten: 0 };
    for (const statement of statements) {
      result = this.#dryRun(statement, bindings);
      const keyword = firstKeyword(statement);
      if (keyword !== "SELECT" && keyword !== "VALUES") this.#pending.push({ statement, bindings, seen: fingerprint(result) });
    }
    return result;
  }

  #dryRun(statement: string, bindings: readonly unknown[]): SqlResult {
    try {
      this.storage.transactionSync(() => {
        for (const p of this.#pending) run(this.storage.sql, p.statement, p.bindings);
        throw new DryRun(run(this.storage.sql, statement, bindings));
      });
    } catch (error) {
      if (error instanceof DryRun) return error.result;
      throw sqlError(error);
    }
    throw new Error("unreachable: a dry run always rolls back");
  }

  /** A savepoint is a position in the kept statements. */
  savepoint(): number {
    return this.#pending.length;
  }

  release(): void {}

  discard(token: number): void {
    if (token < this.#pending.length) this.#pending.length = token;
  }

  get databaseSize(): number {
    return this.storage.sql.databaseSize;
  }

  /** Inside the commit's transaction: applies the kept statements for real. */
  applyPending(): void {
    for (const p of this.#pending) {
      let result: SqlResult;
      try {
        result = run(this.storage.sql, p.statement, p.bindings);
      } catch (error) {
        throw sqlError(error);
      }
      if (fingerprint(result) !== p.seen) {
        throw new CellarError("SQL_ERROR", `A statement gave another result at the commit than in the handler (random() or the clock?): ${p.statement.slice(0, 80)}`);
      }
    }
  }

  /** The batch committed or failed: what it kept is done with either way. */
  clearPending(): void {
    this.#pending = [];
  }
}

function run(sql: SqlStorage, statement: string, bindings: readonly unknown[]): SqlResult {
  const cursor = sql.exec(statement, ...bindings.map(toBinding));
  // Blobs come back as Uint8Array, as on Node.
  const rows = [...cursor.raw()].map((row) => row.map((value) => (value instanceof ArrayBuffer ? new Uint8Array(value) : value)));
  return { columnNames: cursor.columnNames, rows, rowsRead: cursor.rowsRead, rowsWritten: cursor.rowsWritten };
}

/** The platform binds strings, numbers, null and ArrayBuffers: other values Node accepts are converted. */
function toBinding(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") {
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    throw new CellarError("SQL_ERROR", "Durable Objects bind integers up to 2^53 - 1 only: bind a larger one as text");
  }
  return value;
}

function fingerprint(result: SqlResult): string {
  return JSON.stringify([result.rowsWritten, result.rows], (_key, value) => (value instanceof ArrayBuffer ? [...new Uint8Array(value)] : value));
}

function sqlError(error: unknown): Error {
  if (error instanceof CellarError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/SQLITE_FULL|database or disk is full/i.test(message)) return new StorageLimitError("INSTANCE_SIZE", "the instance's SQL database is full");
  return new CellarError("SQL_ERROR", message, { cause: error });
}
