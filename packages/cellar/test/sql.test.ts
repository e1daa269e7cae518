import { describe, expect, it } from "vitest";
import type { SqlCursor } from "cellar";
import type { TestServer } from "cellar/testing";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

const exec = (t: TestServer, id: string, query: string, ...bindings: Array<string | number | bigint | null | Uint8Array | ArrayBuffer>) =>
  run(t, id, (ctx) => ctx.storage.sql.exec(query, ...bindings).toArray());

async function withTable(t: TestServer, id = "a", rows: Array<[number, string]> = [[1, "one"], [2, "two"], [3, "three"]]): Promise<void> {
  await run(t, id, (ctx) => {
    ctx.storage.sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    for (const [n, name] of rows) ctx.storage.sql.exec("INSERT INTO t (id, name) VALUES (?, ?)", n, name);
  });
}

describe("sql.exec namespaces", () => {
  it("gives each instance its own tables", async () => {
    const t = await servers.start();
    await withTable(t, "a", [[1, "in a"]]);
    await withTable(t, "b", [[1, "in b"], [2, "also b"]]);
    expect(await exec(t, "a", "SELECT name FROM t ORDER BY id")).toEqual([{ name: "in a" }]);
    expect(await exec(t, "b", "SELECT name FROM t ORDER BY id")).toEqual([{ name: "in b" }, { name: "also b" }]);
    await expect(exec(t, "c", "SELECT * FROM t")).rejects.toMatchObject({ code: "SQL_ERROR" });
  });
});

describe("the cursor", () => {
  it("toArray returns rows as objects, with columnNames and rowsRead", async () => {
    const t = await servers.start();
    await withTable(t);
    const result = await run(t, "a", (ctx) => {
      const cursor = ctx.storage.sql.exec("SELECT id, name AS label FROM t ORDER BY id");
      return { columns: cursor.columnNames, read: cursor.rowsRead, written: cursor.rowsWritten, rows: cursor.toArray() };
    });
    expect(result).toEqual({
      columns: ["id", "label"],
      read: 3,
      written: 0,
      rows: [
        { id: 1, label: "one" },
        { id: 2, label: "two" },
        { id: 3, label: "three" },
      ],
    });
  });

  it("counts rowsWritten for inserts, updates and deletes", async () => {
    const t = await servers.start();
    await withTable(t);
    const written = await run(t, "a", (ctx) => {
      const count = (cursor: SqlCursor) => cursor.rowsWritten;
      return [
        count(ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('four'), ('five')")),
        count(ctx.storage.sql.exec("UPDATE t SET name = upper(name) WHERE id <= 3")),
        count(ctx.storage.sql.exec("DELETE FROM t WHERE id = ?", 5)),
      ];
    });
    expect(written).toEqual([2, 3, 1]);
  });

  it("one() returns the only row, and throws on zero or two rows", async () => {
    const t = await servers.start();
    await withTable(t);
    expect(await run(t, "a", (ctx) => ctx.storage.sql.exec("SELECT name FROM t WHERE id = ?", 2).one())).toEqual({ name: "two" });
    await expect(run(t, "a", (ctx) => ctx.storage.sql.exec("SELECT name FROM t WHERE id = 9").one())).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(run(t, "a", (ctx) => ctx.storage.sql.exec("SELECT name FROM t WHERE id < 3").one())).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("raw() returns arrays of values, and iteration yields the rows not yet read", async () => {
    const t = await servers.start();
    await withTable(t);
    const result = await run(t, "a", (ctx) => {
      const raw = [...ctx.storage.sql.exec("SELECT id, name FROM t ORDER BY id").raw()];
      const cursor = ctx.storage.sql.exec("SELECT id FROM t ORDER BY id");
      const first = cursor.next().value;
      const rest: unknown[] = [];
      for (const row of cursor) rest.push(row);
      return { raw, first, rest, after: cursor.toArray() };
    });
    expect(result).toEqual({
      raw: [
        [1, "one"],
        [2, "two"],
        [3, "three"],
      ],
      first: { id: 1 },
      rest: [{ id: 2 }, { id: 3 }],
      after: [],
    });
  });

  it("binds and returns strings, numbers, bigints, nulls and blobs", async () => {
    const t = await servers.start();
    const row = await run(t, "a", (ctx) => {
      ctx.storage.sql.exec("CREATE TABLE v (s TEXT, i INTEGER, r REAL, b INTEGER, n TEXT, blob BLOB, buf BLOB)");
      const bytes = new Uint8Array([0, 1, 255]);
      ctx.storage.sql.exec("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)", "é😀", 42, 1.5, 2n ** 40n, null, bytes, bytes.buffer);
      const stored = ctx.storage.sql.exec("SELECT * FROM v").one();
      return { ...stored, blob: [...(stored.blob as Uint8Array)], buf: [...(stored.buf as Uint8Array)] };
    });
    expect(row).toEqual({ s: "é😀", i: 42, r: 1.5, b: 2 ** 40, n: null, blob: [0, 1, 255], buf: [0, 1, 255] });
  });

  it("runs several statements in one exec without bindings, and refuses bindings with them", async () => {
    const t = await servers.start();
    await run(t, "a", (ctx) => {
      ctx.storage.sql.exec("CREATE TABLE m (x); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2);");
    });
    expect(await exec(t, "a", "SELECT x FROM m ORDER BY x")).toEqual([{ x: 1 }, { x: 2 }]);
    await expect(exec(t, "a", "INSERT INTO m VALUES (?); INSERT INTO m VALUES (?)", 3, 4)).rejects.toMatchObject({ code: "SQL_ERROR" });
    expect(await exec(t, "a", "SELECT count(*) AS n FROM m")).toEqual([{ n: 2 }]);
  });
});

describe("SQL writes are all or nothing with the handler", () => {
  it("undoes a handler's SQL writes when it throws", async () => {
    const t = await servers.start();
    await withTable(t);
    const failing = run(t, "a", (ctx) => {
      ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('ghost')");
      ctx.storage.sql.exec("CREATE TABLE ghost (x)");
      throw new Error("refused");
    });
    await expect(failing).rejects.toThrow("refused");
    expect(await exec(t, "a", "SELECT count(*) AS n FROM t")).toEqual([{ n: 3 }]);
    await expect(exec(t, "a", "SELECT * FROM ghost")).rejects.toMatchObject({ code: "SQL_ERROR" });
  });

  it("keeps an earlier handler's uncommitted rows when a later one throws", async () => {
    const t = await servers.start();
    await withTable(t, "a", []);
    const first = run(t, "a", (ctx) => ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('first')").rowsWritten);
    const second = run(t, "a", (ctx) => {
      ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('second')");
      throw new Error("second fails");
    });
    const [firstDone, secondDone] = await Promise.allSettled([first, second]);
    expect(firstDone).toEqual({ status: "fulfilled", value: 1 });
    expect(secondDone).toMatchObject({ status: "rejected", reason: { message: "second fails" } });
    expect(await exec(t, "a", "SELECT name FROM t")).toEqual([{ name: "first" }]);
  });

  it("commits SQL and key-value writes of a handler together, and undoes them together", async () => {
    const t = await servers.start();
    await withTable(t, "a", []);
    await run(t, "a", async (ctx) => {
      ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('both')");
      await ctx.storage.put("both", true);
    });
    const failing = run(t, "a", async (ctx) => {
      ctx.storage.sql.exec("DELETE FROM t");
      await ctx.storage.delete("both");
      throw new Error("no");
    });
    await expect(failing).rejects.toThrow("no");
    expect(await exec(t, "a", "SELECT name FROM t")).toEqual([{ name: "both" }]);
    expect(await run(t, "a", (ctx) => ctx.storage.get("both"))).toBe(true);
  });

  it("rolls SQL back with a storage.transaction that throws or calls rollback()", async () => {
    const t = await servers.start();
    await withTable(t, "a", []);
    const names = await run(t, "a", async (ctx) => {
      const insert = (name: string) => ctx.storage.sql.exec("INSERT INTO t (name) VALUES (?)", name);
      await ctx.storage.transaction(async () => insert("kept"));
      await ctx.storage
        .transaction(async () => {
          insert("thrown");
          throw new Error("undo");
        })
        .catch(() => {});
      await ctx.storage.transaction(async (txn) => {
        insert("rolled back");
        txn.rollback();
      });
      return ctx.storage.sql.exec("SELECT name FROM t").toArray();
    });
    expect(names).toEqual([{ name: "kept" }]);
    expect(await exec(t, "a", "SELECT name FROM t")).toEqual([{ name: "kept" }]);
  });

  it("a failing statement undoes only itself in a handler that catches it", async () => {
    const t = await servers.start();
    await withTable(t, "a", [[1, "one"]]);
    const code = await run(t, "a", (ctx) => {
      ctx.storage.sql.exec("INSERT INTO t (id, name) VALUES (2, 'two')");
      try {
        ctx.storage.sql.exec("INSERT INTO t (id, name) VALUES (3, 'three'), (1, 'duplicate')");
      } catch (error) {
        return (error as { code: string }).code;
      }
    });
    expect(code).toBe("SQL_ERROR");
    expect(await exec(t, "a", "SELECT id FROM t ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
  });
});

describe("SQL durability", () => {
  it("keeps tables and rows across a restart", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await withTable(first, "a");
    await withTable(first, "b", [[7, "seven"]]);
    await first.close();
    const second = await servers.start({ dataDir });
    expect(await exec(second, "a", "SELECT count(*) AS n FROM t")).toEqual([{ n: 3 }]);
    expect(await exec(second, "b", "SELECT name FROM t")).toEqual([{ name: "seven" }]);
  });

  it("keeps tables and rows across hibernation, with and without a connected client", async () => {
    const t = await servers.start();
    await withTable(t, "a");
    expect(t.server.hibernate("box", "a")).toBe(1);
    expect(await exec(t, "a", "SELECT count(*) AS n FROM t")).toEqual([{ n: 3 }]);

    const client = await t.connect("box", "b");
    await client.request("sql", { query: "CREATE TABLE t (x)" });
    await client.request("sql", { query: "INSERT INTO t VALUES (?)", bindings: ["warm"] });
    expect(t.server.hibernate("box", "b")).toBe(1);
    expect(t.server.stats().rooms).toMatchObject({ hibernated: 1 });
    expect(await client.request("sql", { query: "SELECT x FROM t" })).toEqual([{ x: "warm" }]);
  });
});
