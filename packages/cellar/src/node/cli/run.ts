import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CellarError, cellarError } from "../../core/errors.js";
import { askServer } from "../admin-socket.js";
import type { BackupResult } from "../backup/files.js";
import { backupStoppedDataDir } from "../backup/offline-backup.js";
import { restoreBackup } from "../backup/restore.js";

export const USAGE = `Usage:
  cellar backup <dataDir> <dest>                  copy a data directory into <dest> (a new or empty
                                                  directory), through the server if one runs on it
  cellar restore <backupDir> <dataDir> [--force]  put a backup in place of a data directory (empty,
                                                  or replaced with --force); refused while a server runs on it
  cellar help`;

/** A command line that does not parse: the usage follows the message. */
class UsageError extends CellarError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Internal: the `cellar` command. Returns the exit code: 0 done, 1 failed (the message names
 * the error code), 2 bad arguments (nothing was changed).
 */
export async function runCli(argv: readonly string[], io: CliOutput): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "backup":
        return await backup(rest, io);
      case "restore":
        return await restore(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      case undefined:
        throw new UsageError("a command is missing");
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (!(error instanceof CellarError)) {
      io.err(`cellar: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
    io.err(`cellar: ${error.code}: ${error.message}`);
    if (error instanceof UsageError) io.err(USAGE);
    return error.code === "INVALID_ARGUMENT" ? 2 : 1;
  }
}

async function backup(args: string[], io: CliOutput): Promise<number> {
  const [dataDir, dest] = positionals("backup", args, ["dataDir", "dest"]);
  if (!existsSync(join(dataDir, "cellar.db"))) {
    throw cellarError("INVALID_ARGUMENT", `"${dataDir}" is not a Cellar data directory (it has no cellar.db)`);
  }
  const answer = await askServer(dataDir, { op: "backup", dest: resolve(dest) });
  let result: BackupResult;
  let how: string;
  if (answer) {
    if (!answer.ok) throw new CellarError(answer.error.code, answer.error.message);
    result = answer.result as BackupResult;
    how = "taken by the server running on it";
  } else {
    result = await backupStoppedDataDir(dataDir, dest).catch((error: unknown) => {
      if (error instanceof CellarError && error.code === "DATA_DIR_IN_USE") {
        throw cellarError("DATA_DIR_IN_USE", `${error.message}, and it has no admin socket to ask for a backup (adminSocket: false, or a path too long for a socket: see its log)`);
      }
      throw error;
    });
    how = "no server was running on it";
  }
  io.out(`Backed up ${dataDir} to ${result.dest} (${how}): ${result.files} database files, ${formatBytes(result.bytes)}, in ${result.durationMs} ms`);
  return 0;
}

async function restore(args: string[], io: CliOutput): Promise<number> {
  const { values, positionals: given } = parse("restore", args, { force: { type: "boolean" } });
  const [backupDir, dataDir] = positionals("restore", given, ["backupDir", "dataDir"]);
  const result = await restoreBackup(backupDir, dataDir, { force: values.force === true });
  io.out(`Restored ${backupDir} into ${result.dataDir}${result.replaced ? " (replacing what was there)" : ""}: ${result.files} database files, ${formatBytes(result.bytes)}, each passed PRAGMA integrity_check`);
  io.out("A server started on it recovers as after a crash at the moment the backup was taken.");
  return 0;
}

function parse(command: string, args: string[], options: Record<string, { type: "boolean" }>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

/** Exactly the two named positional arguments, and no option. */
function positionals(command: string, args: string[], names: [string, string]): [string, string] {
  const { positionals: given } = parse(command, args, {});
  if (given.length !== names.length || given.some((a) => a === "")) {
    throw new UsageError(`${command} takes ${names.map((n) => `<${n}>`).join(" ")}`);
  }
  return given as [string, string];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
