import { parse, stringify } from "devalue";
import { PersistError } from "./errors.js";

/*
 * The stored format of every persisted value: devalue's JSON-based encoding. It keeps Date,
 * Map, Set, RegExp, BigInt, undefined, NaN, -0, Infinity, typed arrays, shared references
 * and cycles, and it is plain text, so the same rows read back identically on the Node host
 * and on Cloudflare.
 *
 * An object that JSON carries exactly (see `isJsonObject`) is stored as its JSON text
 * instead, which encodes ~4× and decodes ~2× faster than devalue (most stored values are
 * such objects: a room's state, records, settings). The two cannot be confused: devalue's
 * text always starts with `[` or `-`, an object's JSON with `{`. Rows written before keep
 * decoding through devalue; a row written in this form needs a Cellar that reads it.
 */

/** Encodes `value` for storage under `key`, or throws a `PersistError` naming the key. */
export function encodeValue(key: string, value: unknown): string {
  try {
    return isJsonObject(value) ? JSON.stringify(value) : stringify(value);
  } catch (error) {
    const path = (error as { path?: string }).path;
    const reason = error instanceof Error ? error.message : String(error);
    const where = path ? ` (at ${key}${path})` : "";
    throw new PersistError(key, `Cannot persist "${key}": ${reason}${where}`, { cause: error });
  }
}

/** Decodes a stored value, or throws a `PersistError` saying the data under `key` is corrupt. */
export function decodeValue(key: string, text: string): unknown {
  try {
    return text.charCodeAt(0) === OPEN_BRACE ? JSON.parse(text) : parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PersistError(key, `Stored data for "${key}" is corrupt: ${reason}`, { cause: error });
  }
}

const OPEN_BRACE = 0x7b;

/**
 * Whether `value` is a plain object that `JSON.parse(JSON.stringify(value))` gives back as
 * devalue would: made of plain objects, dense arrays, strings, booleans, null and finite
 * numbers other than -0, each object reached once (devalue keeps shared references and
 * cycles, JSON does not), no `undefined` (JSON drops it), no `__proto__` key, no symbol
 * keys, nothing else (Dates, Maps, class instances, functions: devalue's business, or its
 * error). Anything in doubt answers false and goes to devalue.
 */
export function isJsonObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return jsonCarries(value, new Set());
}

function jsonCarries(value: unknown, seen: Set<object>): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      // A hole reads as undefined too: both go to devalue.
      if (!jsonCarries(value[i], seen)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key in value) {
    // `for…in` also walks inherited enumerable keys: one there means a polluted prototype.
    if (key === "__proto__" || !Object.hasOwn(value, key)) return false;
    if (!jsonCarries((value as Record<string, unknown>)[key], seen)) return false;
  }
  return true;
}
