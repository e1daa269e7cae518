/*
 * Internal: stored values as the inspector shows them. Stored values are devalue text (see
 * core/serialize.ts): decoded, they may hold what JSON cannot (Map, Set, Date, BigInt,
 * undefined, NaN, typed arrays, cycles), so each such value becomes a tagged object
 * (`{ $type: "Map", entries }`). Secrets are left out on the way (redact.ts), and the output
 * is bounded: a page must stay small whatever a room stores.
 */
import { decodeValue } from "../../core/serialize.js";
import { maskSecrets, secretName } from "./redact.js";

export type Shown = null | boolean | number | string | Shown[] | { [key: string]: Shown };

const MAX_DEPTH = 12;
const MAX_ITEMS = 100;
const MAX_STRING = 1000;

/** Counts what was left out, so a page can say so. */
export class Redactions {
  count = 0;
}

/** A stored (devalue) value, decoded and made safe to show; corrupt data is shown as such. */
export function showStored(text: string, redactions: Redactions): Shown {
  let value: unknown;
  try {
    value = decodeValue("", text);
  } catch {
    return { $type: "corrupt" };
  }
  return show(value, redactions);
}

/** A frame of the replay log (JSON text), made safe to show. */
export function showFrame(text: string, redactions: Redactions): Shown {
  try {
    return show(JSON.parse(text), redactions);
  } catch {
    return { $type: "corrupt" };
  }
}

/** A string from a room's data: masked, and cut when long. */
export function showString(text: string): string {
  const masked = maskSecrets(text.length > MAX_STRING ? text.slice(0, MAX_STRING) : text);
  return text.length > MAX_STRING ? `${masked}… (${text.length} characters)` : masked;
}

/** Any decoded value, made safe to show. */
export function show(value: unknown, redactions: Redactions, depth = 0, path: Set<object> = new Set()): Shown {
  switch (typeof value) {
    case "string":
      return showString(value);
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $type: "number", value: Object.is(value, -0) ? "-0" : String(value) };
    case "bigint":
      return { $type: "bigint", value: value.toString() };
    case "undefined":
      return { $type: "undefined" };
    case "object":
      if (value === null) return null;
      break;
    default:
      return { $type: typeof value };
  }
  const object = value as object;
  if (path.has(object)) return { $type: "cycle" };
  if (depth >= MAX_DEPTH) return { $type: "truncated" };
  path.add(object);
  try {
    return showObject(object, redactions, depth + 1, path);
  } finally {
    path.delete(object);
  }
}

function showObject(value: object, redactions: Redactions, depth: number, path: Set<object>): Shown {
  const inner = (v: unknown) => show(v, redactions, depth, path);
  if (value instanceof Date) return { $type: "Date", value: Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString() };
  if (value instanceof RegExp) return { $type: "RegExp", value: showString(String(value)) };
  // Binary data is shown by size only: bytes are where keys and hashes hide.
  if (ArrayBuffer.isView(value)) return { $type: value.constructor.name, bytes: value.byteLength };
  if (value instanceof ArrayBuffer) return { $type: "ArrayBuffer", bytes: value.byteLength };
  if (value instanceof Map) {
    const entries: Shown[] = [];
    for (const [key, item] of value) {
      if (entries.length === MAX_ITEMS) break;
      if (typeof key === "string" && secretName(key)) {
        redactions.count++;
        continue;
      }
      entries.push([inner(key), inner(item)]);
    }
    return { $type: "Map", size: value.size, entries };
  }
  if (value instanceof Set) {
    const values: Shown[] = [];
    for (const item of value) {
      if (values.length === MAX_ITEMS) break;
      values.push(inner(item));
    }
    return { $type: "Set", size: value.size, values };
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map(inner);
    return value.length > MAX_ITEMS ? [...items, { $type: "more", count: value.length - MAX_ITEMS }] : items;
  }
  // No prototype: a room's "__proto__" key is a key like any other here.
  const shown = Object.create(null) as { [key: string]: Shown };
  let count = 0;
  for (const [key, item] of Object.entries(value)) {
    if (secretName(key)) {
      redactions.count++;
      continue;
    }
    if (++count > MAX_ITEMS) {
      shown["…"] = { $type: "more" };
      break;
    }
    shown[uniqueKey(shown, showString(key))] = inner(item);
  }
  return shown;
}

/** A masked key may collide with another: the second gets a number. */
export function uniqueKey(taken: object, key: string): string {
  if (!Object.hasOwn(taken, key)) return key;
  let n = 2;
  while (Object.hasOwn(taken, `${key} #${n}`)) n++;
  return `${key} #${n}`;
}
