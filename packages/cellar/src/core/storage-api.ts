import { cellarError, StorageLimitError } from "./errors.js";
import { checkBatch, checkKey, checkValueSize, compareKeys, type StorageLimits } from "./limits.js";
import type { InstanceStore, SqlBackend, StorageRange } from "./ports.js";
import { decodeValue, encodeValue } from "./serialize.js";
import type { SqlStorage } from "./sql-api.js";
import type { WriteScope } from "./write-scope.js";
import { overlayStorage, overlayStorageRange } from "./write-set.js";

export interface ListOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** First key (inclusive). */
  start?: string;
  /** First key (exclusive); not with `start`. */
  startAfter?: string;
  /** Last key (exclusive). */
  end?: string;
  /** At most this many entries (1 to 1,000). */
  limit?: number;
  /** Descending key order; `limit` then keeps the last keys. */
  reverse?: boolean;
}

/**
 * `ctx.storage`: a Durable Objects-compatible key-value store per instance. Writes are
 * visible to later reads at once and commit with the rest of the handler's writes.
 * Keys are ordered by code point (the UTF-8 byte order).
 */
export interface Storage {
  get<T = unknown>(key: string): Promise<T | undefined>;
  get<T = unknown>(keys: readonly string[]): Promise<Map<string, T>>;
  put(key: string, value: unknown): Promise<void>;
  put(entries: Record<string, unknown>): Promise<void>;
  /** Resolves to whether the key existed. */
  delete(key: string): Promise<boolean>;
  /** Resolves to how many of the keys existed. */
  delete(keys: readonly string[]): Promise<number>;
  list<T = unknown>(options?: ListOptions): Promise<Map<string, T>>;
  /**
   * Runs `fn` all or nothing: a throw (or `txn.rollback()`) undoes its storage and SQL writes.
   *
   * @example
   * await ctx.storage.transaction(async (txn) => {
   *   const balance = (await txn.get<number>("balance")) ?? 0;
   *   if (balance < amount) throw new CellarError("INSUFFICIENT_FUNDS", "Not enough");
   *   await txn.put("balance", balance - amount);
   * });
   */
  transaction<R>(fn: (txn: StorageTransaction) => Promise<R> | R): Promise<R>;
  /** Deletes every key of this instance and its SQL tables (not state, not alarms). */
  deleteAll(): Promise<void>;
  /** The instance's own SQL database. */
  readonly sql: SqlStorage;
}

export interface StorageTransaction extends Omit<Storage, "sql" | "deleteAll"> {
  /** Undoes the transaction's writes when `fn` returns, without an error. */
  rollback(): void;
}

/** Internal: what the storage facade needs from its instance. */
export interface StorageEnv {
  store: InstanceStore;
  limits: StorageLimits;
  sql: (scope: WriteScope) => SqlStorage;
  sqlBackend: () => SqlBackend;
  /** Drops the instance's SQL tables, inside the scope's savepoint. */
  clearSql: (scope: WriteScope) => void;
}

/** Internal: builds `ctx.storage` writing into `scope`. */
export function createStorage(env: StorageEnv, scope: WriteScope): Storage {
  const read = async (keys: readonly string[]): Promise<Map<string, string>> => {
    const layers = scope.layers();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of keys) {
      const value = overlayStorage(layers, key);
      if (value === undefined) missing.push(key);
      else if (value !== null) found.set(key, value);
    }
    if (missing.length > 0) {
      const committed = await env.store.getStorage(missing);
      for (const [key, value] of committed) found.set(key, value);
    }
    return found;
  };

  const storage: Storage = {
    async get(keyOrKeys: string | readonly string[]): Promise<any> {
      if (Array.isArray(keyOrKeys)) {
        checkBatch(keyOrKeys.length, env.limits);
        const keys = keyOrKeys.map((k) => checkKey(k, env.limits));
        const found = await read(keys);
        const result = new Map<string, unknown>();
        for (const key of keys) {
          const encoded = found.get(key);
          if (encoded !== undefined) result.set(key, decodeValue(key, encoded));
        }
        return result;
      }
      const key = checkKey(keyOrKeys, env.limits);
      const encoded = (await read([key])).get(key);
      return encoded === undefined ? undefined : decodeValue(key, encoded);
    },

    async put(keyOrEntries: string | Record<string, unknown>, value?: unknown): Promise<void> {
      scope.assertOpen("storage.put");
      const entries: Array<[string, unknown]> =
        typeof keyOrEntries === "string" ? [[keyOrEntries, value]] : entriesOf(keyOrEntries);
      checkBatch(entries.length, env.limits);
      const encoded = entries.map(([key, v]): [string, string] => {
        checkKey(key, env.limits);
        if (v === undefined) throw cellarError("INVALID_ARGUMENT", `put("${key}") needs a value; use delete to remove a key`);
        const text = encodeValue(key, v);
        checkValueSize(key, text, env.limits);
        return [key, text];
      });
      // All checks pass before anything is written: a failing put changes nothing.
      for (const [key, text] of encoded) scope.writes.putStorage(key, text);
    },

    async delete(keyOrKeys: string | readonly string[]): Promise<any> {
      scope.assertOpen("storage.delete");
      const many = Array.isArray(keyOrKeys);
      const keys = many ? [...keyOrKeys] : [keyOrKeys as string];
      checkBatch(keys.length, env.limits);
      for (const key of keys) checkKey(key, env.limits);
      // Look through pending writes, then write the deletes, before the first await: the
      // delete happens even if the caller does not await it.
      const layers = scope.layers();
      let existed = 0;
      const unknown: string[] = [];
      for (const key of keys) {
        const pending = overlayStorage(layers, key);
        if (pending === undefined) unknown.push(key);
        else if (pending !== null) existed++;
      }
      for (const key of keys) scope.writes.putStorage(key, null);
      if (unknown.length > 0) existed += (await env.store.getStorage(unknown)).size;
      return many ? existed : existed > 0;
    },

    async list(options: ListOptions = {}): Promise<Map<string, any>> {
      return listEntries(env, scope, options);
    },

    async transaction<R>(fn: (txn: StorageTransaction) => Promise<R> | R): Promise<R> {
      scope.assertOpen("storage.transaction");
      const child = scope.child();
      let rolledBack = false;
      const txn = Object.assign(createStorage(env, child), { rollback: () => void (rolledBack = true) });
      try {
        const result = await scope.within(child, async () => fn(txn));
        if (rolledBack) child.discard(env.sqlBackend);
        else child.keep(env.sqlBackend);
        return result;
      } catch (error) {
        child.discard(env.sqlBackend);
        throw error;
      }
    },

    async deleteAll(): Promise<void> {
      scope.assertOpen("storage.deleteAll");
      scope.writes.deleteAllStorage();
      env.clearSql(scope);
    },

    get sql() {
      return env.sql(scope);
    },
  };
  return storage;
}

function entriesOf(entries: Record<string, unknown>): Array<[string, unknown]> {
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
    throw cellarError("INVALID_ARGUMENT", "put takes (key, value) or an object of entries");
  }
  return Object.entries(entries);
}

async function listEntries(env: StorageEnv, scope: WriteScope, options: ListOptions): Promise<Map<string, unknown>> {
  const range = normalizeRange(options, env.limits);
  const limited = options.limit !== undefined;
  const want = limited ? range.limit : env.limits.maxListEntries + 1;
  const overlay = overlayStorageRange(scope.layers(), (key) => keyInRange(key, range));
  const rows = await committedRows(env, range, overlay, want);
  if (!limited && rows.length > env.limits.maxListEntries) {
    throw new StorageLimitError(
      "LIST_LIMIT",
      `list() matched more than ${env.limits.maxListEntries} entries; pass a limit and page with startAfter`,
    );
  }
  const result = new Map<string, unknown>();
  for (const [key, value] of rows) result.set(key, decodeValue(key, value));
  return result;
}

/**
 * The encoded rows of a range as this handler sees them, in order, at most `want`. With no
 * pending write in range (the common case) they are the store's rows as they come: its
 * collation is code point order, as `compareKeys`, so there is nothing to merge or sort.
 */
async function committedRows(env: StorageEnv, range: StorageRange, overlay: ReturnType<typeof overlayStorageRange>, want: number): Promise<Array<[string, string]>> {
  let deletes = 0;
  for (const value of overlay.entries.values()) if (value === null) deletes++;
  const stored = overlay.hidesCommitted ? [] : await env.store.listStorage({ ...range, limit: want + deletes });
  if (overlay.entries.size === 0) return stored;
  const merged = new Map<string, string>(stored);
  for (const [key, value] of overlay.entries) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  const keys = [...merged.keys()].sort(range.reverse ? (a, b) => compareKeys(b, a) : compareKeys).slice(0, want);
  return keys.map((key) => [key, merged.get(key)!]);
}

/** Turns list options into one key range; exported for tests. */
export function normalizeRange(options: ListOptions, limits: StorageLimits): StorageRange {
  if (typeof options !== "object" || options === null) throw cellarError("INVALID_ARGUMENT", "list options must be an object");
  const { prefix, start, startAfter, end, limit, reverse } = options;
  for (const [name, value] of Object.entries({ prefix, start, startAfter, end })) {
    if (value !== undefined && typeof value !== "string") throw cellarError("INVALID_ARGUMENT", `list: ${name} must be a string`);
  }
  if (start !== undefined && startAfter !== undefined) {
    throw cellarError("INVALID_ARGUMENT", "list: pass start or startAfter, not both");
  }
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw cellarError("INVALID_ARGUMENT", "list: limit must be a positive integer");
    if (limit > limits.maxListEntries) {
      throw new StorageLimitError("LIST_LIMIT", `limit ${limit} is over ${limits.maxListEntries} entries per list`);
    }
  }
  let lower = start ?? startAfter;
  let lowerInclusive = startAfter === undefined;
  let upper = end;
  if (prefix !== undefined && prefix !== "") {
    if (lower === undefined || compareKeys(lower, prefix) < 0) {
      lower = prefix;
      lowerInclusive = true;
    }
    const prefixUpper = prefixEnd(prefix);
    if (prefixUpper !== undefined && (upper === undefined || compareKeys(prefixUpper, upper) < 0)) upper = prefixUpper;
  }
  return { lower, lowerInclusive, upper, reverse: reverse === true, limit: limit ?? limits.maxListEntries };
}

export function keyInRange(key: string, range: StorageRange): boolean {
  if (range.lower !== undefined) {
    const c = compareKeys(key, range.lower);
    if (c < 0 || (c === 0 && !range.lowerInclusive)) return false;
  }
  return range.upper === undefined || compareKeys(key, range.upper) < 0;
}

/** The smallest key greater than every key starting with `prefix`, if there is one. */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix, (ch) => ch.codePointAt(0)!);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return undefined;
  let last = points[points.length - 1]! + 1;
  if (last === 0xd800) last = 0xe000; // skip the surrogate range, which has no characters
  points[points.length - 1] = last;
  return String.fromCodePoint(...points);
}
