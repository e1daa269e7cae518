import { describe, expect, it } from "vitest";
import { useHost } from "./harness.js";
import { describeValue, everyKind } from "./rooms.js";
import { script } from "./script.js";

const hosts = useHost();

describe("storage, SQL and KV across a restart", () => {
  it("keep everything acknowledged, and nothing deleted", async () => {
    const host = await hosts.start();
    let a = script(await host.connect("box", "a"));
    let b = script(await host.connect("box", "b"));
    let c = script(await host.connect("box", "c"));
    await a(["putKind", "v"], ["put", { x: 1, gone: 2 }], ["sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('one'), ('two')"]);
    await a(["delete", "gone"], ["kvPut", "with-sql", "v", { metadata: { m: 1 } }], ["sql", "INSERT INTO t (name) VALUES ('three')"]);
    await b(["put", "x", "b"], ["sql", "CREATE TABLE t (name TEXT); INSERT INTO t VALUES ('seven')"]);
    await c(["put", "x", 1], ["sql", "CREATE TABLE t (x)"]);
    await c(["deleteAll"]);

    await host.restart();

    a = script(await host.connect("box", "a"));
    b = script(await host.connect("box", "b"));
    c = script(await host.connect("box", "c"));
    expect(await a(["describe", "v"], ["keys"], ["one", "SELECT count(*) AS n FROM t"])).toEqual([describeValue(everyKind()), ["v", "x"], { n: 3 }]);
    expect(await b(["get", "x"], ["one", "SELECT name FROM t"], ["kvMeta", "with-sql"])).toEqual(["b", { name: "seven" }, { value: "v", metadata: { m: 1 } }]);
    expect(await c(["keys"], ["try", ["sql", "SELECT * FROM t"]])).toEqual([[], expect.objectContaining({ error: "SQL_ERROR" })]);
  });
});
