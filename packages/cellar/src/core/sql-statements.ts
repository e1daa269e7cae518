import { CellarError } from "./errors.js";

/** Statements `sql.exec` refuses on every host: transaction control and settings are Cellar's. */
const REFUSED = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "ATTACH", "DETACH", "VACUUM"]);
/** Read-only introspection pragmas are allowed; others could change durability, limits or layout. */
const ALLOWED_PRAGMA = /^PRAGMA\s+(?:\w+\s*\.\s*)?(table_info|table_xinfo|table_list|index_list|index_info|index_xinfo|foreign_key_list|foreign_key_check)\b[^=]*$/i;

/** Splits a query into statements and refuses those `sql.exec` does not run. */
export function checkedStatements(query: string): string[] {
  const statements = splitStatements(query);
  for (const statement of statements) {
    const keyword = firstKeyword(statement);
    if (REFUSED.has(keyword) || (keyword === "PRAGMA" && !ALLOWED_PRAGMA.test(statement))) {
      throw new CellarError("SQL_ERROR", `sql.exec does not run ${keyword} (transaction control, ATTACH, VACUUM and PRAGMAs that change settings are Cellar's); use storage.transaction()`);
    }
  }
  return statements;
}

/**
 * Internal: splits SQL text into statements the way SQLite reads them: `;` ends a statement
 * except inside string literals, quoted identifiers and comments, and, in a CREATE TRIGGER,
 * until the `;` that follows its END (the rule of `sqlite3_complete`). Each statement comes
 * back with its leading comments removed; empty ones are dropped.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let words: string[] = []; // the first words of the current statement, to spot CREATE TRIGGER
  let lastWord = "";
  let i = 0;
  const finish = (end: number) => {
    const text = stripLeadingComments(sql.slice(start, end)).trim();
    if (text !== "") statements.push(text);
    start = end + 1;
    words = [];
    lastWord = "";
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === "`") {
      i = closing(sql, i, c);
    } else if (c === "[") {
      i = closing(sql, i, "]");
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      lastWord = sql.slice(i, j).toUpperCase();
      if (words.length < 4) words.push(lastWord);
      i = j;
    } else if (c === ";") {
      if (!isTrigger(words) || lastWord === "END") finish(i);
      i++;
    } else {
      i++;
    }
  }
  finish(sql.length);
  return statements;
}

/** The first keyword of a statement (after leading comments), uppercased. */
export function firstKeyword(statement: string): string {
  return /^[A-Za-z_]+/.exec(stripLeadingComments(statement).trimStart())?.[0].toUpperCase() ?? "";
}

function isTrigger(words: string[]): boolean {
  if (words[0] !== "CREATE") return false;
  const next = words[1] === "TEMP" || words[1] === "TEMPORARY" ? words[2] : words[1];
  return next === "TRIGGER";
}

/** Index just past the quote that closes the one at `open` (a doubled quote escapes it). */
function closing(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (quote !== "]" && sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function stripLeadingComments(text: string): string {
  let rest = text;
  for (;;) {
    const trimmed = rest.trimStart();
    if (trimmed.startsWith("--")) {
      const end = trimmed.indexOf("\n");
      rest = end === -1 ? "" : trimmed.slice(end + 1);
    } else if (trimmed.startsWith("/*")) {
      const end = trimmed.indexOf("*/");
      rest = end === -1 ? "" : trimmed.slice(end + 2);
    } else {
      return trimmed;
    }
  }
}
