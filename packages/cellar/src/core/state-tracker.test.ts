import { describe, expect, it } from "vitest";
import { PersistError } from "./errors.js";
import { encodeValue } from "./serialize.js";
import { StateTracker } from "./state-tracker.js";

function tracker(committed: Record<string, unknown> = {}, shallow = true, throwOnError = true) {
  const reports: string[] = [];
  const t = new StateTracker<{ a: number; list: number[]; local: string }>({
    initial: () => ({ a: 0, list: [], local: "init" }),
    persistedKeys: ["a", "list"],
    persist: { shallow, throwOnError },
    committed: new Map(Object.entries(committed).map(([k, v]) => [k, encodeValue(k, v)])),
    report: (key) => void reports.push(key),
  });
  return { t, state: t.proxy, reports };
}

function flush(t: StateTracker<any>) {
  const changes = t.encodeTouched();
  t.acceptFlush(changes);
  return [...changes.keys()];
}

describe("StateTracker", () => {
  it("decodes committed values on first read and reports only changed keys", () => {
    const { t, state } = tracker({ a: 5, list: [1] });
    expect(state.a).toBe(5);
    expect(state.list).toEqual([1]);
    state.a = 5; // same value: no write
    state.local = "x"; // not persisted
    expect(flush(t)).toEqual([]);
    state.a = 6;
    expect(flush(t)).toEqual(["a"]);
  });

  it("shallow mode ignores nested mutation; deep mode catches it", () => {
    const shallow = tracker({ list: [] });
    shallow.state.list.push(1);
    expect(flush(shallow.t)).toEqual([]);
    const deep = tracker({ list: [] }, false);
    deep.state.list.push(1);
    expect(flush(deep.t)).toEqual(["list"]);
  });

  it("revertTouched puts back what a failed handler changed since the last flush", () => {
    const { t, state } = tracker({ a: 1 }, false);
    state.a = 2;
    flush(t);
    state.a = 3;
    state.list.push(9);
    t.revertTouched();
    expect(state.a).toBe(2);
    expect(state.list).toEqual([]);
  });

  it("rollback returns keys to their committed values", () => {
    const { t, state } = tracker({ a: 1 });
    state.a = 2;
    const changes = t.encodeTouched();
    t.acceptFlush(changes);
    t.rollback(changes.keys());
    expect(state.a).toBe(1);
    state.a = 3;
    const next = t.encodeTouched();
    t.acceptFlush(next);
    t.markCommitted(next);
    t.rollback(["a"]);
    expect(state.a).toBe(3);
  });

  it("an unstorable value throws a PersistError naming the key, or is reported when throwOnError is false", () => {
    const strict = tracker();
    (strict.state as any).a = () => 1;
    expect(() => strict.t.encodeTouched()).toThrow(PersistError);
    expect(strict.reports).toEqual(["a"]);
    const lenient = tracker({}, true, false);
    (lenient.state as any).a = Symbol("s");
    lenient.state.list = [1];
    expect(flush(lenient.t)).toEqual(["list"]);
    expect(lenient.reports).toEqual(["a"]);
  });

  it("corrupt committed data throws on read, and keeps throwing without re-reporting", () => {
    const reports: string[] = [];
    const broken = new StateTracker<{ a: number }>({
      initial: () => ({ a: 0 }),
      persistedKeys: ["a"],
      persist: undefined,
      committed: new Map([["a", "not devalue"]]),
      report: (key) => void reports.push(key),
    });
    expect(() => broken.proxy.a).toThrow(/corrupt/);
    expect(() => broken.proxy.a).toThrow(/corrupt/);
    expect(reports).toEqual(["a"]);
    broken.proxy.a = 1; // assigning replaces the corrupt value
    expect(broken.proxy.a).toBe(1);
  });
});
