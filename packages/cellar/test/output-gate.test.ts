import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CellarError, defineRoom } from "cellar";
import type { CellarClient } from "cellar/client";
import { startTestServer, tempDataDir, type TestServer } from "cellar/testing";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/**
 * A room whose `write` handler writes state and storage, then broadcasts. How its commit is
 * made to fail depends on the test; `read` shows the committed values.
 */
function gatedRoom(name: string, failures: Array<[string, string]>) {
  const room = defineRoom({
    name,
    state: { count: 0 },
    persistedKeys: ["count"],
    onPersistError: (key, error) => void failures.push([key, error.code]),
  });
  room.on("setup", (ctx) => {
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY)");
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
    );
  });
  room.on("write", async (ctx, data) => {
    const { orphan = false, bytes = 0 } = (data ?? {}) as { orphan?: boolean; bytes?: number };
    ctx.state.count++;
    await ctx.storage.put("note", "x".repeat(bytes));
    // A deferred foreign key is only checked at COMMIT: the statement succeeds, the commit fails.
    if (orphan) ctx.storage.sql.exec("INSERT INTO child (parent) VALUES (999)");
    ctx.emit.broadcast("changed", { count: ctx.state.count });
    return ctx.state.count;
  });
  room.on("read", async (ctx) => ({ count: ctx.state.count, note: ((await ctx.storage.get<string>("note")) ?? "").length }));
  return room;
}

/**
 * Collects `changed` frames from now on. A round trip first lets earlier frames arrive;
 * `settled()` proves the same way that none is still in flight.
 */
async function observe(client: CellarClient) {
  await client.request("read");
  const seen: unknown[] = [];
  client.on("changed", (data) => seen.push(data));
  return { seen, settled: () => client.request("read") };
}

async function expectGateHeld(writer: CellarClient, observer: CellarClient, data: unknown, code: string) {
  const watch = await observe(observer);
  const failure = (await writer.request("write", data).catch((e: unknown) => e)) as CellarError;
  expect(failure).toBeInstanceOf(CellarError);
  expect(failure.code).toBe(code);
  await watch.settled();
  expect(watch.seen).toEqual([]);
}

describe("output gate: a failed commit sends nothing and rolls back", () => {
  it("when SQLite refuses the COMMIT (deferred foreign key)", async () => {
    const failures: Array<[string, string]> = [];
    t = await startTestServer({ rooms: [gatedRoom("ledger", failures), gatedRoom("other", [])] });
    const writer = await t.connect("ledger", "a");
    const observer = await t.connect("ledger", "a");
    await writer.request("setup");
    expect(await writer.request("write", { bytes: 3 })).toBe(1);

    await expectGateHeld(writer, observer, { orphan: true, bytes: 10 }, "PERSIST_FAILED");
    expect(await writer.request("read")).toEqual({ count: 1, note: 3 });
    expect(failures).toEqual([["count", "PERSIST_FAILED"]]);

    // Other rooms keep working, and so does this one.
    const other = await t.connect("other", "b");
    expect(await other.request("write")).toBe(1);
    expect(await writer.request("write", { bytes: 4 })).toBe(2);
    expect(await observer.request("read")).toEqual({ count: 2, note: 4 });
  });

  it("calls onPersistError with the rolled-back keys when the instance is full (what clients see: conformance/output-gate)", async () => {
    const failures: Array<[string, string]> = [];
    t = await startTestServer({ rooms: [gatedRoom("box", failures)], limits: { maxInstanceBytes: 4096 } });
    const writer = await t.connect("box", "full");
    expect(await writer.request("write", { bytes: 100 })).toBe(1);
    await expect(writer.request("write", { bytes: 5000 })).rejects.toMatchObject({ code: "STORAGE_LIMIT" });
    expect(failures.map(([key]) => key)).toEqual(["count"]);
  });
});

/** A real full disk: a 1 MiB tmpfs (needs root, as in this project's CI container). */
function mountTinyDisk(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const tinyDisk = join(tempDataDir("cellar-tinydisk-"), "mnt");
const canMount = mountTinyDisk(tinyDisk);
if (canMount) execFileSync("umount", [tinyDisk]);

describe.runIf(canMount)("output gate on a full disk", () => {
  afterEach(() => {
    try {
      execFileSync("umount", [tinyDisk], { stdio: "ignore" });
    } catch {
      // already unmounted
    }
  });

  it("drops the emits, answers PERSIST_FAILED, rolls back, and recovers once space is free", async () => {
    mountTinyDisk(tinyDisk);
    const failures: Array<[string, string]> = [];
    t = await startTestServer({ rooms: [gatedRoom("disk", failures)], dataDir: join(tinyDisk, "data") });
    const writer = await t.connect("disk", "d");
    const observer = await t.connect("disk", "d");
    expect(await writer.request("write", { bytes: 10 })).toBe(1);

    // Fill what is left of the disk; SQLite then cannot append the commit to its WAL.
    const filler = join(tinyDisk, "filler");
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC: the disk is as full as it gets
    }
    await expectGateHeld(writer, observer, { bytes: 64 * 1024 }, "PERSIST_FAILED");
    expect(failures.length).toBeGreaterThan(0);
    expect(await observer.request("read")).toEqual({ count: 1, note: 10 });

    rmSync(filler);
    expect(await writer.request("write", { bytes: 20 })).toBe(2);
    expect(await observer.request("read")).toEqual({ count: 2, note: 20 });
    await t.close({ keepData: true });
    t = undefined;
  });
});
