import { describe, expect, it } from "vitest";
import { CellarError } from "cellar";
import { record } from "../helpers/client-events.js";
import { useHost } from "./harness.js";
import { describeValue, everyKind } from "./rooms.js";

const hosts = useHost();

describe("persisted state", () => {
  it("round-trips every kind of value exactly across a restart; deep mode saves nested mutation; shallow mode only assignment; scratch keys reset", async () => {
    const host = await hosts.start();
    const vault = await host.connect("vault", "v");
    await vault.request("store");
    expect(await vault.request("check")).toEqual({ value: describeValue(everyKind()), scratch: 42 });
    const deep = await host.connect("deep", "d");
    await deep.request("mutate");
    const shallow = await host.connect("shallow", "s");
    await shallow.request("push");
    await shallow.request("assign");

    await host.restart();

    // The value a fresh everyKind() describes: Dates, Maps, Sets, RegExps, BigInts,
    // undefined, NaN, -0, ±Infinity, typed arrays, holes, shared references and a cycle.
    expect(await (await host.connect("vault", "v")).request("check")).toEqual({ value: describeValue(everyKind()), scratch: 0 });
    expect(await (await host.connect("deep", "d")).request("read")).toEqual({ rev: 1, tags: ["red"], list: [3, 2], a: 2, seen: ["y"] });
    // The push was in memory only; the assignment (which copied it) was saved.
    expect(await (await host.connect("shallow", "s")).request("read")).toEqual([1, 2]);
  });

  it("refuses a value that cannot be stored with a PersistError naming the key; the handler's writes and emits are undone", async () => {
    const host = await hosts.start();
    const c = await host.connect("unstorable", "u");
    const leaks = record(c, "leak");
    expect(await c.request("good")).toBe(1);
    const failure = (await c.request("evil").catch((e: unknown) => e)) as CellarError;
    expect(failure).toBeInstanceOf(CellarError);
    expect(failure.code).toBe("PERSIST_ERROR");
    expect(failure.message).toContain('"fn"');
    expect(await c.request("read")).toBe(1);
    expect(leaks).toEqual([]);
  });
});
