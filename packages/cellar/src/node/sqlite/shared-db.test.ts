import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { WriteSet } from "../../core/write-set.js";
import { tempDataDir } from "../../testing/test-server.js";
import { SCHEMA_VERSION } from "./schema.js";
import { INSTANCE_LOG_SQL, KV_PURGE, LOG_INDEX_BATCH, SharedDb } from "./shared-db.js";

// Reads that hide expired KV entries are tested through rooms in test/kv.test.ts; the purge,
// which runs on a timer, is tested here with explicit times.
describe("purging expired KV entries", () => {
  it("deletes the expired ones, and only once", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      db.kvWriteNow("NS", "gone", { value: "a", expiresAt: 1_000, metadata: null });
      db.kvWriteNow("NS", "kept", { value: "b", expiresAt: 5_000, metadata: null });
      db.kvWriteNow("NS", "forever", { value: "c", expiresAt: null, metadata: null });
      expect(db.purgeExpiredKv(2_000)).toEqual({ deleted: 1, more: false });
      expect(db.purgeExpiredKv(2_000)).toEqual({ deleted: 0, more: false });
      expect(db.kvGet("NS", "kept", 0)?.value).toBe("b");
      expect(db.kvGet("NS", "gone", 0)).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it("deletes in slices, the longest expired first, and says when a slice was full", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      for (const [key, expiresAt] of [["c", 300], ["a", 100], ["later", 9_000], ["b", 200]] as const) {
        db.kvWriteNow("NS", key, { value: key, expiresAt, metadata: null });
      }
      const left = () => ["a", "b", "c", "later"].filter((key) => db.kvGet("NS", key, 0) !== undefined);
      expect(db.purgeExpiredKv(1_000, 2)).toEqual({ deleted: 2, more: true });
      expect(left()).toEqual(["c", "later"]);
      // A full slice that took the last expired entry: the next one finds none.
      expect(db.purgeExpiredKv(1_000, 1)).toEqual({ deleted: 1, more: true });
      expect(db.purgeExpiredKv(1_000, 1)).toEqual({ deleted: 0, more: false });
      expect(left()).toEqual(["later"]);
    } finally {
      db.close();
    }
  });

  it("finds expired entries through an index, without reading those that never expire", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const plan = (db.db.prepare(`EXPLAIN QUERY PLAN ${KV_PURGE}`).all(0, 10) as Array<{ detail: string }>).map((row) => row.detail);
      expect(plan).toContainEqual(expect.stringMatching(/USING (COVERING )?INDEX kv_expiry/));
      expect(plan).not.toContainEqual(expect.stringMatching(/^SCAN/));
    } finally {
      db.close();
    }
  });
});

function logged(seqs: Array<[seq: number, at: number]>): WriteSet {
  const writes = new WriteSet();
  for (const [seq, at] of seqs) writes.pushLog({ seq, at, to: null, frame: `{"t":"event","seq":${seq}}` });
  return writes;
}

function applied(db: SharedDb, instance: number, writes: WriteSet, maxLogEntries?: number): void {
  db.begin();
  db.apply(instance, writes, maxLogEntries);
  db.commit();
}

describe("the replay log", () => {
  it("trims by age, raising the floor; the last number stays known when every row is gone", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const a = db.ensureInstance("feed", "a");
      const b = db.ensureInstance("feed", "b");
      applied(db, a, logged([[1, 100]]));
      applied(db, b, logged([[7, 150]]));
      applied(db, a, logged([[2, 200], [3, 300]]));
      expect(db.trimLogBefore(250).deleted).toBe(3);
      expect(db.logHead(a)).toEqual({ seq: 3, floor: 2 });
      expect(db.replay(a, 0, 10).map((r) => r.seq)).toEqual([3]);
      expect(db.logHead(b)).toEqual({ seq: 7, floor: 7 });
      expect(db.replay(b, 0, 10)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("trims by age from the start only: an entry stamped later (the clock went back after it) keeps the ones after it", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const a = db.ensureInstance("feed", "a");
      applied(db, a, logged([[1, 100], [2, 400], [3, 200], [4, 300]]));
      expect(db.trimLogBefore(250).deleted).toBe(1);
      expect(db.logHead(a)).toEqual({ seq: 4, floor: 1 });
      expect(db.replay(a, 0, 10).map((r) => r.seq)).toEqual([2, 3, 4]);
      expect(db.trimLogBefore(450).deleted).toBe(3);
      expect(db.logHead(a)).toEqual({ seq: 4, floor: 4 });
    } finally {
      db.close();
    }
  });

  it("trims by age in slices of at most maxRows rows from the oldest, across instances, raising each one's floor", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const a = db.ensureInstance("feed", "a");
      const b = db.ensureInstance("feed", "b");
      const c = db.ensureInstance("feed", "c");
      for (const seq of [1, 2, 3]) {
        applied(db, a, logged([[seq, seq * 10]]));
        applied(db, b, logged([[seq, seq * 10]]));
      }
      applied(db, a, logged([[4, 40], [5, 50], [6, 500]]));
      applied(db, c, logged([[1, 600]]));
      const slices = [db.trimLogBefore(100, 2)];
      // The first slice took the two oldest rows, one of each room.
      expect([db.logHead(a).floor, db.logHead(b).floor]).toEqual([1, 1]);
      while (slices.at(-1)!.more) slices.push(db.trimLogBefore(100, 2));
      expect(slices.map((slice) => slice.deleted)).toEqual([2, 2, 2, 2, 0]);
      expect(db.logHead(a)).toEqual({ seq: 6, floor: 5 });
      expect(db.replay(a, 0, 10).map((r) => r.seq)).toEqual([6]);
      expect(db.logHead(b)).toEqual({ seq: 3, floor: 3 });
      expect(db.replay(c, 0, 10).map((r) => r.seq)).toEqual([1]);
    } finally {
      db.close();
    }
  });

  it("keeps at most maxLogEntries numbers per instance, trimming in steps", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const a = db.ensureInstance("feed", "a");
      for (let seq = 1; seq <= 40; seq++) applied(db, a, logged([[seq, seq]]), 16);
      const { floor } = db.logHead(a);
      // Trimmed every 2 numbers (16 / 8): what is left is 16 or 17 entries.
      expect(floor).toBeGreaterThanOrEqual(23);
      expect(db.replay(a, 0, 100).map((r) => r.seq)).toEqual(Array.from({ length: 40 - floor }, (_, i) => floor + 1 + i));
    } finally {
      db.close();
    }
  });
});

// The log's index is filled every LOG_INDEX_BATCH rows: these cross that boundary.
describe("the replay log's index, filled in batches", () => {
  /** `count` entries, alternating between rooms a and b (a gets the odd rows), one commit each. */
  function filled(db: SharedDb, count: number): { a: number; b: number } {
    const a = db.ensureInstance("feed", "a");
    const b = db.ensureInstance("feed", "b");
    for (let i = 0; i < count; i++) applied(db, i % 2 === 0 ? a : b, logged([[Math.floor(i / 2) + 1, i]]));
    return { a, b };
  }
  const indexed = (db: SharedDb) => db.db.prepare("SELECT count(*) FROM replay_index").pluck().get() as number;
  const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it("finds an instance's entries the same whether they are indexed yet or not, before and after a restart", () => {
    const dir = tempDataDir();
    let db = new SharedDb(dir, "normal");
    const half = LOG_INDEX_BATCH / 2;
    const { a, b } = filled(db, LOG_INDEX_BATCH + 20);
    try {
      // The first LOG_INDEX_BATCH rows are indexed, the last 20 not yet.
      expect(indexed(db)).toBe(LOG_INDEX_BATCH);
      for (let restarted = 0; restarted < 2; restarted++) {
        expect(db.counts(0).logRows).toBe(LOG_INDEX_BATCH + 20);
        expect(db.logHead(a)).toEqual({ seq: half + 10, floor: 0 });
        expect(db.replay(a, half - 3, half + 4).map((r) => r.seq)).toEqual(numbers(half - 2, half + 4));
        expect(db.replay(b, 0, 1e9).map((r) => r.frame)).toEqual(numbers(1, half + 10).map((seq) => `{"t":"event","seq":${seq}}`));
        expect(db.recentLog(a, 3).map((r) => [r.seq, r.at])).toEqual([
          [half + 10, LOG_INDEX_BATCH + 18],
          [half + 9, LOG_INDEX_BATCH + 16],
          [half + 8, LOG_INDEX_BATCH + 14],
        ]);
        expect(db.recentLog(b, 25).at(-1)?.seq).toBe(half - 14);
        db.close();
        db = new SharedDb(dir, "normal");
        // Opening indexes what a crash (or a close) left unindexed.
        expect(indexed(db)).toBe(LOG_INDEX_BATCH + 20);
      }
    } finally {
      db.close();
    }
  });

  it("trims by count entries on both sides of the index's end", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const { a } = filled(db, LOG_INDEX_BATCH - 2);
      // Then room a alone, past the index fill, keeping at most 8 numbers.
      const last = LOG_INDEX_BATCH / 2 + 10;
      for (let seq = LOG_INDEX_BATCH / 2; seq <= last; seq++) applied(db, a, logged([[seq, seq]]), 8);
      const { floor } = db.logHead(a);
      expect(floor).toBeGreaterThanOrEqual(last - 9);
      expect(db.replay(a, 0, 1e9).map((r) => r.seq)).toEqual(numbers(floor + 1, last));
      expect(db.db.prepare("SELECT count(*) FROM replay_log WHERE instance = ?").pluck().get(a)).toBe(last - floor);
    } finally {
      db.close();
    }
  });

  it("indexes nothing a rolled-back transaction wrote, and what commits after it", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const { a } = filled(db, LOG_INDEX_BATCH - 2);
      const next = LOG_INDEX_BATCH / 2;
      // Enough rows to fill the index inside the transaction that is then rolled back.
      db.begin();
      db.apply(a, logged([[next, 0], [next + 1, 0], [next + 2, 0]]));
      expect(indexed(db)).toBe(LOG_INDEX_BATCH + 1);
      db.rollback();
      expect(indexed(db)).toBe(0);
      applied(db, a, logged([[next, 1]]));
      expect(db.replay(a, next - 2, 1e9).map((r) => r.seq)).toEqual([next - 1, next]);
      expect(db.logHead(a).seq).toBe(next);
    } finally {
      db.close();
    }
  });

  it("keeps numbering rows past the index's end after the age trim emptied the log", () => {
    const dir = tempDataDir();
    let db = new SharedDb(dir, "normal");
    try {
      const { a } = filled(db, LOG_INDEX_BATCH);
      expect(db.trimLogBefore(1e9).deleted).toBe(LOG_INDEX_BATCH);
      db.close();
      db = new SharedDb(dir, "normal");
      applied(db, a, logged([[LOG_INDEX_BATCH, 1]]));
      expect(db.replay(a, 0, 1e9).map((r) => r.seq)).toEqual([LOG_INDEX_BATCH]);
      expect(db.logHead(a)).toEqual({ seq: LOG_INDEX_BATCH, floor: LOG_INDEX_BATCH / 2 });
    } finally {
      db.close();
    }
  });

  it("reads an instance's entries through the index and the log's end, never the whole log", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      for (const [name, sql] of Object.entries(INSTANCE_LOG_SQL)) {
        const plan = (db.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ instance: 1, after: 0, upTo: 10, limit: 5 }) as Array<{ detail: string }>).map((row) => row.detail);
        expect(plan, name).not.toContainEqual(expect.stringMatching(/^SCAN (replay_log|replay_index|l|i)\b/));
      }
    } finally {
      db.close();
    }
  });
});

describe("sessions stored by an earlier run", () => {
  it("at startup: gone past the window (with anonymous state no session owns), the others away since now", () => {
    const db = new SharedDb(tempDataDir(), "normal");
    try {
      const room = db.ensureInstance("feed", "a");
      const writes = new WriteSet();
      writes.setSession("held", { secretHash: "h1", userId: null, channels: null });
      writes.setSession("old", { secretHash: "h2", userId: null, channels: null });
      writes.setState("c:held", "k", "1");
      writes.setState("c:old", "k", "2");
      writes.setState("c:never", "k", "3");
      writes.setState("u:ann", "k", "4");
      applied(db, room, writes);
      db.recoverSessions(1_000, 0); // a first restart: both were held, both away since 1,000
      const resumed = new WriteSet();
      resumed.setSession("old", { secretHash: "h2", userId: null, channels: null }); // "old" resumed in that run
      applied(db, room, resumed);
      db.recoverSessions(5_000, 2_000); // a second restart: "held" is away since 1,000, past the window
      expect(db.session(room, "held")).toBeUndefined();
      expect(db.session(room, "old")?.detachedAt).toBe(5_000);
      expect(db.readState(room, "c:held").size).toBe(0);
      expect(db.readState(room, "c:never").size).toBe(0);
      expect(db.readState(room, "c:old").get("k")).toBe("2");
      expect(db.readState(room, "u:ann").get("k")).toBe("4");
      expect(db.expiredSessions(5_001).map((r) => r.connectionId)).toEqual(["old"]);
    } finally {
      db.close();
    }
  });
});

/** A data directory whose `cellar.db` an older (or newer) Cellar wrote: `sql`, numbered `layout`. */
function writtenAs(layout: number, sql: string): string {
  const dir = tempDataDir();
  const raw = new Database(join(dir, "cellar.db"));
  raw.exec(sql);
  raw.pragma(`user_version = ${layout}`);
  raw.close();
  return dir;
}

describe("layouts", () => {
  it("steps a layout 1 file forward in place, keeping its data", () => {
    const dir = writtenAs(
      1,
      `CREATE TABLE instances (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,
         bytes INTEGER NOT NULL DEFAULT 0, sql_turn INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, name));
       CREATE TABLE replay_log (instance INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, dest TEXT, frame TEXT NOT NULL,
         PRIMARY KEY (instance, seq)) WITHOUT ROWID;
       CREATE INDEX replay_log_at ON replay_log (at);
       INSERT INTO instances (kind, name) VALUES ('feed', 'a');`,
    );
    const db = new SharedDb(dir, "normal");
    try {
      expect(db.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      const a = db.instanceId("feed", "a")!;
      expect(db.logHead(a)).toEqual({ seq: 0, floor: 0 });
      applied(db, a, logged([[1, 1]]));
      expect(db.logHead(a).seq).toBe(1);
    } finally {
      db.close();
    }
  });

  it("steps a layout 2 file forward: the replay log loses its at index and keeps its entries", () => {
    const dir = writtenAs(
      2,
      `CREATE TABLE instances (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,
         sql_turn INTEGER NOT NULL DEFAULT 0, log_floor INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, name));
       CREATE TABLE replay_log (instance INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, dest TEXT, frame TEXT NOT NULL,
         PRIMARY KEY (instance, seq)) WITHOUT ROWID;
       CREATE INDEX replay_log_at ON replay_log (at);
       INSERT INTO instances (kind, name) VALUES ('feed', 'a');
       INSERT INTO replay_log VALUES (1, 1, 100, NULL, '{"t":"event","seq":1}'), (1, 2, 200, NULL, '{"t":"event","seq":2}');`,
    );
    const db = new SharedDb(dir, "normal");
    try {
      expect(db.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'replay_log' AND sql IS NOT NULL").all()).toEqual([]);
      const a = db.instanceId("feed", "a")!;
      expect(db.replay(a, 0, 10).map((r) => r.seq)).toEqual([1, 2]);
      expect(db.trimLogBefore(150).deleted).toBe(1);
      expect(db.logHead(a)).toEqual({ seq: 2, floor: 1 });
    } finally {
      db.close();
    }
  });

  it("steps a layout 3 file forward: the log keyed by room becomes one table in order of time, and is indexed", () => {
    const dir = writtenAs(
      3,
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
       CREATE TABLE instances (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,
         sql_turn INTEGER NOT NULL DEFAULT 0, log_floor INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, name));
       CREATE TABLE replay_log (instance INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, dest TEXT, frame TEXT NOT NULL,
         PRIMARY KEY (instance, seq)) WITHOUT ROWID;
       INSERT INTO instances (kind, name) VALUES ('feed', 'a'), ('feed', 'b');
       INSERT INTO replay_log VALUES (1, 1, 100, NULL, 'a1'), (1, 2, 300, '+x', 'a2'), (2, 1, 200, NULL, 'b1'), (2, 2, 400, NULL, 'b2');`,
    );
    const db = new SharedDb(dir, "normal");
    try {
      expect(db.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.db.prepare("SELECT frame FROM replay_log ORDER BY id").pluck().all()).toEqual(["a1", "b1", "a2", "b2"]);
      expect(db.db.prepare("SELECT count(*) FROM replay_index").pluck().get()).toBe(4);
      const [a, b] = [db.instanceId("feed", "a")!, db.instanceId("feed", "b")!];
      expect(db.replay(a, 0, 10)).toEqual([
        { seq: 1, to: null, frame: "a1" },
        { seq: 2, to: "+x", frame: "a2" },
      ]);
      expect(db.trimLogBefore(250).deleted).toBe(2);
      expect([db.logHead(a), db.logHead(b)]).toEqual([
        { seq: 2, floor: 1 },
        { seq: 2, floor: 1 },
      ]);
      applied(db, b, logged([[3, 500]]));
      expect(db.replay(b, 1, 10).map((r) => r.seq)).toEqual([2, 3]);
    } finally {
      db.close();
    }
  });

  it("refuses a newer layout and leaves the file as it was (an older release meets a newer data directory)", () => {
    const dir = writtenAs(SCHEMA_VERSION + 1, "CREATE TABLE future (x INTEGER);");
    expect(() => new SharedDb(dir, "normal")).toThrow(`written by a newer Cellar (layout ${SCHEMA_VERSION + 1}, this one reads ${SCHEMA_VERSION})`);
    const raw = new Database(join(dir, "cellar.db"));
    try {
      expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
      expect(raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()).toEqual(["future"]);
    } finally {
      raw.close();
    }
  });
});
