import { describe, expect, it } from "vitest";
import type { TestServer } from "cellar/testing";
import { run, useServers } from "./fixtures/storage-room.js";

const servers = useServers();

const exec = (t: TestServer, id: string, query: string) => run(t, id, (ctx) => ctx.storage.sql.exec(query).toArray());

async function withTable(t: TestServer, id = "a"): Promise<void> {
  await run(t, id, (ctx) => ctx.storage.sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('one')"));
}

describe("statements sql.exec refuses", () => {
  const refused = [
    "BEGIN",
    "begin transaction",
    "COMMIT",
    "END",
    "ROLLBACK",
    "SAVEPOINT mine",
    "RELEASE mine",
    "ATTACH DATABASE ':memory:' AS other",
    "DETACH other",
    "VACUUM",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA synchronous = OFF",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA max_page_count = 1000000",
    "  pragma main.locking_mode = NORMAL",
  ];

  it.each(refused)("refuses %j with SQL_ERROR", async (query) => {
    const t = await servers.start();
    await withTable(t);
    await expect(exec(t, "a", query)).rejects.toMatchObject({ code: "SQL_ERROR" });
    expect(await exec(t, "a", "SELECT name FROM t")).toEqual([{ name: "one" }]);
  });

  it.each(["SELECT 1; COMMIT", "/* note */ COMMIT", "-- note\nROLLBACK", "SELECT 1; PRAGMA max_page_count = 1000000"])(
    "refuses transaction control and settings hidden in %j",
    async (query) => {
      const t = await servers.start();
      await withTable(t);
      await expect(exec(t, "a", query)).rejects.toMatchObject({ code: "SQL_ERROR" });
    },
  );

  it("cannot escape a failed handler's rollback with a hidden COMMIT", async () => {
    const t = await servers.start();
    await withTable(t);
    const failing = run(t, "a", (ctx) => {
      ctx.storage.sql.exec("INSERT INTO t (name) VALUES ('should vanish')");
      try {
        ctx.storage.sql.exec("SELECT 1; COMMIT");
      } catch {
        // refused, as it should be
      }
      throw new Error("handler fails");
    });
    await expect(failing).rejects.toThrow("handler fails");
    expect(await exec(t, "a", "SELECT name FROM t ORDER BY id")).toEqual([{ name: "one" }]);
  });

  it("allows read-only introspection pragmas", async () => {
    const t = await servers.start();
    await withTable(t);
    const columns = await run(t, "a", (ctx) => ctx.storage.sql.exec("PRAGMA table_info(t)").toArray().map((c) => c.name));
    expect(columns).toEqual(["id", "name"]);
  });
});

describe("failing statements", () => {
  it("answers SQL_ERROR for a syntax error, a missing table and a constraint violation", async () => {
    const t = await servers.start();
    await withTable(t);
    for (const query of ["SELEC * FROM t", "SELECT * FROM missing", "INSERT INTO t (id, name) VALUES (1, 'dup')", "INSERT INTO t VALUES (1, 2, 3)"]) {
      await expect(exec(t, "a", query)).rejects.toMatchObject({ code: "SQL_ERROR" });
    }
    await expect(run(t, "a", (ctx) => ctx.storage.sql.exec(""))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("tells a client SQL_ERROR for refused and failing statements", async () => {
    const t = await servers.start();
    const client = await t.connect("box", "a");
    await expect(client.request("sql", { query: "BEGIN" })).rejects.toMatchObject({ code: "SQL_ERROR" });
    await expect(client.request("sql", { query: "SELEC 1" })).rejects.toMatchObject({ code: "SQL_ERROR" });
    expect(await client.request("sql", { query: "SELECT ? + 1 AS n", bindings: [1] })).toEqual([{ n: 2 }]);
  });
});

describe("deleteAll and SQL", () => {
  it("drops the instance's tables, views, triggers and indexes, and no other instance's", async () => {
    const t = await servers.start();
    await withTable(t, "a");
    await withTable(t, "b");
    await run(t, "a", (ctx) => {
      ctx.storage.sql.exec(`
        CREATE VIEW names AS SELECT name FROM t;
        CREATE INDEX t_name ON t (name);
        CREATE TABLE audit (n);
        CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (NEW.id); END;
      `);
    });
    await run(t, "a", (ctx) => ctx.storage.deleteAll());
    const left = await exec(t, "a", "SELECT type, name FROM sqlite_master WHERE name NOT LIKE '\\_cellar\\_%' ESCAPE '\\'");
    expect(left).toEqual([]);
    await run(t, "a", (ctx) => ctx.storage.sql.exec("CREATE TABLE t (fresh)"));
    expect(await exec(t, "b", "SELECT name FROM t")).toEqual([{ name: "one" }]);
  });

  it("brings the tables back when the handler that called it throws", async () => {
    const t = await servers.start();
    await withTable(t);
    const failing = run(t, "a", async (ctx) => {
      await ctx.storage.deleteAll();
      throw new Error("undo");
    });
    await expect(failing).rejects.toThrow("undo");
    expect(await exec(t, "a", "SELECT name FROM t")).toEqual([{ name: "one" }]);
  });

  it("leaves the tables dropped after a restart", async () => {
    const dataDir = servers.dataDir();
    const first = await servers.start({ dataDir });
    await withTable(first);
    await run(first, "a", (ctx) => ctx.storage.deleteAll());
    await first.close();
    const second = await servers.start({ dataDir });
    await expect(exec(second, "a", "SELECT * FROM t")).rejects.toMatchObject({ code: "SQL_ERROR" });
  });
});
