import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineRoom } from "cellar";
import type { CellarClient } from "cellar/client";
import type { BackupResult } from "cellar/node";
import { startTestServer, tempDataDir, type TestServer, type TestServerOptions } from "cellar/testing";
import { Staging } from "../src/node/backup/files.js";
import { restoreBackup } from "../src/node/backup/restore.js";
import { ledger, tally } from "./fixtures/backup-rooms.js";
import { latches } from "./helpers/latches.js";
import { expectLedger, LedgerLoad } from "./helpers/ledger-load.js";

/*
 * server.backup() on a running server (real sockets, real SQLite files): the copy holds
 * everything acknowledged before it began and is one moment of the whole data directory,
 * whatever the clients keep doing meanwhile. The `cellar` command is tested in
 * backup-cli.test.ts.
 */

const gate = latches();
/** Holds its SQL transaction open until the test releases `name`. */
const slow = defineRoom({ name: "slow", state: {} });
slow.on("hold", async (ctx, name) => {
  ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (x)");
  ctx.storage.sql.exec("INSERT INTO t VALUES (1)");
  gate.release(`${name as string}:holding`);
  await gate.wait(name as string);
  return true;
});
/** An SQL write that tells the test `name` once it ran. */
slow.on("write", (ctx, name) => {
  ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (x)");
  ctx.storage.sql.exec("INSERT INTO t VALUES (1)");
  gate.release(name as string);
  return true;
});
slow.on("rows", (ctx) => {
  ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (x)");
  return ctx.storage.sql.exec<{ c: number }>("SELECT count(*) AS c FROM t").one().c;
});

const rooms = [ledger, tally, slow];
let servers: TestServer[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const t of servers) await t.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  servers = [];
  dirs = [];
});

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  const t = await startTestServer({ rooms, rateLimit: { eventsPerSecond: 1e6, burst: 1e6 }, ...options });
  servers.push(t);
  if (options.dataDir === undefined) dirs.push(t.dataDir);
  return t;
}

/** A path in a fresh temporary directory, not yet made. */
function freshPath(name: string): string {
  const dir = tempDataDir("cellar-backup-");
  dirs.push(dir);
  return join(dir, name);
}

/** Leftovers of a backup or restore next to `path` (its staging directories). */
function stagingLeft(path: string): string[] {
  return readdirSync(dirname(path)).filter((f) => f.startsWith("."));
}

describe("server.backup under load", () => {
  it("holds every write acknowledged before it began, and is one moment of the whole data directory", async () => {
    const t = await start();
    // Megabytes in cellar.db, so that its copy takes many turns of the event loop while
    // clients keep writing.
    const bulk = t.server.kv("bulk");
    for (let i = 0; i < 24; i++) await bulk.put(`blob-${i}`, `${i}`.padEnd(1024 * 1024, "x"));
    // Rooms gone to sleep: their SQL files are closed when the backup copies them.
    for (const id of ["quiet-1", "quiet-2"]) {
      const client = await t.connect("ledger", id);
      for (let n = 1; n <= 5; n++) await client.request("add", n);
      client.close();
    }
    await vi.waitFor(() => {
      t.server.hibernate();
      expect(t.server.stats().rooms.live).toBe(0);
    });

    const load = new LedgerLoad();
    const ids = ["a", "b", "c", "d", "e", "f"];
    for (const id of ids) load.write(id, await t.connect("ledger", id));
    // Chains across the two files: a ledger write then a tally write, and the other way.
    const [l1, t1, t2, l2, solo] = await Promise.all([
      t.connect("ledger", "chain-1"),
      t.connect("tally", "chain-1"),
      t.connect("tally", "chain-2"),
      t.connect("ledger", "chain-2"),
      t.connect("tally", "solo"),
    ]);
    let n1 = 0;
    let n2 = 0;
    load.chain("ledger-first", () => l1.request("add", ++n1), () => t1.request("inc"));
    load.chain("tally-first", () => t2.request("inc"), () => l2.request("add", ++n2));
    load.chain("tally-only", () => solo.request("inc"), async () => {});
    await vi.waitFor(() => expect(load.total()).toBeGreaterThan(400), { timeout: 20_000, interval: 5 });

    const before = load.snapshot();
    const rounds = new Map(load.rounds);
    const result = await t.server.backup(freshPath("backup"));
    // The server kept answering while it copied: a room without SQL is never held.
    expect(load.rounds.get("tally-only")!).toBeGreaterThan(rounds.get("tally-only")!);
    await load.stop();

    expect(result.files).toBeGreaterThanOrEqual(1 + ids.length + 4);
    const manifest = JSON.parse(readFileSync(join(result.dest, "cellar-backup.json"), "utf8")) as { source: string; files: string[] };
    expect(manifest.source).toBe("live");
    expect(manifest.files).toHaveLength(result.files);
    expect(stagingLeft(result.dest)).toEqual([]);

    const restored = freshPath("restored");
    await restoreBackup(result.dest, restored);
    const again = await start({ dataDir: restored });
    dirs.push(restored);
    for (const id of ids) await expectLedger(await again.connect("ledger", id), before.get(id)!, load.sent.get(id)!);
    const quiet = new Set([1, 2, 3, 4, 5]);
    for (const id of ["quiet-1", "quiet-2"]) expect(await expectLedger(await again.connect("ledger", id), quiet, quiet)).toHaveLength(5);

    const count = async (client: Promise<CellarClient>, kind: "ledger" | "tally") => {
      const c = await client;
      return kind === "tally" ? ((await c.request("get")) as number) : ((await c.request("read")) as { entries: number[] }).entries.length;
    };
    const firstLedger = await count(again.connect("ledger", "chain-1"), "ledger");
    const thenTally = await count(again.connect("tally", "chain-1"), "tally");
    expect(thenTally).toBeGreaterThanOrEqual(rounds.get("ledger-first")!);
    expect(firstLedger - thenTally, "a tally write without the ledger write acknowledged before it").toBeGreaterThanOrEqual(0);
    expect(firstLedger - thenTally).toBeLessThanOrEqual(1);
    const firstTally = await count(again.connect("tally", "chain-2"), "tally");
    const thenLedger = await count(again.connect("ledger", "chain-2"), "ledger");
    expect(thenLedger).toBeGreaterThanOrEqual(rounds.get("tally-first")!);
    expect(firstTally - thenLedger, "a ledger write without the tally write acknowledged before it").toBeGreaterThanOrEqual(0);
    expect(firstTally - thenLedger).toBeLessThanOrEqual(1);
    expect(await again.server.kv("bulk").get("blob-23")).toHaveLength(1024 * 1024);

    // The restored directory is an ordinary one: it takes writes and backs up again.
    const c = await again.connect("ledger", "a");
    await c.request("add", 1_000_000);
    await expect(again.server.backup(freshPath("second"))).resolves.toMatchObject({ files: result.files });
  }, 60_000);
});

describe("server.backup and SQL transactions", () => {
  it("waits for a transaction a handler holds open, and copies the file once it commits", async () => {
    const t = await start();
    const ledgerClient = await t.connect("ledger", "l");
    await ledgerClient.request("add", 1);
    const holder = await t.connect("slow", "s");
    const holding = holder.request("hold", "b1");
    await gate.wait("b1:holding");

    let settled = false;
    const backup = t.server.backup(freshPath("backup")).finally(() => (settled = true));
    // Rooms without SQL are not held back; the ledger is, once its file is copied.
    const tallyClient = await t.connect("tally", "x");
    expect(await tallyClient.request("inc")).toBe(1);
    const held = ledgerClient.request("add", 2);
    expect(await tallyClient.request("inc")).toBe(2);
    expect(settled).toBe(false);

    gate.release("b1");
    expect(await holding).toBe(true);
    const result = await backup;
    expect(await held).toBe(2);

    const restored = freshPath("restored");
    await restoreBackup(result.dest, restored);
    const again = await start({ dataDir: restored });
    dirs.push(restored);
    expect(await (await again.connect("slow", "s")).request("rows")).toBe(1);
    // Held until cellar.db was copied, so not in the copy: the copy is a moment before it.
    await expectLedger(await again.connect("ledger", "l"), new Set([1]), new Set([1]));
  });

  it("gives up after timeoutMs with BACKUP_FAILED, and the writes it held back commit", async () => {
    const t = await start();
    const ledgerClient = await t.connect("ledger", "l");
    await ledgerClient.request("add", 1);
    const holding = (await t.connect("slow", "s")).request("hold", "c1");
    await gate.wait("c1:holding");

    const dest = freshPath("backup");
    const backup = t.server.backup(dest, { timeoutMs: 200 });
    const held = ledgerClient.request("add", 2);
    await expect(backup).rejects.toMatchObject({ code: "BACKUP_FAILED" });
    expect(await held).toBe(2);
    expect(existsSync(dest)).toBe(false);
    expect(stagingLeft(dest)).toEqual([]);
    gate.release("c1");
    await holding;
  });

  it("ends with SHUTTING_DOWN when the server closes, without holding the shutdown back", async () => {
    const t = await start({ shutdownTimeoutMs: 20_000 });
    const writer = await t.connect("slow", "w");
    await writer.request("write", "d0"); // it has an SQL file: the backup copies it, then holds it
    const holding = (await t.connect("slow", "s")).request("hold", "d1");
    await gate.wait("d1:holding");
    const dest = freshPath("backup");
    const backup = t.server.backup(dest);
    const held = writer.request("write", "d2");
    await gate.wait("d2"); // it ran; its commit waits for the backup

    const closing = t.server.close();
    await expect(backup).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
    expect(await held).toBe(true);
    gate.release("d1");
    await holding;
    await closing;
    expect(existsSync(dest)).toBe(false);
    expect(stagingLeft(dest)).toEqual([]);
  });
});

describe("server.backup refuses bad arguments and changes nothing", () => {
  it("refuses a bad destination, a second backup at once, and a stopped server", async () => {
    const t = await start();
    await (await t.connect("ledger", "l")).request("add", 1);
    const refused = (dest: unknown, options?: object) => t.server.backup(dest as string, options).then(() => "taken", (e: { code: string }) => e.code);
    const dataFiles = readdirSync(t.dataDir).sort();

    expect(await refused("")).toBe("INVALID_ARGUMENT");
    expect(await refused(42)).toBe("INVALID_ARGUMENT");
    expect(await refused(join(t.dataDir, "inside"))).toBe("INVALID_ARGUMENT");
    expect(await refused(join(freshPath("missing"), "deeper"))).toBe("INVALID_ARGUMENT");
    expect(await refused(freshPath("x"), { timeoutMs: -1 })).toBe("INVALID_ARGUMENT");
    const full = freshPath("full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    expect(await refused(full)).toBe("DIRECTORY_NOT_EMPTY");
    expect(readdirSync(full)).toEqual(["keep.txt"]);
    expect(readdirSync(t.dataDir).sort()).toEqual(dataFiles);

    // An empty directory is a fine destination; one backup runs at a time.
    const empty = freshPath("empty");
    mkdirSync(empty);
    const first = t.server.backup(empty);
    expect(await refused(freshPath("second"))).toBe("BACKUP_IN_PROGRESS");
    const result: BackupResult = await first;
    expect(result.dest).toBe(empty);
    expect(readdirSync(empty).sort()).toEqual(["cellar-backup.json", "cellar.db", "sql"]);

    await t.server.close();
    expect(await refused(freshPath("late"))).toBe("SHUTTING_DOWN");
  });
});

describe("restoreBackup and a server that starts while it copies", () => {
  /** Runs `during(target)` just before the restore renames its copy into place. */
  function beforeRename(during: (target: string) => Promise<void>) {
    const commit = Staging.prototype.commit;
    vi.spyOn(Staging.prototype, "commit").mockImplementationOnce(async function (this: Staging) {
      await during(this.target);
      return commit.call(this);
    });
  }
  afterEach(() => void vi.restoreAllMocks());

  it("refuses that server on a directory it replaces, and leaves an empty one a server filled", async () => {
    const dataDir = freshPath("data");
    const t = await start({ dataDir });
    await (await t.connect("ledger", "l")).request("add", 1);
    const backup = await t.server.backup(freshPath("backup"));
    await (await t.connect("ledger", "l")).request("add", 2);
    servers.splice(servers.indexOf(t), 1);
    await t.close();

    // The old directory stays locked until it is gone: the server cannot start on it.
    let started: string | undefined;
    beforeRename(async (target) => {
      started = await start({ dataDir: target }).then(
        () => "started",
        (error: Error) => error.message,
      );
    });
    await restoreBackup(backup.dest, dataDir, { force: true });
    expect(started).toMatch(/in use by another Cellar server/);
    const restored = await start({ dataDir });
    expect(await (await restored.connect("ledger", "l")).request("read")).toMatchObject({ entries: [1] });
    servers.splice(servers.indexOf(restored), 1);
    await restored.close();

    // An empty target a server starts on meanwhile is not replaced under it.
    const empty = freshPath("empty");
    let running: TestServer | undefined;
    beforeRename(async (target) => {
      running = await start({ dataDir: target });
    });
    await expect(restoreBackup(backup.dest, empty)).rejects.toMatchObject({ code: "DIRECTORY_NOT_EMPTY" });
    expect(await (await running!.connect("ledger", "new")).request("add", 7)).toBe(1);
    expect(stagingLeft(empty)).toEqual([]);
    // On disk it is still that server's directory, not the backup's.
    servers.splice(servers.indexOf(running!), 1);
    await running!.close();
    const reopened = await start({ dataDir: empty });
    expect(await (await reopened.connect("ledger", "new")).request("read")).toEqual({ count: 1, entries: [7] });
    expect(await (await reopened.connect("ledger", "l")).request("read")).toEqual({ count: 0, entries: [] });
  });
});
