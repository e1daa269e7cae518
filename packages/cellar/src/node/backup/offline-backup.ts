import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { CellarError, cellarError } from "../../core/errors.js";
import { copyClosedDatabase, copySharedDatabase, listSqlFiles, lockDataDir, manifestName, Staging, writeManifest, type BackupResult } from "./files.js";

/**
 * Internal: `cellar backup` when no server runs on `dataDir`. It holds the lock a server
 * takes on `cellar.db` while it copies, so a server started meanwhile refuses to start
 * instead of writing under the copy; with nothing writing, every file is copied as it is.
 */
export async function backupStoppedDataDir(dataDir: string, dest: string): Promise<BackupResult> {
  const startedAt = performance.now();
  if (!existsSync(join(dataDir, "cellar.db"))) {
    throw cellarError("INVALID_ARGUMENT", `"${dataDir}" is not a Cellar data directory (it has no cellar.db)`);
  }
  let lock: Database.Database | undefined;
  let staging: Staging | undefined;
  try {
    lock = lockDataDir(dataDir);
    staging = Staging.create(dest, { label: "partial", outside: dataDir });
    const sqlFiles = listSqlFiles(dataDir);
    let bytes = 0;
    for (const rel of sqlFiles) {
      const to = staging.path(rel);
      copyClosedDatabase(join(dataDir, rel), to);
      bytes += statSync(to).size;
    }
    const to = staging.path("cellar.db");
    await copySharedDatabase(lock, to);
    bytes += statSync(to).size;
    const layout = lock.pragma("user_version", { simple: true }) as number;
    await writeManifest(staging, { layout, source: "offline", files: ["cellar.db", ...sqlFiles.map(manifestName)] });
    await staging.commit();
    return { dest: staging.target, files: sqlFiles.length + 1, bytes, durationMs: Math.round(performance.now() - startedAt) };
  } catch (error) {
    staging?.discard();
    if (error instanceof CellarError) throw error;
    throw cellarError("BACKUP_FAILED", `The backup failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    lock?.close();
  }
}
