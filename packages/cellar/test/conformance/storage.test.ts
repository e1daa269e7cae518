import { describe, expect, it } from "vitest";
import { useHost } from "./harness.js";
import { describeValue, everyKind, UNDEFINED } from "./rooms.js";
import { script, single } from "./script.js";

const hosts = useHost();

async function box(id = "a") {
  const host = await hosts.start();
  const client = await host.connect("box", id);
  return { host, client, run: script(client), one: single(client) };
}

describe("ctx.storage get, put and delete", () => {
  it("gets the value of a key, or undefined; an array of keys as a Map of those that exist", async () => {
    const { run } = await box();
    await run(["put", "greeting", "hello"], ["put", { one: 1, two: 2, three: 3 }]);
    expect(await run(["get", "greeting"], ["get", "missing"], ["get", ["three", "nope", "one"]])).toEqual([
      "hello",
      UNDEFINED,
      [
        ["three", 3],
        ["one", 1],
      ],
    ]);
  });

  it("overwrites a key and keeps instances apart", async () => {
    const { host, run } = await box();
    await run(["put", "k", "first"]);
    await run(["put", "k", "second"]);
    const b = script(await host.connect("box", "b"));
    await b(["put", "k", "other room"]);
    expect(await run(["get", "k"])).toEqual(["second"]);
    expect(await b(["get", "k"])).toEqual(["other room"]);
  });

  it("delete says whether one key existed, or how many of an array of keys did, counting the handler's own writes", async () => {
    const { run } = await box();
    await run(["put", "k", 1], ["put", { a: 1, b: 2 }]);
    expect(await run(["delete", "k"], ["delete", "k"], ["get", "k"])).toEqual([true, false, UNDEFINED]);
    expect(await run(["put", "c", 3], ["delete", "b"], ["delete", ["a", "b", "c", "x"]])).toEqual([null, true, 2]);
    expect(await run(["get", ["a", "b", "c"]])).toEqual([[]]);
  });

  it("refuses put(key, undefined), keys that are not strings and keys with a lone surrogate with INVALID_ARGUMENT, writing nothing", async () => {
    const { client, run, one } = await box();
    await expect(client.request("put-undefined")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(client.request("put-undefined", true)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(run(["put", 42 as unknown as string, 1])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(run(["get", 42 as unknown as string])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    // UTF-8 cannot represent a lone surrogate: refused rather than stored under another name.
    for (const key of ["\uD800", "a\uDBFF", "\uDC00z"]) await expect(run(["put", key, 1])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await one(["list"])).toEqual([]);
  });
});

describe("read-your-writes", () => {
  it("a handler reads its own puts and deletes before they commit", async () => {
    const { run } = await box();
    await run(["put", "old", "committed"]);
    expect(await run(["put", "new", "pending"], ["delete", "old"], ["get", "new"], ["get", "old"], ["list"])).toEqual([
      null,
      true,
      "pending",
      UNDEFINED,
      [["new", "pending"]],
    ]);
  });
});

describe("ctx.storage.transaction", () => {
  it("commits the writes of a transaction that returns, and returns its result", async () => {
    const { one } = await box();
    expect(await one(["txn", [["put", "a", 1], ["get", "a"]]])).toEqual([null, 1]);
    expect(await one(["get", "a"])).toBe(1);
  });

  it("rolls back every write when the transaction throws, and rethrows; rollback() undoes without an error", async () => {
    const { run, one } = await box();
    await run(["put", { balance: 10, log: "start" }]);
    const seen = await run(["try", ["txn", [["put", "balance", 0], ["delete", "log"]], "throw"]], ["get", "balance"], ["get", "log"]);
    expect(seen).toEqual([expect.objectContaining({ error: "TXN_REFUSED" }), 10, "start"]);
    expect(await one(["txn", [["put", "a", 1]], "rollback"])).toEqual([null]);
    expect(await one(["list"])).toEqual([
      ["balance", 10],
      ["log", "start"],
    ]);
  });

  it("nests: an inner failure undoes only the inner writes; an outer failure undoes both", async () => {
    const { run, one } = await box();
    await run([
      "txn",
      [
        ["put", "outer", 1],
        ["txn", [["put", "inner-kept", 1]]],
        ["try", ["txn", [["put", "inner-failed", 1]], "throw"]],
        ["txn", [["put", "inner-rolled-back", 1]], "rollback"],
      ],
    ]);
    expect(await one(["keys"])).toEqual(["inner-kept", "outer"]);
    await run(["try", ["txn", [["put", "second-outer", 1], ["txn", [["put", "second-inner", 1]]]], "throw"]]);
    expect(await one(["keys"])).toEqual(["inner-kept", "outer"]);
  });

  it("rolls SQL back too, when the transaction throws or calls rollback()", async () => {
    const { run } = await box();
    await run(["sql", "CREATE TABLE t (name TEXT)"], ["put", "k", "kept"]);
    const insert = (name: string) => ["sql", `INSERT INTO t (name) VALUES ('${name}')`] as ["sql", string];
    const [, , , inside] = await run(
      ["txn", [insert("kept")]],
      ["try", ["txn", [insert("thrown"), ["put", "k", "thrown"]], "throw"]],
      ["txn", [insert("rolled back"), ["put", "k", "rolled back"]], "rollback"],
      ["sql", "SELECT name FROM t"],
    );
    expect(inside.rows).toEqual([{ name: "kept" }]);
    expect(await run(["sql", "SELECT name FROM t"], ["get", "k"])).toEqual([expect.objectContaining({ rows: [{ name: "kept" }] }), "kept"]);
  });
});

describe("ctx.storage.deleteAll", () => {
  it("deletes every key of the instance and no other instance's; leaves persisted state alone", async () => {
    const { host, run, one } = await box();
    const b = script(await host.connect("box", "b"));
    await run(["put", { x: 1, y: 2 }], ["note", "state survives"]);
    await b(["put", { x: "b" }]);
    expect(await run(["deleteAll"], ["put", "after", 3], ["list"])).toEqual([null, null, [["after", 3]]]);
    expect(await one(["list"])).toEqual([["after", 3]]);
    expect(await one(["readNote"])).toBe("state survives");
    expect(await b(["get", "x"])).toEqual(["b"]);
  });

  it("is undone, SQL tables included, when the handler throws", async () => {
    const { run, one } = await box();
    await run(["put", "y", 2], ["sql", "CREATE TABLE t (name TEXT)"], ["sql", "INSERT INTO t VALUES ('one')"]);
    await expect(run(["deleteAll"], ["throw", "CHANGED_MY_MIND"])).rejects.toMatchObject({ code: "CHANGED_MY_MIND" });
    expect(await run(["get", "y"], ["one", "SELECT name FROM t"])).toEqual([2, { name: "one" }]);
    expect(await one(["keys"])).toEqual(["y"]);
  });
});

describe("stored values", () => {
  it("keep every kind of value, read back in the same handler, once committed, as single keys and in a batch", async () => {
    const { run } = await box();
    const expected = describeValue(everyKind());
    expect(await run(["putKind", "v"], ["describe", "v"])).toEqual([null, expected]);
    await run(["putKinds"]);
    const kinds = Object.entries(everyKind()).filter(([key]) => key !== "undef");
    expect(await run(["describe", "v"], ["describe", kinds.map(([key]) => key)])).toEqual([expected, kinds.map(([, value]) => describeValue(value))]);
  });

  it("are snapshots: mutating the object after put, or the copy get returned, changes nothing stored", async () => {
    const { one } = await box();
    expect(await one(["snapshot"])).toEqual({ list: [1] });
  });

  it("refuse a value that cannot be stored with a PersistError naming the key", async () => {
    const { client, run } = await box();
    await expect(client.request("put-function")).rejects.toMatchObject({ code: "PERSIST_ERROR", message: expect.stringContaining('"handler"') });
    await expect(client.request("put-symbol")).rejects.toMatchObject({ code: "PERSIST_ERROR", message: expect.stringContaining('"symbol"') });
    expect(await run(["get", ["handler", "symbol"]])).toEqual([[]]);
  });
});
