import * as crypto from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WriteSet } from "../../packages/cellar/src/core/write-set.js";
import { upgradePath } from "../../packages/cellar/src/node/routes.js";
import { SharedDb } from "../../packages/cellar/src/node/sqlite/shared-db.js";

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

/** One group commit of one replay-log row (BEGIN, insert, COMMIT into the WAL), as a logged broadcast makes. */
function commitCost(withAtIndex: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), "cellar-micro-"));
  const db = new SharedDb(dir, "normal");
  try {
    // Layouts 1 and 2 had this index; layout 3 trims by age without it.
    if (withAtIndex) db.db.exec("CREATE INDEX replay_log_at ON replay_log (at)");
    const rooms = Array.from({ length: 10 }, (_, i) => db.ensureInstance("chat", `r${i}`));
    const seqs = rooms.map(() => 0);
    const frame = JSON.stringify({ t: "event", event: "chat:message", data: { text: "hello there, a chat message", n: 1 }, seq: 1 });
    return cpuPerCall(10_000, (i) => {
      const room = i % rooms.length;
      const writes = new WriteSet();
      writes.pushLog({ seq: ++seqs[room]!, at: Date.now(), to: null, frame });
      db.begin();
      db.apply(rooms[room]!, writes);
      db.commit();
    });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
line("commit of one replay-log row (layout 3: the table alone)", commitCost(false));
line("commit of one replay-log row, with the `at` index of layouts 1-2", commitCost(true));
