import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StorageLimitError } from "./errors.js";
import { compareKeys, STORAGE_LIMITS } from "./limits.js";
import type { StorageRange } from "./ports.js";
import { keyInRange, normalizeRange, prefixEnd, type ListOptions } from "./storage-api.js";

const limits = { ...STORAGE_LIMITS };
const range = (options: ListOptions) => normalizeRange(options, limits);
const fullUnicode = (maxLength = 6) => fc.string({ unit: "binary", maxLength });

describe("normalizeRange", () => {
  it("defaults to the whole key space, ascending, 1,000 entries", () => {
    expect(range({})).toEqual({ lower: undefined, lowerInclusive: true, upper: undefined, reverse: false, limit: 1000 });
  });

  it("maps start to an inclusive bound, startAfter to an exclusive one, end to the upper bound", () => {
    expect(range({ start: "b", end: "d", reverse: true, limit: 5 })).toEqual({ lower: "b", lowerInclusive: true, upper: "d", reverse: true, limit: 5 });
    expect(range({ startAfter: "b" })).toMatchObject({ lower: "b", lowerInclusive: false });
  });

  it("narrows a prefix with start, startAfter and end, keeping the tighter bound", () => {
    expect(range({ prefix: "user:" })).toMatchObject({ lower: "user:", lowerInclusive: true, upper: "user;" });
    expect(range({ prefix: "user:", start: "a" })).toMatchObject({ lower: "user:", lowerInclusive: true });
    expect(range({ prefix: "user:", startAfter: "a" })).toMatchObject({ lower: "user:", lowerInclusive: true });
    expect(range({ prefix: "user:", start: "user:5" })).toMatchObject({ lower: "user:5", lowerInclusive: true });
    expect(range({ prefix: "user:", startAfter: "user:" })).toMatchObject({ lower: "user:", lowerInclusive: false });
    expect(range({ prefix: "user:", end: "user:5" })).toMatchObject({ upper: "user:5" });
    expect(range({ prefix: "user:", end: "zzz" })).toMatchObject({ upper: "user;" });
    expect(range({ prefix: "" })).toMatchObject({ lower: undefined, upper: undefined });
  });

  it("refuses start with startAfter, bad limits and bounds that are not strings", () => {
    expect(() => range({ start: "a", startAfter: "b" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    for (const limit of [0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => range({ limit })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
    for (const name of ["prefix", "start", "startAfter", "end"]) {
      expect(() => range({ [name]: 1 } as ListOptions)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
    expect(() => normalizeRange(null as unknown as ListOptions, limits)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("refuses a limit over the list limit with LIST_LIMIT, and accepts the limit itself", () => {
    expect(range({ limit: 1000 }).limit).toBe(1000);
    let error: unknown;
    try {
      range({ limit: 1001 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StorageLimitError);
    expect(error).toMatchObject({ code: "STORAGE_LIMIT", limit: "LIST_LIMIT" });
    const lower = { ...limits, maxListEntries: 10 };
    expect(() => normalizeRange({ limit: 11 }, lower)).toThrow(StorageLimitError);
    expect(normalizeRange({}, lower).limit).toBe(10);
  });
});

describe("prefixEnd", () => {
  it.each([
    ["abc", "abd"],
    ["a", "b"],
    ["é", "ê"],
    ["a😀", "a😁"],
    ["\uD7FF", "\uE000"],
    ["\uFFFF", "\u{10000}"],
    ["a\u{10FFFF}", "b"],
    ["a\u{10FFFF}\u{10FFFF}", "b"],
  ])("the end of prefix %j is %j", (prefix, end) => {
    expect(prefixEnd(prefix)).toBe(end);
  });

  it("has no end for a prefix of only U+10FFFF, or an empty one", () => {
    expect(prefixEnd("\u{10FFFF}")).toBeUndefined();
    expect(prefixEnd("\u{10FFFF}\u{10FFFF}")).toBeUndefined();
    expect(prefixEnd("")).toBeUndefined();
  });

  it("every key from the prefix up to its end starts with the prefix, and every key with the prefix is below the end", () => {
    const near = fc.tuple(fullUnicode(4), fc.nat(), fullUnicode(2), fullUnicode(3)).map(([prefix, cut, middle, tail]) => {
      // Keys close to the prefix: a piece of it, then anything.
      const kept = prefix.length === 0 ? "" : Array.from(prefix).slice(0, cut % (Array.from(prefix).length + 1)).join("");
      return { prefix, key: kept + middle + tail };
    });
    fc.assert(
      fc.property(near, ({ prefix, key }) => {
        const end = prefixEnd(prefix);
        const inside = compareKeys(key, prefix) >= 0 && (end === undefined || compareKeys(key, end) < 0);
        expect(inside).toBe(key.startsWith(prefix));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("keyInRange", () => {
  const r = (lower: string | undefined, lowerInclusive: boolean, upper: string | undefined): StorageRange => ({
    lower,
    lowerInclusive,
    upper,
    reverse: false,
    limit: 1000,
  });

  it("includes or excludes the lower bound, and always excludes the upper bound", () => {
    expect(keyInRange("b", r("b", true, "d"))).toBe(true);
    expect(keyInRange("b", r("b", false, "d"))).toBe(false);
    expect(keyInRange("bb", r("b", false, "d"))).toBe(true);
    expect(keyInRange("c", r("b", true, "d"))).toBe(true);
    expect(keyInRange("d", r("b", true, "d"))).toBe(false);
    expect(keyInRange("a", r("b", true, "d"))).toBe(false);
    expect(keyInRange("anything", r(undefined, true, undefined))).toBe(true);
  });

  it("compares by code point", () => {
    expect(keyInRange("😀", r("\uFFFD", false, undefined))).toBe(true);
    expect(keyInRange("\uFFFD", r(undefined, true, "😀"))).toBe(true);
    expect(keyInRange("😀", r(undefined, true, "\uFFFD"))).toBe(false);
  });

  it("agrees with list options: a key is in a prefix range exactly when it starts with the prefix", () => {
    fc.assert(
      fc.property(fullUnicode(3), fullUnicode(5), (prefix, suffix) => {
        expect(keyInRange(prefix + suffix, range({ prefix }))).toBe(true);
      }),
    );
    expect(keyInRange("user;", range({ prefix: "user:" }))).toBe(false);
    expect(keyInRange("user", range({ prefix: "user:" }))).toBe(false);
  });
});
