import { parse, stringify } from "devalue";
import { PersistError } from "./errors.js";

/*
 * The stored format of every persisted value: devalue's JSON-based encoding. It keeps Date,
 * Map, Set, RegExp, BigInt, undefined, NaN, -0, Infinity, typed arrays, shared references
 * and cycles, and it is plain text, so the same rows read back identically on the Node host
 * and on Cloudflare.
 */

/** Encodes `value` for storage under `key`, or throws a `PersistError` naming the key. */
export function encodeValue(key: string, value: unknown): string {
  try {
    return stringify(value);
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
    return parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PersistError(key, `Stored data for "${key}" is corrupt: ${reason}`, { cause: error });
  }
}
