import { parse, stringify } from "devalue";
import { describe, expect, it } from "vitest";
import { PersistError } from "./errors.js";
import { decodeValue, encodeValue, isJsonObject } from "./serialize.js";

/** What devalue alone gives back: the reference every encoding must match. */
const viaDevalue = (value: unknown) => parse(stringify(value));

describe("stored values", () => {
  it("stores plain JSON objects as JSON and reads them back as devalue would", () => {
    const values: object[] = [
      {},
      { a: 1, b: "two", c: true, d: null, e: [1, 2, [3, { f: "é\u{1F377}\ud800" }]], g: { h: { i: [] } } },
      { "": 0, "1": "one", "constructor": "x", "toString": 5, big: 2 ** 53, small: 1e-300, neg: -4.5 },
      { text: 'quotes " and \\ and \n and \u2028' },
    ];
    for (const value of values) {
      const text = encodeValue("k", value);
      expect(text).toBe(JSON.stringify(value));
      const back = decodeValue("k", text);
      expect(back).toStrictEqual(viaDevalue(value));
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    }
  });

  it("leaves to devalue everything JSON would not give back exactly", () => {
    const shared = { x: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const values: unknown[] = [
      [1, 2],
      "text",
      5,
      null,
      undefined,
      { a: undefined },
      { a: [1, undefined] },
      // eslint-disable-next-line no-sparse-arrays
      { a: [1, , 3] },
      { a: NaN },
      { a: Infinity },
      { a: -0 },
      { a: 10n },
      { a: new Date(0) },
      { a: new Map([[1, 2]]) },
      { a: new Set([1]) },
      { a: /x/g },
      { a: new Uint8Array([1, 2]) },
      { a: shared, b: shared },
      cyclic,
      Object.assign(Object.create(null) as object, { a: 1 }),
      { a: Object.assign(Object.create(null) as object, { b: 1 }) },
    ];
    for (const value of values) {
      expect(isJsonObject(value)).toBe(false);
      const text = encodeValue("k", value);
      expect(text).toBe(stringify(value));
      expect(decodeValue("k", text)).toStrictEqual(viaDevalue(value));
    }
  });

  it("refuses what devalue refuses, naming the key", () => {
    class Point {
      x = 1;
    }
    for (const value of [{ f: () => 1 }, { [Symbol("s")]: 1 }, { a: Symbol("s") }, { a: new Point() }, JSON.parse('{"__proto__": {"polluted": true}}')]) {
      expect(isJsonObject(value)).toBe(false);
      expect(() => stringify(value)).toThrow();
      expect(() => encodeValue("k", value)).toThrow(PersistError);
    }
  });

  it("reads rows written by devalue alone, and calls unreadable text corrupt", () => {
    const value = { a: 1, b: [true, "x"] };
    expect(decodeValue("k", stringify(value))).toStrictEqual(value);
    expect(() => decodeValue("k", "{not json")).toThrow(/corrupt/);
    expect(() => decodeValue("k", "[not devalue")).toThrow(/corrupt/);
  });
});
