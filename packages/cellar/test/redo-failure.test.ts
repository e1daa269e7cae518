import { afterEach, describe, expect, it } from "vitest";
import { CellarError, defineRoom } from "cellar";
import { startTestServer, type TestServer } from "cellar/testing";
import { SharedDb } from "../src/node/sqlite/shared-db.js";
import { NodeInstanceStore } from "../src/node/instance-store.js";

/*
 * Simulates a failing COMMIT of cellar.db (disk full / I/O error) after the instance's SQL
 * file committed, with the first redo retry failing too (the same disk is still full). A
 * real disk cannot fail one file's commit and not the other's on cue, hence the patching.
 */
let t: TestServer | undefined;
const origCommit = SharedDb.prototype.commit;
const origRedo = NodeInstanceStore.prototype.applyRedo;
let failCommit = false;
let failRedo = false;
SharedDb.prototype.commit = function (this: SharedDb) {
  if (failCommit) {
    failCommit = false;
    throw new Error("disk I/O error (simulated)");
  }
  return origCommit.call(this);
};
NodeInstanceStore.prototype.applyRedo = function (this: NodeInstanceStore) {
  if (failRedo) {
    failRedo = false;
    throw new Error("disk I/O error (simulated)");
  }
  return origRedo.call(this);
};
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const mix = defineRoom({ name: "mix", state: {} });
mix.on("w", async (ctx, v) => {
  ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (v)");
  ctx.storage.sql.exec("INSERT INTO t (v) VALUES (?)", v as number);
  await ctx.storage.put(`k${v}`, v);
  return v;
});
mix.on("read", async (ctx, v) => ({
  sqlRow: ctx.storage.sql.exec("SELECT v FROM t WHERE v = ?", v as number).toArray().length === 1,
  kvKey: (await ctx.storage.get(`k${v}`)) !== undefined,
}));

describe("a shared COMMIT that fails after the SQL file committed", () => {
  // The SQL file is the commit point: once it committed, the handler has happened. Its
  // answer waits until the shared database takes the redo record, and then both halves are there.
  it("holds the ack until the redo record applies, then has applied everything", async () => {
    t = await startTestServer({ rooms: [mix] });
    const c = await t.connect("mix", "m");
    expect(await c.request("w", 1)).toBe(1);
    failCommit = failRedo = true;
    expect(await c.request("w", 2)).toBe(2);
    expect(await c.request("read", 2)).toEqual({ sqlRow: true, kvKey: true });
    t.server.hibernate("mix", "m");
    expect(await c.request("read", 2)).toEqual({ sqlRow: true, kvKey: true });
  });

  it("keeps the handler's writes all or nothing through later SQL commits", async () => {
    t = await startTestServer({ rooms: [mix] });
    const c = await t.connect("mix", "m");
    expect(await c.request("w", 1)).toBe(1);
    failCommit = failRedo = true;
    await c.request("w", 2);
    expect(await c.request("w", 3)).toBe(3);
    t.server.hibernate("mix", "m");
    const after = (await c.request("read", 2)) as { sqlRow: boolean; kvKey: boolean };
    expect(after).toEqual({ sqlRow: true, kvKey: true });
  });
});
