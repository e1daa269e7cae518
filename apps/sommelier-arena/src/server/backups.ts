/**
 * Scheduled online backups of a running arena: one `server.backup()` every `everyMs` into a
 * new folder of `dir` named after its time, keeping the newest `keep` (older ones are
 * removed once a newer backup is complete).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { CellarServer } from "cellar/node";

export interface BackupSchedule {
  /** Where backups go: one folder per backup, `arena-<ISO time>`. */
  dir: string;
  everyMs: number;
  /** How many backups to keep (default 24). */
  keep?: number;
}

const PREFIX = "arena-";

/**
 * Starts the schedule; the returned function stops it (and waits for a backup in progress).
 *
 * @example
 * const stop = scheduleBackups(server, { dir: "/var/backups/arena", everyMs: 3_600_000 });
 */
export function scheduleBackups(server: CellarServer, schedule: BackupSchedule): () => Promise<void> {
  const keep = schedule.keep ?? 24;
  if (!(schedule.everyMs >= 1000)) throw new RangeError("backups: everyMs must be at least 1000");
  if (!(Number.isInteger(keep) && keep >= 1)) throw new RangeError("backups: keep must be an integer of at least 1");
  let running: Promise<void> | undefined;
  const once = async () => {
    // The time in the name sorts like the time itself (":" is not allowed on every file system).
    const dest = join(schedule.dir, `${PREFIX}${new Date().toISOString().replace(/:/g, "-")}`);
    try {
      const result = await server.backup(dest);
      server.log.info({ dest: result.dest, bytes: result.bytes, ms: Math.round(result.durationMs) }, "scheduled backup done");
      const names = (await readdir(schedule.dir)).filter((name) => name.startsWith(PREFIX)).sort();
      for (const old of names.slice(0, Math.max(0, names.length - keep))) {
        await rm(join(schedule.dir, old), { recursive: true, force: true });
      }
    } catch (error) {
      server.log.error({ err: error, dest }, "scheduled backup failed");
    }
  };
  const timer = setInterval(() => {
    if (!running) running = once().finally(() => (running = undefined));
  }, schedule.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
