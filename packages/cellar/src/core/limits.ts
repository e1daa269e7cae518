import { cellarError, StorageLimitError } from "./errors.js";

/** Storage limits, the same on every host (they match Durable Objects' key-value API). */
export const STORAGE_LIMITS = {
  /** Largest storage key, in UTF-8 bytes. */
  maxKeyBytes: 2 * 1024,
  /** Largest stored value (its serialized form), in UTF-8 bytes. */
  maxValueBytes: 128 * 1024,
  /** Most keys in one `get`, `put` or `delete` call. */
  maxBatchKeys: 128,
  /** Most entries one `list` call returns. */
  maxListEntries: 1000,
  /** Most bytes one instance stores: keys and values of storage and state, plus its SQL file. */
  maxInstanceBytes: 1024 * 1024 * 1024,
} as const;

/** KV namespace limits (Cloudflare KV's). */
export const KV_LIMITS = {
  maxKeyBytes: 512,
  maxValueBytes: 25 * 1024 * 1024,
  maxListKeys: 1000,
  minExpirationTtlSeconds: 60,
} as const;

export type StorageLimits = { -readonly [K in keyof typeof STORAGE_LIMITS]: number };

/** Length of `text` in UTF-8 bytes, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Orders keys by Unicode code point, which is the order of their UTF-8 bytes and so the
 * order SQLite's BINARY collation gives. Plain `<` on JS strings compares UTF-16 units and
 * would disagree for characters outside the Basic Multilingual Plane.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    // A surrogate (code point above U+FFFF) sorts after every other BMP unit in code point order.
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** False for strings holding a lone surrogate, which UTF-8 (and so SQLite) cannot represent. */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

export function checkKey(key: unknown, limits: StorageLimits): string {
  if (typeof key !== "string") throw cellarError("INVALID_ARGUMENT", `Storage keys must be strings, got ${typeof key}`);
  if (!isWellFormed(key)) throw cellarError("INVALID_ARGUMENT", "Storage keys must be well-formed Unicode (no lone surrogates)");
  const bytes = utf8Length(key);
  if (bytes > limits.maxKeyBytes) {
    throw new StorageLimitError("KEY_SIZE", `key of ${bytes} bytes exceeds ${limits.maxKeyBytes} bytes`);
  }
  return key;
}

export function checkValueSize(key: string, encoded: string, limits: StorageLimits): void {
  const bytes = utf8Length(encoded);
  if (bytes > limits.maxValueBytes) {
    throw new StorageLimitError("VALUE_SIZE", `value for "${key}" is ${bytes} bytes, over ${limits.maxValueBytes} bytes`);
  }
}

export function checkBatch(count: number, limits: StorageLimits): void {
  if (count > limits.maxBatchKeys) {
    throw new StorageLimitError("BATCH_SIZE", `${count} keys in one call, over ${limits.maxBatchKeys}`);
  }
}
