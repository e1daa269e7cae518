import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import Database from "better-sqlite3";
import { CellarError, cellarError } from "../../core/errors.js";
import { askServer } from "../admin-socket.js";
import { SCHEMA_VERSION } from "../sqlite/schema.js";
import { isEmptyDir, lockDataDir, MANIFEST, readManifest, Staging } from "./files.js";

export interface RestoreOptions {
  /** Replace a data directory that is not empty (never one a server runs on). */
  force?: boolean;
}

export interface RestoreResult {
  dataDir: string;
  files: number;
  bytes: number;
  /** A data directory that was not empty was replaced. */
  replaced: boolean;
}

/**
 * Internal: `cellar restore`. Copies a backup into a staging directory beside `dataDir`,
 * checks every database there (`PRAGMA integrity_check`, and a layout this Cellar reads),
 * then renames it into place: `dataDir` is either untouched or the whole backup. A server
 * started on it recovers as after a crash at the moment the backup was taken.
 */
export async function restoreBackup(backupDir: string, dataDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  if (typeof backupDir !== "string" || backupDir === "") throw cellarError("INVALID_ARGUMENT", "restore: the backup directory must be a non-empty path");
  if (typeof dataDir !== "string" || dataDir === "") throw cellarError("INVALID_ARGUMENT", "restore: the data directory must be a non-empty path");
  if (!existsSync(backupDir) || !statSync(backupDir).isDirectory()) throw cellarError("INVALID_ARGUMENT", `"${backupDir}" is not a directory`);
  const path = relative(resolve(backupDir), resolve(dataDir));
  if (path === "" || !(path === ".." || path.startsWith(`..${sep}`) || isAbsolute(path))) {
    throw cellarError("INVALID_ARGUMENT", `"${dataDir}" is the backup directory or inside it`);
  }
  const manifestPath = join(backupDir, MANIFEST);
  const manifest = readManifest(backupDir, existsSync(manifestPath) ? readFileSync(manifestPath, "utf8") : undefined);
  for (const file of manifest.files) {
    if (!existsSync(join(backupDir, file))) throw cellarError("BACKUP_INVALID", `"${backupDir}" is not a complete Cellar backup: ${file} is missing`);
  }
  await refuseRunningServer(dataDir);
  const replaced = !isEmptyDir(dataDir);
  if (replaced && !options.force) {
    throw cellarError("DIRECTORY_NOT_EMPTY", `"${dataDir}" is not empty; restore into an empty directory, or replace it with --force`);
  }
  // Held until the directory is replaced: a server starting meanwhile finds the lock and
  // refuses to run on data about to go away. An empty directory is not replaced at all: if
  // a server filled it meanwhile, the restore fails instead (DIRECTORY_NOT_EMPTY).
  const lock = existsSync(join(dataDir, "cellar.db")) ? lockIfSqlite(dataDir) : undefined;
  const staging = Staging.create(dataDir, { label: "restore", replace: replaced });
  try {
    let bytes = 0;
    for (const file of manifest.files) {
      const to = staging.path(file);
      copyFileSync(join(backupDir, file), to);
      bytes += statSync(to).size;
      verify(to, file, file === "cellar.db");
    }
    await staging.commit();
    return { dataDir: staging.target, files: manifest.files.length, bytes, replaced };
  } catch (error) {
    staging.discard();
    if (error instanceof CellarError) throw error;
    throw cellarError("BACKUP_FAILED", `The restore failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    lock?.close();
  }
}

/** Refuses a data directory a server runs on: it answers on its admin socket, or holds its lock. */
async function refuseRunningServer(dataDir: string): Promise<void> {
  const answer = await askServer(dataDir, { op: "ping" }).catch((error: unknown) => {
    if (error instanceof CellarError) throw error;
    return undefined;
  });
  if (answer) throw cellarError("DATA_DIR_IN_USE", `A Cellar server is running on "${dataDir}"; stop it before restoring`);
}

/**
 * Takes the lock on `cellar.db`; throws `DATA_DIR_IN_USE` if a server holds it (one without
 * an admin socket).
 */
function lockIfSqlite(dataDir: string): Database.Database | undefined {
  try {
    return lockDataDir(dataDir);
  } catch (error) {
    // A cellar.db SQLite cannot open is no server's: it is about to be replaced.
    if (error instanceof CellarError) throw error;
    return undefined;
  }
}

/** Throws `BACKUP_INVALID` unless the staged copy of `name` is a sound database. */
function verify(path: string, name: string, shared: boolean): void {
  const invalid = (why: string) => cellarError("BACKUP_INVALID", `${name} in the backup ${why}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma("locking_mode = EXCLUSIVE");
    const check = db.pragma("integrity_check", { simple: true });
    if (check !== "ok") throw invalid(`fails its integrity check: ${String(check)}`);
    if (shared) {
      const layout = db.pragma("user_version", { simple: true }) as number;
      if (layout < 1 || layout > SCHEMA_VERSION) throw invalid(`has layout ${layout}; this Cellar reads layouts 1 to ${SCHEMA_VERSION}`);
    }
  } catch (error) {
    if (error instanceof CellarError) throw error;
    throw invalid(`is not a readable SQLite database: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    db?.close();
  }
}
