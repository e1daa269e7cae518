import { describe, expect, it } from "vitest";
import { STORAGE_LIMITS } from "cellar";
import type { HostConfig } from "./harness.js";
import { useHost } from "./harness.js";
import { limitError, script, single } from "./script.js";

// Every limit is enforced the same on every host, and the client is told which one it hit:
// code STORAGE_LIMIT, a message starting with the limit's name.

const hosts = useHost();
const KiB = 1024;

async function box(config?: HostConfig) {
  const host = await hosts.start(config);
  const client = await host.connect("box", "a");
  return { host, client, run: script(client), one: single(client) };
}

describe("KEY_SIZE: keys up to 2 KiB of UTF-8", () => {
  const cases: Array<[string, string, string]> = [
    ["ASCII", "k".repeat(2048), "k".repeat(2049)],
    ["2-byte characters", "é".repeat(1024), `${"é".repeat(1024)}a`],
    ["3-byte characters", `${"€".repeat(682)}ab`, `${"€".repeat(682)}abc`],
    ["astral characters", "😀".repeat(512), `${"😀".repeat(512)}a`],
  ];

  it("accepts a key of exactly 2048 bytes and refuses 2049 bytes in put, get and delete (ASCII, 2-, 3- and 4-byte characters)", async () => {
    const { host } = await box();
    for (const [name, fits, tooLong] of cases) {
      const run = script(await host.connect("box", name));
      const one = single(await host.connect("box", name));
      await run(["put", fits, "ok"]);
      expect(await run(["get", fits], ["keys"])).toEqual(["ok", [fits]]);
      for (const op of [
        ["put", tooLong, "no"],
        ["put", { [tooLong]: "no" }],
        ["get", tooLong],
        ["get", [fits, tooLong]],
        ["delete", tooLong],
        ["delete", [fits, tooLong]],
      ] as const) {
        await expect(one(op as never), `${name}: ${op[0]}`).rejects.toEqual(limitError("KEY_SIZE"));
      }
      expect(await one(["get", fits])).toBe("ok");
    }
  });
});

describe("VALUE_SIZE: values up to 128 KiB encoded", () => {
  it("stores a value just under 128 KiB and refuses one over it, counting UTF-8 bytes", async () => {
    const { run, one } = await box();
    await run(["fill", "big", 128 * KiB - 64]);
    expect((await one(["get", "big"])).length).toBe(128 * KiB - 64);
    await expect(one(["fill", "huge", 128 * KiB + 1])).rejects.toEqual(limitError("VALUE_SIZE"));
    await expect(one(["put", "huge", { nested: ["x".repeat(128 * KiB)] }])).rejects.toEqual(limitError("VALUE_SIZE"));
    // 67,584 characters, 135,168 bytes.
    await expect(one(["put", "v", "é".repeat(66 * KiB)])).rejects.toEqual(limitError("VALUE_SIZE"));
    expect(await one(["keys"])).toEqual(["big"]);
  });

  it("applies to persisted state values too, changing nothing", async () => {
    const { one } = await box();
    await one(["note", "before"]);
    await expect(one(["note", 128 * KiB + 1])).rejects.toEqual(limitError("VALUE_SIZE"));
    expect(await one(["readNote"])).toBe("before");
  });
});

describe("BATCH_SIZE: at most 128 keys per call", () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
  const entries = (n: number) => Object.fromEntries(keys(n).map((k) => [k, 1]));

  it("accepts 128 keys in get, put and delete", async () => {
    const { run } = await box();
    const [, got, deleted] = await run(["put", entries(128)], ["get", keys(128)], ["delete", keys(128)]);
    expect([got.length, deleted]).toEqual([128, 128]);
  });

  it("refuses 129 keys in get, put and delete, changing nothing", async () => {
    const { one } = await box();
    await one(["put", entries(100)]);
    await expect(one(["put", entries(129)])).rejects.toEqual(limitError("BATCH_SIZE"));
    await expect(one(["get", keys(129)])).rejects.toEqual(limitError("BATCH_SIZE"));
    await expect(one(["delete", keys(129)])).rejects.toEqual(limitError("BATCH_SIZE"));
    expect(await one(["size"])).toBe(100);
  });
});

describe("LIST_LIMIT: at most 1,000 entries per list", () => {
  it("returns 1,000 entries and refuses a limit above 1,000", async () => {
    const { run, one } = await box();
    await run(["putMany", 1001]);
    expect(await one(["size", { limit: 1000 }])).toBe(1000);
    await expect(one(["size", { limit: 1001 }])).rejects.toEqual(limitError("LIST_LIMIT"));
  });

  it("lists up to 1,000 matches without a limit, and tells to page beyond", async () => {
    const { run, one } = await box();
    await run(["putMany", 1000]);
    expect(await one(["size"])).toBe(1000);
    await one(["put", "k9999", 1]);
    for (const options of [{}, { reverse: true }, { prefix: "k" }]) {
      await expect(one(["size", options])).rejects.toEqual(limitError("LIST_LIMIT"));
      await expect(one(["size", options])).rejects.toThrow(/page/);
    }
    expect(await one(["size", { prefix: "k00" }])).toBe(100);
  });

  it("counts the handler's deletes and writes not yet committed", async () => {
    const { run, one } = await box();
    await run(["putMany", 1001]);
    expect((await run(["delete", "k0500"], ["size"]))[1]).toBe(1000);
    const other = script(await (await hosts.start()).connect("box", "b"));
    await other(["putMany", 600]);
    await expect(other(["putMany", 401, "p"], ["size"])).rejects.toEqual(limitError("LIST_LIMIT"));
    expect(await one(["size", { prefix: "p" }])).toBe(0);
  });
});

describe("a refused call changes nothing", () => {
  it("a put batch with one oversized value or key writes none of its entries", async () => {
    const { one } = await box();
    await one(["put", "a", "before"]);
    await expect(one(["fillMany", { a: 1, b: 1, c: 129 * KiB }])).rejects.toEqual(limitError("VALUE_SIZE"));
    await expect(one(["put", { a: "after", b: 1, ["k".repeat(2049)]: 1 }])).rejects.toEqual(limitError("KEY_SIZE"));
    expect(await one(["list"])).toEqual([["a", "before"]]);
  });

  it("a handler that catches the error still commits its other writes", async () => {
    const { run, one } = await box();
    const [, refused] = await run(["put", "kept", 1], ["try", ["fillMany", { b: 1, c: 129 * KiB }]], ["put", "also-kept", 2]);
    expect(refused).toMatchObject({ error: "STORAGE_LIMIT", message: expect.stringMatching(/^VALUE_SIZE:/) });
    expect(await one(["keys"])).toEqual(["also-kept", "kept"]);
  });
});

describe("INSTANCE_SIZE", () => {
  const big = 8_000;

  it("fails the commit that would pass the limit, leaves the instance as it was, and the sender is told", async () => {
    const { client, run, one } = await box({ limits: { maxInstanceBytes: 20_000 } });
    await run(["fillMany", { one: big, two: big }], ["put", "tiny", 1]);
    await expect(run(["note", "changed"], ["fill", "three", big], ["delete", "tiny"])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    expect(await one(["keys"])).toEqual(["one", "tiny", "two"]);
    expect(await one(["readNote"])).toBe("");
    await run(["delete", "one"]);
    await run(["fill", "three", big]);
    expect(await one(["keys"])).toEqual(["three", "tiny", "two"]);
    expect(client.state).toBe("open");
  });

  it("fails only the instance over the limit when instances commit together", async () => {
    const { host, run, one } = await box({ limits: { maxInstanceBytes: 20_000 } });
    const b = script(await host.connect("box", "b"));
    await run(["fillMany", { one: big, two: big }]);
    const [over, other] = await Promise.allSettled([run(["fill", "three", big]), b(["fillMany", { one: big, two: big }])]);
    expect(over).toMatchObject({ status: "rejected", reason: limitError("INSTANCE_SIZE") });
    expect(other.status).toBe("fulfilled");
    expect(await b(["keys"])).toEqual([["one", "two"]]);
    expect(await one(["keys"])).toEqual(["one", "two"]);
  });

  it("counts persisted state", async () => {
    const { one } = await box({ limits: { maxInstanceBytes: 20_000 } });
    await one(["fill", "one", 12_000]);
    await expect(one(["note", 12_000])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    expect(await one(["readNote"])).toBe("");
  });

  it("holds a handler that also runs SQL to the limit for its storage writes", async () => {
    const { run, one } = await box({ limits: { maxInstanceBytes: 100_000 } });
    await expect(run(["sql", "CREATE TABLE IF NOT EXISTS t (x)"], ["fillMany", { one: 60_000, two: 60_000 }])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    expect(await one(["keys"])).toEqual([]);
  });

  it("counts SQL data and storage together", async () => {
    const { run, one } = await box({ limits: { maxInstanceBytes: 200_000 } });
    await run(["sql", "CREATE TABLE t (b BLOB)"]);
    await run(["fillMany", { one: 60_000, two: 60_000 }]);
    await expect(one(["sql", "INSERT INTO t VALUES (zeroblob(120000))"])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    expect(await one(["one", "SELECT count(*) AS n FROM t"])).toEqual({ n: 0 });
  });

  it("refuses SQL writes past the limit and keeps serving the instance", async () => {
    const { one } = await box({ limits: { maxInstanceBytes: 100_000 } });
    await one(["sql", "CREATE TABLE t (b BLOB)"]);
    await expect(one(["sql", "INSERT INTO t VALUES (zeroblob(200000))"])).rejects.toEqual(limitError("INSTANCE_SIZE"));
    await one(["sql", "INSERT INTO t VALUES (x'01')"]);
    expect(await one(["one", "SELECT count(*) AS n FROM t"])).toEqual({ n: 1 });
  });

  it("defaults to 1 GiB", () => {
    expect(STORAGE_LIMITS.maxInstanceBytes).toBe(1024 ** 3);
  });
});
