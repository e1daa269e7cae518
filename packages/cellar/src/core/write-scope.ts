import { cellarError } from "./errors.js";
import type { SqlBackend } from "./ports.js";
import { WriteSet } from "./write-set.js";

/**
 * Internal: where a handler's writes go. A handler runs in a root scope; each
 * `storage.transaction()` opens a child scope whose writes join the parent only if the
 * transaction returns. SQL savepoints follow the same nesting and are opened on the first
 * SQL statement, so handlers that never touch SQL never open one.
 */
export class WriteScope {
  readonly writes = new WriteSet();
  sqlToken: number | undefined = undefined;
  /** The scope (or a child) ran SQL: the SQL transaction must commit with its batch. */
  usedSql = false;
  /** Set on the root once the handler has returned: later calls are a bug in the handler. */
  ended = false;
  /** On the root: the innermost scope still open, where SQL statements belong now. */
  #innermost: WriteScope | undefined;

  constructor(
    readonly parent: WriteScope | undefined,
    /** Write sets below the handler (earlier handlers waiting to commit), innermost first. */
    readonly below: () => readonly WriteSet[],
  ) {}

  /** Every write set a read must look through, innermost first. */
  layers(): WriteSet[] {
    const layers: WriteSet[] = [];
    for (let scope: WriteScope | undefined = this; scope; scope = scope.parent) layers.push(scope.writes);
    for (const set of this.below()) layers.push(set);
    return layers;
  }

  /** Refuses a write, emit or SQL statement made after the handler returned (it would be lost). */
  assertOpen(what: string): void {
    if (this.root().ended) {
      throw cellarError("INVALID_ARGUMENT", `${what} after the handler returned: await every call inside the handler`);
    }
  }

  root(): WriteScope {
    let scope: WriteScope = this;
    while (scope.parent) scope = scope.parent;
    return scope;
  }

  child(): WriteScope {
    return new WriteScope(this, this.below);
  }

  /**
   * Runs `fn` with `scope` as the innermost open scope. SQL goes through one facade whatever
   * object the handler reached it by (`ctx.storage.sql` inside a transaction, say), so the
   * savepoint it enters is chosen by what is open, not by that object.
   */
  async within<R>(scope: WriteScope, fn: () => Promise<R>): Promise<R> {
    const root = this.root();
    const previous = root.#innermost;
    root.#innermost = scope;
    try {
      return await fn();
    } finally {
      root.#innermost = previous;
    }
  }

  /** Opens the savepoints SQL needs now: those of the innermost open scope and its parents. */
  enterSqlHere(sql: SqlBackend): void {
    this.assertOpen("sql.exec");
    (this.root().#innermost ?? this).enterSql(sql);
  }

  /** Opens the SQL savepoints of this scope and its parents that are not open yet. */
  enterSql(sql: SqlBackend): void {
    this.parent?.enterSql(sql);
    this.usedSql = true;
    if (this.sqlToken === undefined) this.sqlToken = sql.savepoint();
  }

  /** Keeps what the scope did: its writes join the parent's (or stay for the commit). */
  keep(sql: () => SqlBackend): void {
    if (this.sqlToken !== undefined) sql().release(this.sqlToken);
    this.sqlToken = undefined;
    this.parent?.writes.absorb(this.writes);
  }

  /** Drops what the scope did. */
  discard(sql: () => SqlBackend): void {
    if (this.sqlToken !== undefined) sql().discard(this.sqlToken);
    this.sqlToken = undefined;
  }
}
