import type { SqlBackend } from "./ports.js";

/**
 * Internal: drops every table, view and trigger the room created in its SQL database (for
 * `storage.deleteAll()`), inside the caller's savepoint so a rollback brings them back.
 * Names starting with `_cellar_`, `_cf_` or `sqlite_` belong to Cellar, to Cloudflare or to SQLite.
 */
export function clearSqlTables(sql: SqlBackend): void {
  const objects = sql.exec(
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cellar\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
    [],
  );
  // Views and triggers first: dropping a table they name would otherwise fail or orphan them.
  const order = { trigger: 0, view: 1, table: 2 } as Record<string, number>;
  const rows = objects.rows.map(([type, name]) => [String(type), String(name)] as const);
  rows.sort((a, b) => (order[a[0]] ?? 3) - (order[b[0]] ?? 3));
  for (const [type, name] of rows) sql.exec(`DROP ${type.toUpperCase()} IF EXISTS "${name.replace(/"/g, '""')}"`, []);
}
