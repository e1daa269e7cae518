import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync } from "node:fs";
import { open, readdir, writeFile, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import Database from "better-sqlite3";
import { cellarError } from "../../core/errors.js";

/*
 * Internal: the files of a backup. A backup directory holds `cellar.db`, `sql/<kind>/<id>.db`
 * and, written last, `cellar-backup.json`: a directory without it is not a backup (restore
 * refuses it). It is built in a hidden sibling of its destination and renamed into place
 * once complete, so a failed or interrupted backup never looks like one.
 */

export const MANIFEST = "cellar-backup.json";
const FORMAT = 1;
/** Pages of cellar.db copied per turn of the event loop: 2 MiB at SQLite's default page size, a few ms. */
const PAGES_PER_STEP = 512;

export interface Manifest {
  format: typeof FORMAT;
  createdAt: string;
  /** The layout of cellar.db (`PRAGMA user_version`). */
  layout: number;
  /** "live": taken from a running server; "offline": from a data directory no server held. */
  source: "live" | "offline";
  /** Paths relative to the backup, `/`-separated; `cellar.db` first. */
  files: string[];
}

/** What `server.backup` and `cellar backup` report. */
export interface BackupResult {
  /** The backup directory (absolute). */
  dest: string;
  /** Database files copied: cellar.db and one per instance SQL file. */
  files: number;
  bytes: number;
  durationMs: number;
}

/** `sql/<kind>/<file>.db` of every instance SQL file in `dataDir`, in the platform's separators. */
export function listSqlFiles(dataDir: string): string[] {
  const root = join(dataDir, "sql");
  if (!existsSync(root)) return [];
  const files: string[] = [];
  for (const kind of readdirSync(root)) {
    if (!statSync(join(root, kind)).isDirectory()) continue;
    for (const file of readdirSync(join(root, kind))) if (file.endsWith(".db")) files.push(join("sql", kind, file));
  }
  return files;
}

/**
 * Copies a database through a connection that may be the server's own: `VACUUM INTO` writes
 * a consistent snapshot of what is committed, and SQLite refuses it inside a transaction, so
 * it can never copy a handler's uncommitted writes.
 */
export function copyDatabase(db: Database.Database, to: string): void {
  db.prepare("VACUUM INTO ?").run(to);
}

/** Copies an SQL file no connection has open (a hibernated instance's), in one synchronous step. */
export function copyClosedDatabase(from: string, to: string): void {
  const db = new Database(from, { fileMustExist: true, timeout: 0 });
  try {
    // As the server opens it: no shared-memory index, and a server would find it locked.
    db.pragma("locking_mode = EXCLUSIVE");
    copyDatabase(db, to);
  } finally {
    db.close();
  }
}

/**
 * Copies the shared database with SQLite's online backup API, a few pages per turn of the
 * event loop. Writes made through the same connection meanwhile are copied too, so the copy
 * is the database as it was when the last step ran.
 */
export async function copySharedDatabase(db: Database.Database, to: string): Promise<void> {
  const result = await db.backup(to, { progress: () => PAGES_PER_STEP });
  // better-sqlite3 reports a first step that found a write transaction open (SQLITE_BUSY) as
  // a finished copy of nothing, and deletes the file. The server never leaves one open
  // between turns, so this would be a bug; it must not pass for a backup.
  if (result.totalPages === 0 || !existsSync(to)) throw cellarError("BACKUP_FAILED", "SQLite copied nothing of cellar.db");
}

/**
 * Takes the exclusive lock a server takes on `cellar.db`: while it is held no server can
 * start on `dataDir`. Throws `DATA_DIR_IN_USE` if a server holds it.
 */
export function lockDataDir(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, "cellar.db"), { fileMustExist: true, timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN IMMEDIATE; COMMIT");
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw cellarError("DATA_DIR_IN_USE", `A Cellar server is running on "${dataDir}"`, { cause: error });
    }
    throw error;
  }
}

/** True if `dir` is missing or an empty directory. */
export function isEmptyDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0;
}

/**
 * A directory being filled beside `target` (same file system, so the final rename is
 * atomic), named so that it is plainly not a finished backup or data directory.
 */
export class Staging {
  private constructor(
    readonly target: string,
    readonly dir: string,
    readonly replace: boolean,
  ) {}

  /**
   * Checks `target` (its parent exists; it is missing or an empty directory unless
   * `replace`; it is not inside `outside`, the data directory being copied) and makes the
   * staging directory.
   */
  static create(target: string, options: { label: string; outside?: string; replace?: boolean }): Staging {
    const absolute = resolve(target);
    const parent = dirname(absolute);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) {
      throw cellarError("INVALID_ARGUMENT", `The parent directory of "${target}" does not exist`);
    }
    if (existsSync(absolute) && !statSync(absolute).isDirectory()) throw cellarError("INVALID_ARGUMENT", `"${target}" is a file, not a directory`);
    if (!options.replace && !isEmptyDir(absolute)) {
      throw cellarError("DIRECTORY_NOT_EMPTY", `"${target}" exists and is not an empty directory`);
    }
    const inside = options.outside;
    if (inside !== undefined && existsSync(inside)) {
      const real = join(realpathSync(parent), basename(absolute));
      const root = realpathSync(inside);
      if (real === root || real.startsWith(root + sep)) {
        throw cellarError("INVALID_ARGUMENT", `"${target}" is inside the data directory "${inside}"; choose a place outside it`);
      }
    }
    const dir = join(parent, `.${basename(absolute)}.${options.label}-${process.pid}-${randomBytes(4).toString("hex")}`);
    mkdirSync(dir);
    return new Staging(absolute, dir, options.replace === true);
  }

  /** The staged path of `rel`, its directory made. */
  path(rel: string): string {
    const path = join(this.dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    return path;
  }

  /**
   * Flushes every staged file to disk and renames the directory to its target. A target
   * that is not empty (a restore with `--force`) is renamed aside first, then removed.
   */
  async commit(): Promise<void> {
    await syncTree(this.dir);
    if (isEmptyDir(this.target)) {
      if (existsSync(this.target)) rmdirSync(this.target);
      renameSync(this.dir, this.target);
      await syncPath(dirname(this.target), true);
      return;
    }
    // Something was put there since create(): only a restore with --force replaces it.
    if (!this.replace) throw cellarError("DIRECTORY_NOT_EMPTY", `"${this.target}" is no longer empty`);
    const aside = `${this.dir}.old`;
    renameSync(this.target, aside);
    try {
      renameSync(this.dir, this.target);
    } catch (error) {
      renameSync(aside, this.target);
      throw error;
    }
    await syncPath(dirname(this.target), true);
    rmSync(aside, { recursive: true, force: true });
  }

  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writes the manifest: the last file of a backup. */
export async function writeManifest(staging: Staging, manifest: Omit<Manifest, "format" | "createdAt">): Promise<void> {
  const full: Manifest = { format: FORMAT, createdAt: new Date().toISOString(), ...manifest };
  await writeFile(staging.path(MANIFEST), `${JSON.stringify(full, null, 2)}\n`);
}

/** The manifest of a backup directory, checked; throws `BACKUP_INVALID`. */
export function readManifest(dir: string, text: string | undefined): Manifest {
  const invalid = (why: string) => cellarError("BACKUP_INVALID", `"${dir}" is not a complete Cellar backup: ${why}`);
  if (text === undefined) throw invalid(`it has no ${MANIFEST} (not made by a backup, or the backup did not finish)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw invalid(`${MANIFEST} is not JSON`);
  }
  if (manifest?.format !== FORMAT) throw invalid(`${MANIFEST} has format ${String(manifest?.format)}, this Cellar reads ${FORMAT}`);
  const files = manifest.files;
  // Only the names a backup makes: a crafted manifest cannot reach outside the directories.
  const valid = (f: unknown) => f === "cellar.db" || (typeof f === "string" && /^sql\/[^/\\]+\/[^/\\]+\.db$/.test(f) && !f.includes(".."));
  if (!Array.isArray(files) || files[0] !== "cellar.db" || !files.every(valid)) throw invalid(`${MANIFEST} lists unexpected files`);
  return manifest;
}

/** `rel` (platform separators) as the manifest writes it. */
export function manifestName(rel: string): string {
  return rel.split(sep).join("/");
}

/** fsync of every file and directory under `dir` (directories where the platform allows it). */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else await syncPath(path, false);
  }
  await syncPath(dir, true);
}

async function syncPath(path: string, isDirectory: boolean): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } catch (error) {
    // Windows can neither open nor fsync a directory; the files in it were synced.
    if (!isDirectory) throw error;
  } finally {
    await handle?.close();
  }
}
