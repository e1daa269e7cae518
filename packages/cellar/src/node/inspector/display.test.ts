import { describe, expect, it } from "vitest";
import { encodeValue } from "../../core/serialize.js";
import { Redactions, showFrame, showStored } from "./display.js";

const shown = (value: unknown) => {
  const redactions = new Redactions();
  return { value: showStored(encodeValue("k", value), redactions), redacted: redactions.count };
};

describe("stored values as the inspector shows them", () => {
  it("tags what JSON cannot carry", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    expect(shown({ n: NaN, z: -0, i: -Infinity, u: undefined, b: 2n ** 70n, d: new Date(0), r: /a+/g, bytes: new Uint8Array(3), cyclic }).value).toEqual({
      n: { $type: "number", value: "NaN" },
      z: { $type: "number", value: "-0" },
      i: { $type: "number", value: "-Infinity" },
      u: { $type: "undefined" },
      b: { $type: "bigint", value: "1180591620717411303424" },
      d: { $type: "Date", value: "1970-01-01T00:00:00.000Z" },
      r: { $type: "RegExp", value: "/a+/g" },
      bytes: { $type: "Uint8Array", bytes: 3 },
      cyclic: { name: "loop", self: { $type: "cycle" } },
    });
    expect(shown(new Set([1, "two"])).value).toEqual({ $type: "Set", size: 2, values: [1, "two"] });
  });

  it("leaves out fields and Map keys named like secrets, and counts them", () => {
    expect(shown({ name: "Ana", hostKeyHash: "x", nested: { apiToken: "y", ok: 1 }, map: new Map([["secret", 1], ["open", 2]]) })).toEqual({
      value: { name: "Ana", nested: { ok: 1 }, map: { $type: "Map", size: 2, entries: [["open", 2]] } },
      redacted: 3,
    });
  });

  it("stays bounded and safe: long strings and collections are cut, __proto__ is a plain key", () => {
    const { value } = shown({ long: "x".repeat(5000), list: Array.from({ length: 500 }, (_, i) => i) }) as { value: any };
    expect(value.long).toBe(`${"x".repeat(1000)}… (5000 characters)`);
    expect(value.list).toHaveLength(101);
    expect(value.list[100]).toEqual({ $type: "more", count: 400 });
    // A frame of the replay log is JSON, where "__proto__" is an ordinary key.
    const frame = showFrame(`{"t":"event","data":{"__proto__":{"polluted":true}}}`, new Redactions()) as any;
    expect(Object.getPrototypeOf(frame.data)).toBeNull();
    expect(Object.keys(frame.data)).toEqual(["__proto__"]);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(showStored("not devalue", new Redactions())).toEqual({ $type: "corrupt" });
  });
});
