import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys, utf8Length } from "./limits.js";

/** Any string of whole code points (no lone surrogates), astral ones included. */
const fullUnicode = fc.string({ unit: "binary", maxLength: 12 });
const encoder = new TextEncoder();

function codePointOrder(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

describe("utf8Length", () => {
  it.each([
    ["", 0],
    ["abc", 3],
    ["é", 2],
    ["߿", 2],
    ["ࠀ", 3],
    ["€", 3],
    ["\uFFFF", 3],
    ["😀", 4],
    ["\u{10FFFF}", 4],
    ["a😀é€", 10],
  ])("counts %j as %i bytes", (text, bytes) => {
    expect(utf8Length(text)).toBe(bytes);
  });

  it("counts a lone surrogate as the 3 bytes of the replacement character UTF-8 encoders write", () => {
    for (const text of ["\uD800", "a\uD83D", "\uDE00b", "\uDE00\uD83D"]) expect(utf8Length(text)).toBe(encoder.encode(text).length);
  });

  it("agrees with TextEncoder on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "é", "€", "😀", "\uD800", "\uDFFF", "\u0000", "\u07FF", "\u0800") }), (text) => {
        expect(utf8Length(text)).toBe(encoder.encode(text).length);
      }),
    );
    fc.assert(fc.property(fullUnicode, (text) => utf8Length(text) === encoder.encode(text).length));
  });
});

describe("compareKeys", () => {
  it("orders by code point, where plain < on UTF-16 units disagrees", () => {
    expect(compareKeys("\uFFFD", "😀")).toBeLessThan(0);
    expect(compareKeys("😀", "\uFFFD")).toBeGreaterThan(0);
    expect(compareKeys("\uE000", "𝄞")).toBeLessThan(0);
    expect(compareKeys("𝄞", "😀")).toBeLessThan(0);
    expect("\uFFFD" < "😀").toBe(false);
  });

  it("puts a prefix before longer keys and equal keys at 0", () => {
    expect(compareKeys("ab", "abc")).toBeLessThan(0);
    expect(compareKeys("abc", "ab")).toBeGreaterThan(0);
    expect(compareKeys("😀", "😀")).toBe(0);
    expect(compareKeys("", "")).toBe(0);
    expect(compareKeys("", "a")).toBeLessThan(0);
  });

  it("agrees in sign with code point order and with UTF-8 byte order (SQLite's BINARY collation)", () => {
    fc.assert(
      fc.property(fullUnicode, fullUnicode, (a, b) => {
        const sign = Math.sign(compareKeys(a, b));
        expect(sign).toBe(Math.sign(codePointOrder(a, b)));
        expect(sign).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });

  it("sorts a list the way SQLite does", () => {
    const keys = ["😀", "z", "\uFFFD", "a", "é", "𝄞", "\uE000", "A", "😀!"];
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
    expect(byBytes).toEqual(["A", "a", "z", "é", "\uE000", "\uFFFD", "𝄞", "😀", "😀!"]);
  });
});
