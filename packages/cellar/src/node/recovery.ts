import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { StorageLimits } from "../core/limits.js";
import { NodeInstanceStore } from "./instance-store.js";
import type { Durability, SharedDb } from "./sqlite/shared-db.js";

/**
 * After an unclean shutdown, applies the redo records of every instance SQL file to the
 * shared database (see sql-file.ts), so alarms and KV writes of a commit cut between the two
 * files are in place before anything runs. Returns how many files were checked.
 */
export function recoverSqlFiles(shared: SharedDb, dataDir: string, durability: Durability, limits: StorageLimits): number {
  const root = join(dataDir, "sql");
  if (!existsSync(root)) return 0;
  let count = 0;
  for (const kind of readdirSync(root)) {
    for (const file of readdirSync(join(root, kind))) {
      if (!file.endsWith(".db")) continue;
      const name = Buffer.from(file.slice(0, -3), "base64url").toString();
      const store = new NodeInstanceStore(shared, kind, name, dataDir, durability, limits);
      try {
        store.open();
      } finally {
        store.close();
      }
      count++;
    }
  }
  return count;
}
