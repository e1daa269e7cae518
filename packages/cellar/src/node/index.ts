/**
 * `cellar/node`: the Node host. One process serves WebSocket rooms, your HTTP routes and
 * SQLite storage on one port.
 */
export { createServer } from "./server.js";
export { clientModule } from "./client-modules.js";
export type { CellarServer, ServerStats } from "./server.js";
export type { FetchApp, InspectorOptions, MetricsOptions, ServerOptions } from "./options.js";
export type { CommitStats } from "./committer.js";
export type { BackupOptions } from "./backup/live-backup.js";
export type { BackupResult } from "./backup/files.js";
export type { Durability } from "./sqlite/shared-db.js";
