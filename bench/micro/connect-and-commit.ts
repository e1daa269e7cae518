import * as crypto from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WriteSet } from "../../packages/cellar/src/core/write-set.js";
import { upgradePath } from "../../packages/cellar/src/node/routes.js";
import { SharedDb } from "../../packages/cellar/src/node/sqlite/shared-db.js";
import { SWEEP_SLICE_ROWS } from "../../packages/cellar/src/node/sweep.js";

/**
 * `npm run bench:micro`: the costs bench/README and docs/operations.md quote for single
 * steps of a connect and of a commit, each timed alone in a loop (so cheaper than inside a
 * busy server, where caches are cold: read them as ratios, not as a server's figures).
 */

/** Mean CPU time (user + system) of one call, in µs, after a warm-up of the same size. */
function cpuPerCall(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < n; i++) fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const line = (what: string, us: number) => console.log(`${what.padEnd(58)} ${us.toFixed(3).padStart(8)} µs`);
const secret = crypto.randomBytes(18).toString("base64url");
const hash = (crypto as { hash?: (algorithm: string, data: string, encoding: "base64url") => string }).hash;

line("performance.now() (metrics read it twice per event)", cpuPerCall(2_000_000, () => performance.now()));
line("SHA-256 of a resume secret, createHash", cpuPerCall(200_000, () => crypto.createHash("sha256").update(secret).digest("base64url")));
if (hash) line("SHA-256 of a resume secret, crypto.hash (one-shot)", cpuPerCall(200_000, () => hash("sha256", secret, "base64url")));
line("upgrade path, new URL(target).pathname", cpuPerCall(500_000, () => new URL("/rooms/chat/churn?x=1", "http://localhost").pathname));
line("upgrade path, upgradePath(target)", cpuPerCall(500_000, () => upgradePath("/rooms/chat/churn?x=1")));

const frame = JSON.stringify({ t: "event", event: "chat:message", data: { text: "hello there, a chat message", n: 1 }, seq: 1 });

/** Runs `fn` on a fresh shared database in a directory of its own, removed afterwards. */
function withSharedDb<T>(fn: (db: SharedDb, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "cellar-micro-"));
  const db = new SharedDb(dir, "normal");
  try {
    return fn(db, dir);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ten rooms of `db`; the function logs row `i` (of room `i % 10`) at `at` in the open transaction. */
function tenRooms(db: SharedDb, maxLogEntries?: number): (i: number, at: number) => void {
  const rooms = Array.from({ length: 10 }, (_, i) => db.ensureInstance("chat", `r${i}`));
  const seqs = rooms.map(() => 0);
  return (i, at) => {
    const room = i % rooms.length;
    const writes = new WriteSet();
    writes.pushLog({ seq: ++seqs[room]!, at, to: null, frame });
    db.apply(rooms[room]!, writes, maxLogEntries);
  };
}

/**
 * One group commit of one replay-log row (BEGIN, insert, COMMIT into the WAL), as a logged
 * broadcast makes, through `SharedDb.apply`, round-robin over 10 rooms. `prefill` rows go in
 * first (untimed); with `maxLogEntries` the log is trimmed by count as in a server.
 */
function commitCost(options: { atIndex?: boolean; prefill?: number; maxLogEntries?: number } = {}): number {
  return withSharedDb((db) => {
    // Layouts 1 and 2 had this index; layout 3 trims by age without it.
    if (options.atIndex) db.db.exec("CREATE INDEX replay_log_at ON replay_log (at)");
    const log = tenRooms(db, options.maxLogEntries);
    const commit = (i: number) => {
      db.begin();
      log(i, Date.now());
      db.commit();
    };
    for (let i = 0; i < (options.prefill ?? 0); i++) commit(i);
    return cpuPerCall(10_000, commit);
  });
}
line("commit of one replay-log row (layout 4: appended, its index filled every 1,000 rows)", commitCost());
line("commit of one replay-log row, with an `at` index as layouts 1-2 had", commitCost({ atIndex: true }));
line("the same, 10 rooms past 10,000 rows each, trimmed by count", commitCost({ prefill: 110_000, maxLogEntries: 10_000 }));

/*
 * Why the log (layout 4) is appended to one table for all rooms, with its index filled in
 * batches: the same one-row commits with plain statements, on 2,000 rows per room, in three
 * layouts, with the WAL frames (4 KiB pages) a commit wrote on average. Appends to several
 * rooms' key ranges (layout 3) land inside the b-tree, where SQLite rebalances a full page
 * with its neighbours and the commit writes them all; appends to the end of one table fill
 * its last page and then start a new one. Replaying one room needs its rows by number, and
 * an index kept up on every commit takes the inserts back inside a b-tree; filled every
 * 1,000 rows, it touches each room's index page once for a hundred of its rows.
 */
const LAYOUTS = {
  "keyed by (instance, seq), as replay_log in layout 3": [
    "CREATE TABLE log (instance INTEGER, seq INTEGER, at INTEGER, frame TEXT, PRIMARY KEY (instance, seq)) WITHOUT ROWID",
  ],
  "one table for all rooms (layout 4's, without its index)": ["CREATE TABLE log (id INTEGER PRIMARY KEY, instance INTEGER, seq INTEGER, at INTEGER, frame TEXT)"],
  "one table + an (instance, seq) index kept up on every commit": [
    "CREATE TABLE log (id INTEGER PRIMARY KEY, instance INTEGER, seq INTEGER, at INTEGER, frame TEXT)",
    "CREATE INDEX log_seq ON log (instance, seq)",
  ],
  "one table + an (instance, seq) index filled every 1,000 rows, as layout 4": [
    "CREATE TABLE log (id INTEGER PRIMARY KEY, instance INTEGER, seq INTEGER, at INTEGER, frame TEXT)",
    "CREATE TABLE log_index (instance INTEGER, seq INTEGER, id INTEGER, PRIMARY KEY (instance, seq)) WITHOUT ROWID",
  ],
};
console.log("one-row commits of a log table, plain statements, ~2,000 rows per room:");
for (const [layout, schema] of Object.entries(LAYOUTS)) {
  withSharedDb((db, dir) => {
    for (const statement of schema) db.db.exec(statement);
    const insert = db.db.prepare("INSERT INTO log (instance, seq, at, frame) VALUES (?, ?, ?, ?)");
    const fill = schema.length > 1 && schema[1]!.includes("log_index") ? db.db.prepare("INSERT INTO log_index SELECT instance, seq, id FROM log WHERE id > ?") : undefined;
    let rows = 0;
    const commit = () => {
      db.begin();
      insert.run(rows % 10, Math.floor(rows++ / 10), Date.now(), frame);
      if (fill && rows % 1_000 === 0) fill.run(rows - 1_000);
      db.commit();
    };
    const cpu = cpuPerCall(10_000, commit);
    // Frames counted from the WAL's growth, with automatic checkpoints off for the count.
    db.db.pragma("wal_checkpoint(TRUNCATE)");
    db.db.pragma("wal_autocheckpoint = 0");
    const n = 2_000;
    for (let i = 0; i < n; i++) commit();
    const frames = (statSync(join(dir, "cellar.db-wal")).size - 32) / (4096 + 24);
    line(`  ${layout}: ${(frames / n).toFixed(2)} WAL frames`, cpu);
  });
}

/**
 * The replay log's age trim over a minute of a busy server's log (75,000 rows of 10 rooms,
 * 1,250 logged broadcasts a second): how long it holds the event loop in one transaction,
 * and in the slices the server runs (`Sweep` in sweep.ts; a WAL checkpoint falls into some).
 */
function ageTrim(sliceRows: number): number[] {
  return withSharedDb((db) => {
    const log = tenRooms(db);
    // Two minutes of rows, two per commit; the first minute's are older than the cutoff.
    for (let i = 0; i < 150_000; i += 2) {
      db.begin();
      log(i, Math.floor(i * 0.8));
      log(i + 1, Math.floor((i + 1) * 0.8));
      db.commit();
    }
    const slices: number[] = [];
    for (let more = true; more; ) {
      const started = performance.now();
      more = db.trimLogBefore(60_000, sliceRows).more;
      slices.push(performance.now() - started);
    }
    return slices;
  });
}
const [whole] = ageTrim(Infinity);
const slices = ageTrim(SWEEP_SLICE_ROWS).sort((a, b) => a - b);
console.log(`age trim of 75,000 rows in one transaction: ${whole!.toFixed(1)} ms of event loop`);
console.log(
  `the same in ${slices.length} slices of ${SWEEP_SLICE_ROWS}: median ${slices[slices.length >> 1]!.toFixed(1)} ms, longest ${slices.at(-1)!.toFixed(1)} ms, ` +
    `all ${slices.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
);
