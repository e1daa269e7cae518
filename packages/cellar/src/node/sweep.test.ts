import { describe, expect, it } from "vitest";
import type { Logger } from "../core/ports.js";
import { WriteSet } from "../core/write-set.js";
import { tempDataDir } from "../testing/test-server.js";
import { Sweep } from "./sweep.js";
import { SharedDb } from "./sqlite/shared-db.js";

/** A database whose three rooms hold `old` entries each from before t = 1,000 and one after, committed in time order. */
function withLog(old: number): { db: SharedDb; rooms: number[] } {
  const db = new SharedDb(tempDataDir(), "normal");
  const rooms = ["a", "b", "c"].map((name) => db.ensureInstance("feed", name));
  for (let seq = 1; seq <= old + 1; seq++) {
    db.begin();
    for (const room of rooms) {
      const writes = new WriteSet();
      writes.pushLog({ seq, at: seq <= old ? seq : 5_000, to: null, frame: "{}" });
      db.apply(room, writes);
    }
    db.commit();
  }
  return { db, rooms };
}

/** The replay log's age trim, as the server runs it, in slices of `rows`. */
function logTrim(db: SharedDb, log: Logger, rows: number): Sweep {
  return new Sweep("trimming the replay log", log, (cutoff, maxRows) => db.trimLogBefore(cutoff, maxRows), rows);
}

function logger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (_fields, message) => errors.push(message) };
}

describe("a sweep (the replay log's age trim, the KV purge)", () => {
  it("trims a pass in slices, letting the event loop run between them", async () => {
    const { db, rooms } = withLog(50);
    try {
      const trimmer = logTrim(db, logger(), 20);
      let passing = true;
      let turnsDuringPass = 0;
      const tick = () => {
        if (!passing) return;
        turnsDuringPass++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const trimmed = await trimmer.run(1_000);
      passing = false;
      expect(trimmed).toBe(150);
      // 150 rows in slices of 20: eight slices, with other callbacks run between them.
      expect(turnsDuringPass).toBeGreaterThanOrEqual(7);
      for (const room of rooms) expect(db.logHead(room)).toEqual({ seq: 51, floor: 50 });
    } finally {
      db.close();
    }
  });

  it("runs one pass at a time: asked again meanwhile, it answers with the pass under way", async () => {
    const { db } = withLog(30);
    try {
      const trimmer = logTrim(db, logger(), 20);
      const first = trimmer.run(1_000);
      expect(trimmer.run(1_000)).toBe(first);
      expect(await first).toBe(90);
      expect(await trimmer.run(1_000)).toBe(0);
    } finally {
      db.close();
    }
  });

  it("ends a pass under way when stopped, and logs a slice that fails instead of throwing", async () => {
    const stopped = withLog(30);
    const trimmer = logTrim(stopped.db, logger(), 20);
    const pass = trimmer.run(1_000);
    trimmer.stop();
    expect(await pass).toBe(20);
    stopped.db.close();

    const failing = withLog(30);
    const log = logger();
    const pass2 = logTrim(failing.db, log, 20).run(1_000);
    failing.db.close();
    expect(await pass2).toBe(20);
    expect(log.errors).toEqual(["trimming the replay log failed"]);
  });

  it("purges expired KV entries in slices until none is left", async () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      for (let i = 0; i < 45; i++) db.kvWriteNow("NS", `old${i}`, { value: "v", expiresAt: 100 + i, metadata: null });
      db.kvWriteNow("NS", "fresh", { value: "v", expiresAt: 9_000, metadata: null });
      const slices: number[] = [];
      const purge = new Sweep("purging expired KV entries", logger(), (cutoff, maxRows) => {
        const slice = db.purgeExpiredKv(cutoff, maxRows);
        slices.push(slice.deleted);
        return slice;
      }, 20);
      expect(await purge.run(1_000)).toBe(45);
      expect(slices).toEqual([20, 20, 5]);
      expect(db.kvList("NS", "", undefined, 100, 0).map(([key]) => key)).toEqual(["fresh"]);
    } finally {
      db.close();
    }
  });
});
