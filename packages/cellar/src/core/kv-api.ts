import { cellarError, StorageLimitError } from "./errors.js";
import { compareKeys, isWellFormed, KV_LIMITS, utf8Length } from "./limits.js";
import type { KvStore } from "./ports.js";
import { overlayKv, type KvRecord, type WriteSet } from "./write-set.js";

export type KvValueType = "text" | "json" | "arrayBuffer";

export interface KvPutOptions {
  /** Seconds from now until the entry expires (at least 60, as on Cloudflare). */
  expirationTtl?: number;
  /** Absolute expiry, in seconds since the epoch (at least 60 s from now). */
  expiration?: number;
  /** JSON metadata (at most 1,024 bytes), returned by `list` and `getWithMetadata`. */
  metadata?: unknown;
}

export interface KvListKey<M = unknown> {
  name: string;
  /** Seconds since the epoch. */
  expiration?: number;
  metadata?: M;
}

export interface KvListResult<M = unknown> {
  keys: KvListKey<M>[];
  list_complete: boolean;
  cursor?: string;
}

/**
 * A KV namespace, shaped like Cloudflare Workers KV. Inside a handler its writes are part of
 * the output gate: they commit with the handler's other writes, before its emits leave.
 *
 * @example
 * const hosts = ctx.kv("HOSTS");
 * const sessions = (await hosts.get<Session[]>(`host:${hostId}`, "json")) ?? [];
 * await hosts.put(`host:${hostId}`, JSON.stringify([...sessions, session]));
 */
export interface KvNamespace {
  get(key: string, type?: "text" | { type: "text" }): Promise<string | null>;
  get<T = unknown>(key: string, type: "json" | { type: "json" }): Promise<T | null>;
  get(key: string, type: "arrayBuffer" | { type: "arrayBuffer" }): Promise<ArrayBuffer | null>;
  getWithMetadata<T = unknown, M = unknown>(key: string, type?: KvValueType): Promise<{ value: T | null; metadata: M | null }>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: KvPutOptions): Promise<void>;
  delete(key: string): Promise<void>;
  list<M = unknown>(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<KvListResult<M>>;
}

/** Internal: where a namespace reads pending writes from and sends its own. */
export interface KvEnv {
  store: KvStore;
  now: () => number;
  /** Uncommitted writes to look through first, innermost first (none outside handlers). */
  layers: () => readonly WriteSet[];
  write: (namespace: string, key: string, record: KvRecord | null) => void | Promise<void>;
}

const MAX_METADATA_BYTES = 1024;

/** Internal: builds one namespace over `env`. */
export function createKvNamespace(namespace: string, env: KvEnv): KvNamespace {
  if (typeof namespace !== "string" || namespace.length === 0 || namespace.length > 128) {
    throw cellarError("INVALID_ARGUMENT", "A KV namespace name is a string of 1 to 128 characters");
  }
  const live = (record: KvRecord | null | undefined): KvRecord | undefined =>
    record && (record.expiresAt === null || record.expiresAt > env.now()) ? record : undefined;

  const read = async (key: string): Promise<KvRecord | undefined> => {
    checkKvKey(key);
    const pending = overlayKv(env.layers(), namespace, key);
    if (pending !== undefined) return live(pending);
    return live(await env.store.get(namespace, key));
  };

  const kv: KvNamespace = {
    async get(key: string, type?: KvValueType | { type: KvValueType }): Promise<any> {
      const record = await read(key);
      return record ? decodeKvValue(record.value, typeName(type), key) : null;
    },
    async getWithMetadata(key, type) {
      const record = await read(key);
      if (!record) return { value: null, metadata: null };
      return {
        value: decodeKvValue(record.value, typeName(type), key) as any,
        metadata: record.metadata === null ? null : JSON.parse(record.metadata),
      };
    },
    async put(key, value, options = {}) {
      checkKvKey(key);
      const stored = toStoredValue(value);
      const bytes = typeof stored === "string" ? utf8Length(stored) : stored.byteLength;
      if (bytes > KV_LIMITS.maxValueBytes) {
        throw new StorageLimitError("KV_VALUE_SIZE", `value of ${bytes} bytes is over ${KV_LIMITS.maxValueBytes} bytes`);
      }
      await env.write(namespace, key, { value: stored, expiresAt: expiry(options, env.now()), metadata: metadataOf(options) });
    },
    async delete(key) {
      checkKvKey(key);
      await env.write(namespace, key, null);
    },
    async list(options = {}) {
      return listKv(namespace, env, options, live);
    },
  };
  return kv;
}

async function listKv(
  namespace: string,
  env: KvEnv,
  options: { prefix?: string; limit?: number; cursor?: string },
  live: (record: KvRecord | null | undefined) => KvRecord | undefined,
): Promise<KvListResult<any>> {
  const prefix = options.prefix ?? "";
  const limit = options.limit ?? KV_LIMITS.maxListKeys;
  if (!Number.isInteger(limit) || limit < 1 || limit > KV_LIMITS.maxListKeys) {
    throw cellarError("INVALID_ARGUMENT", `kv list: limit must be an integer from 1 to ${KV_LIMITS.maxListKeys}`);
  }
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const include = (key: string) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0);

  const pending = new Map<string, KvRecord | null>();
  const layers = env.layers();
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const [key, record] of layers[i]!.kv.get(namespace) ?? []) if (include(key)) pending.set(key, record);
  }
  const fetch = limit + pending.size + 1;
  const committed = await env.store.list(namespace, prefix, after, fetch);
  const merged = new Map<string, KvRecord>(committed);
  for (const [key, record] of pending) {
    const alive = live(record);
    if (alive) merged.set(key, alive);
    else merged.delete(key);
  }
  const names = [...merged.keys()].sort(compareKeys);
  const page = names.slice(0, limit);
  const complete = names.length <= limit && committed.length < fetch;
  const keys = page.map((name): KvListKey => {
    const record = merged.get(name)!;
    const entry: KvListKey = { name };
    if (record.expiresAt !== null) entry.expiration = Math.floor(record.expiresAt / 1000);
    if (record.metadata !== null) entry.metadata = JSON.parse(record.metadata);
    return entry;
  });
  return complete ? { keys, list_complete: true } : { keys, list_complete: false, cursor: encodeCursor(page[page.length - 1]!) };
}

function checkKvKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0) throw cellarError("INVALID_ARGUMENT", "KV keys must be non-empty strings");
  if (!isWellFormed(key)) throw cellarError("INVALID_ARGUMENT", "KV keys must be well-formed Unicode (no lone surrogates)");
  const bytes = utf8Length(key);
  if (bytes > KV_LIMITS.maxKeyBytes) {
    throw new StorageLimitError("KV_KEY_SIZE", `key of ${bytes} bytes is over ${KV_LIMITS.maxKeyBytes} bytes`);
  }
}

function typeName(type: KvValueType | { type: KvValueType } | undefined): KvValueType {
  const name = typeof type === "object" && type !== null ? type.type : (type ?? "text");
  if (name !== "text" && name !== "json" && name !== "arrayBuffer") {
    throw cellarError("INVALID_ARGUMENT", `KV get: type must be "text", "json" or "arrayBuffer"`);
  }
  return name;
}

function toStoredValue(value: unknown): string | Uint8Array {
  if (typeof value === "string") return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw cellarError("INVALID_ARGUMENT", "KV put takes a string, ArrayBuffer or typed array (use JSON.stringify for objects)");
}

function decodeKvValue(value: string | Uint8Array, type: KvValueType, key: string): unknown {
  const text = () => (typeof value === "string" ? value : new TextDecoder().decode(value));
  if (type === "text") return text();
  if (type === "arrayBuffer") {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  try {
    return JSON.parse(text());
  } catch {
    throw cellarError("INVALID_ARGUMENT", `KV value of "${key}" is not JSON`);
  }
}

function expiry(options: KvPutOptions, now: number): number | null {
  const min = KV_LIMITS.minExpirationTtlSeconds;
  if (options.expirationTtl !== undefined) {
    if (typeof options.expirationTtl !== "number" || !(options.expirationTtl >= min)) {
      throw cellarError("INVALID_ARGUMENT", `KV put: expirationTtl must be a number of seconds >= ${min}`);
    }
    return now + options.expirationTtl * 1000;
  }
  if (options.expiration !== undefined) {
    if (typeof options.expiration !== "number" || !(options.expiration * 1000 >= now + min * 1000)) {
      throw cellarError("INVALID_ARGUMENT", `KV put: expiration must be epoch seconds at least ${min} s from now`);
    }
    return options.expiration * 1000;
  }
  return null;
}

function metadataOf(options: KvPutOptions): string | null {
  if (options.metadata === undefined) return null;
  let text: string;
  try {
    text = JSON.stringify(options.metadata);
  } catch {
    throw cellarError("INVALID_ARGUMENT", "KV put: metadata must be JSON-serializable");
  }
  if (utf8Length(text) > MAX_METADATA_BYTES) {
    throw cellarError("INVALID_ARGUMENT", `KV put: metadata is over ${MAX_METADATA_BYTES} bytes`);
  }
  return text;
}

function encodeCursor(key: string): string {
  return encodeURIComponent(key);
}

function decodeCursor(cursor: string): string {
  try {
    return decodeURIComponent(cursor);
  } catch {
    throw cellarError("INVALID_ARGUMENT", "KV list: cursor is not one this namespace returned");
  }
}
