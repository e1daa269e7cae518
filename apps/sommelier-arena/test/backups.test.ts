import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDataDir } from "cellar/testing";
import { scheduleBackups } from "../src/server/backups.js";
import { createSession, newHost, startArena, type Arena } from "./helpers.js";

/* The scheduled backups `npm start` runs with BACKUP_DIR: a new backup each period, the newest kept. */

let arena: Arena | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  await arena?.close();
  arena = stop = undefined;
});

describe("scheduled backups", () => {
  it("takes a backup every period into its own folder and keeps the newest `keep`", async () => {
    arena = await startArena();
    await createSession(arena.url, newHost());
    const dir = tempDataDir("arena-backups-");
    stop = scheduleBackups(arena.server, { dir, everyMs: 1000, keep: 1 });
    const complete = () => readdirSync(dir).filter((name) => !name.startsWith(".") && existsSync(join(dir, name, "cellar-backup.json")));

    const first = await vi.waitFor(() => complete()[0] ?? Promise.reject(new Error("no backup yet")), { timeout: 5000, interval: 50 });
    expect(existsSync(join(dir, first, "cellar.db"))).toBe(true);
    // The next one replaces it: one backup kept, a newer one.
    await vi.waitFor(() => expect(complete()).toEqual([expect.not.stringMatching(first)]), { timeout: 5000, interval: 50 });
  });

  it("refuses a period under a second and a keep under one", () => {
    const server = {} as never;
    expect(() => scheduleBackups(server, { dir: "x", everyMs: 10 })).toThrow(/everyMs/);
    expect(() => scheduleBackups(server, { dir: "x", everyMs: 1000, keep: 0 })).toThrow(/keep/);
  });
});
