/*
 * Internal: an instance's own SQL tables (`sql/<kind>/<id>.db`) as the inspector shows them,
 * read without loading the instance.
 *
 * A live instance holds its file open with an exclusive lock, so its tables are read
 * through that connection, between commits only: while a handler's transaction is open
 * the file holds writes that may still roll back, and the answer is "busy" instead. A file
 * no instance holds open is opened for the length of one synchronous read and closed again:
 * nothing else runs meanwhile (one thread), so the instance cannot wake and find it locked.
 * That connection is `query_only`, and is opened the way the host opens the file (WAL,
 * exclusive) so that closing it leaves the directory as it was: a read-only open would leave
 * `-wal` and `-shm` files behind.
 */
import Database from "better-sqlite3";
import type { SqlFile } from "../sqlite/sql-file.js";
import { showString, type Redactions, type Shown } from "./display.js";
import { secretName } from "./redact.js";

const MAX_TABLES = 50;
const FIRST_ROWS = 10;
/** Row counts stop here: counting is a scan, and a page refreshes every second. */
const COUNT_CAP = 10_000;

export interface TableView {
  name: string;
  /** Rows, or COUNT_CAP when `rowsCapped`. */
  rows: number;
  rowsCapped: boolean;
  columns: string[];
  firstRows: Shown[][];
  /** The table's name says it holds secrets: its rows are not shown. */
  hidden?: true;
  /** The table could not be read (a virtual table whose module is missing, say). */
  error?: string;
}

export type SqlView = { present: false } | { present: true; busy: true } | { present: true; tables: TableView[]; more: boolean } | { present: true; error: string };

/** The SQL tables of an instance: `open` is its file's connection when the instance is live. */
export function readSql(open: SqlFile | undefined, path: string, exists: boolean, redactions: Redactions): SqlView {
  if (open) return open.inTransaction ? { present: true, busy: true } : { present: true, ...readTables(open.db, redactions) };
  if (!exists) return { present: false };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("query_only = 1");
    return { present: true, ...readTables(db, redactions) };
  } catch {
    return { present: true, error: "the SQL file could not be read" };
  } finally {
    db?.close();
  }
}

function readTables(db: Database.Database, redactions: Redactions): { tables: TableView[]; more: boolean } {
  // Cellar's own tables (the redo records: they carry session hashes) and SQLite's are not the room's.
  const names = reader(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cellar\\_%' ESCAPE '\\' ORDER BY name LIMIT ?")
    .pluck()
    .all(MAX_TABLES + 1) as string[];
  const tables = names.slice(0, MAX_TABLES).map((name) => readTable(db, name, redactions));
  return { tables, more: names.length > MAX_TABLES };
}

function readTable(db: Database.Database, name: string, redactions: Redactions): TableView {
  const quoted = `"${name.replace(/"/g, '""')}"`;
  const view: TableView = { name: showString(name), rows: 0, rowsCapped: false, columns: [], firstRows: [] };
  try {
    const rows = reader(db, `SELECT count(*) FROM (SELECT 1 FROM ${quoted} LIMIT ${COUNT_CAP + 1})`).pluck().get() as number;
    view.rows = Math.min(rows, COUNT_CAP);
    view.rowsCapped = rows > COUNT_CAP;
    if (secretName(name)) {
      redactions.count++;
      return { ...view, hidden: true };
    }
    const statement = reader(db, `SELECT * FROM ${quoted} LIMIT ${FIRST_ROWS}`).raw(true);
    const columns = statement.columns().map((c) => c.name);
    const kept = columns.map((_, i) => i).filter((i) => !secretName(columns[i]!));
    redactions.count += columns.length - kept.length;
    view.columns = kept.map((i) => showString(columns[i]!));
    view.firstRows = (statement.all() as unknown[][]).map((row) => kept.map((i) => showCell(row[i])));
    return view;
  } catch {
    return { ...view, error: "this table could not be read" };
  }
}

function showCell(value: unknown): Shown {
  if (value === null || typeof value === "number") return value as Shown;
  if (typeof value === "bigint") return { $type: "bigint", value: value.toString() };
  if (typeof value === "string") return showString(value);
  if (Buffer.isBuffer(value)) return { $type: "bytes", bytes: value.byteLength };
  return { $type: typeof value };
}

/** Prepares a statement, refusing any that would write: the inspector only reads. */
function reader(db: Database.Database, sql: string): Database.Statement {
  const statement = db.prepare(sql);
  if (!statement.reader) throw new Error("the inspector prepares only reading statements");
  return statement;
}
