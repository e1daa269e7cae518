import { describe, expect, it } from "vitest";
import { CellarError } from "cellar";
import type { CellarClient } from "cellar/client";
import { record } from "../helpers/client-events.js";
import { useHost } from "./harness.js";
import { script } from "./script.js";

const hosts = useHost();

/**
 * Collects `event` frames from now on. A round trip first lets earlier frames arrive;
 * `settled()` proves the same way that none is still in flight.
 */
async function observe(client: CellarClient, event: string, roundTrip: string) {
  await client.request(roundTrip);
  const seen = record(client, event);
  return { seen, settled: () => client.request(roundTrip) };
}

describe("output gate (guarantee 2): a failed commit sends nothing and rolls back", () => {
  it("when the instance is full: the sender gets INSTANCE_SIZE, nothing is emitted, state is rolled back, other instances commit", async () => {
    const host = await hosts.start({ limits: { maxInstanceBytes: 4096 } });
    const writer = await host.connect("gated", "full");
    const observer = await host.connect("gated", "full");
    const neighbour = await host.connect("gated", "fine");
    expect(await writer.request("write", { bytes: 100 })).toBe(1);

    const watch = await observe(observer, "changed", "read");
    const [big, small] = await Promise.allSettled([writer.request("write", { bytes: 5000 }), neighbour.request("write", { bytes: 10 })]);
    expect(big.status).toBe("rejected");
    const error = (big as PromiseRejectedResult).reason as CellarError;
    expect(error).toBeInstanceOf(CellarError);
    expect(error).toMatchObject({ code: "STORAGE_LIMIT", message: expect.stringMatching(/^INSTANCE_SIZE:/) });
    expect(small).toEqual({ status: "fulfilled", value: 1 });
    await watch.settled();
    expect(watch.seen).toEqual([]);
    // The in-memory count went back to the committed 1, and the room keeps working.
    expect(await writer.request("read")).toEqual({ count: 1, note: 100 });
    expect(await writer.request("write", { bytes: 200 })).toBe(2);
    expect(await observer.request("read")).toEqual({ count: 2, note: 200 });
  });

  it("a handler that throws after writing state, storage, SQL and KV leaves no trace and emits nothing", async () => {
    const host = await hosts.start();
    const client = await host.connect("box", "a");
    const run = script(client);
    await run(["sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"], ["sql", "INSERT INTO t (name) VALUES ('kept')"], ["put", "k", "kept"], ["note", "kept"], ["kvPut", "gate:k", "kept"]);

    const failing = run(
      ["put", "k", "changed"],
      ["put", "other", 1],
      ["note", "changed"],
      ["sql", "INSERT INTO t (name) VALUES ('ghost')"],
      ["sql", "DELETE FROM t WHERE name = 'kept'"],
      ["sql", "CREATE TABLE ghost (x)"],
      ["kvPut", "gate:k", "changed"],
      ["kvPut", "gate:new", "v"],
      ["throw", "NOPE"],
    );
    await expect(failing).rejects.toMatchObject({ code: "NOPE" });

    const other = script(await host.connect("box", "b"));
    expect(await run(["get", ["k", "other"]], ["readNote"], ["sql", "SELECT name FROM t"], ["try", ["sql", "SELECT * FROM ghost"]])).toEqual([
      [["k", "kept"]],
      "kept",
      expect.objectContaining({ rows: [{ name: "kept" }] }),
      expect.objectContaining({ error: "SQL_ERROR" }),
    ]);
    expect(await other(["kvGet", "gate:k"], ["kvGet", "gate:new"])).toEqual(["kept", null]);
  });

  it("a failing handler leaves the uncommitted writes of the handler before it alone", async () => {
    const host = await hosts.start();
    const client = await host.connect("box", "a");
    const run = script(client);
    await run(["sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"]);
    const [first, second] = await Promise.allSettled([
      run(["sql", "INSERT INTO t (name) VALUES ('first')"]),
      run(["sql", "INSERT INTO t (name) VALUES ('second')"], ["throw", "SECOND_FAILS"]),
    ]);
    expect(first).toMatchObject({ status: "fulfilled", value: [{ rowsWritten: 1 }] });
    expect(second).toMatchObject({ status: "rejected", reason: { code: "SECOND_FAILS" } });
    expect((await run(["sql", "SELECT name FROM t"]))[0].rows).toEqual([{ name: "first" }]);
  });
});
